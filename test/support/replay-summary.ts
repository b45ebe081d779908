import { USD } from '../../shared/domain/money.js';
import { winRate } from '../../shared/domain/performance.js';
import { PORTFOLIO_SCOPE } from '../../shared/domain/vocabulary.js';
import type { AgentSeries, AgentStats, ReplaySummary, ReplayTrade } from '../../shared/replay/summary.js';

/**
 * A small, self-consistent ReplaySummary for tests of whatever reads summary.json: hourly samples
 * over one day, a few round trips per agent at times between samples, one portfolio halt and its
 * resume with the alert behind them, and one agent reducing. Deterministic: the same shape gives the same summary.
 */
export interface SummaryShape {
  readonly agents?: string[];
  readonly symbols?: string[];
  readonly samples?: number;
  /** Reason of the portfolio halt; tests of escaping put hostile text here. */
  readonly haltReason?: string;
}

const T0 = Date.UTC(2023, 2, 10); // 2023-03-10T00:00:00.000Z
const SAMPLE_MINUTES = 60;
const SAMPLE_MS = SAMPLE_MINUTES * 60_000;
const ALLOCATION_MICROS = 1_000 * USD;
const START_PRICE_USD: Record<string, number> = { BTCUSDT: 20_000, ETHUSDT: 1_500 };

export function replaySummary(shape: SummaryShape = {}): ReplaySummary {
  const agents = shape.agents ?? ['deepseek-v3', 'lagllama-degen'];
  const symbols = shape.symbols ?? ['BTCUSDT', 'ETHUSDT'];
  const samples = shape.samples ?? 24;
  const time = Array.from({ length: samples }, (_, i) => T0 + i * SAMPLE_MS);
  const prices = Object.fromEntries(symbols.map((symbol, k) => [symbol, time.map((_, i) => wave(START_PRICE_USD[symbol] ?? 100, i, k))]));

  const agentSeries: Record<string, AgentSeries> = {};
  const trades: ReplayTrade[] = [];
  agents.forEach((agentId, k) => {
    const equityMicros = time.map((_, i) => ALLOCATION_MICROS + Math.round(40 * USD * Math.sin(i / 4 + k) - 3 * USD * i * (k % 2)));
    const inPosition = time.map((_, i) => i % 6 < 3);
    agentSeries[agentId] = {
      equityMicros,
      marginInUseMicros: inPosition.map((open) => (open ? (200 + 50 * k) * USD : 0)),
      utilizationFraction: inPosition.map((open, i) => (open ? 0.2 + 0.05 * k : i % 6 === 3 ? 0.1 : 0)),
    };
    // A round trip every six samples: open at i, close at i + 2, each 17 s after its sample.
    const symbol = symbols[k % symbols.length] as string;
    for (let i = 0; i + 2 < samples; i += 6) {
      const opening = k % 2 === 0 ? 'BUY' : 'SELL';
      trades.push(trade(agentId, symbol, opening, time[i] as number, prices[symbol]?.[i] as number, 0));
      trades.push(
        trade(
          agentId,
          symbol,
          opening === 'BUY' ? 'SELL' : 'BUY',
          time[i + 2] as number,
          prices[symbol]?.[i + 2] as number,
          (i % 12 === 0 ? 5 : -3) * USD,
        ),
      );
    }
  });
  trades.sort((a, b) => a.time - b.time);

  const portfolioEquityMicros = time.map((_, i) => agents.reduce((sum, a) => sum + (agentSeries[a]?.equityMicros[i] as number), 0));
  const portfolioDrawdownFraction = drawdowns(portfolioEquityMicros);
  const allocationMicros = agents.length * ALLOCATION_MICROS;
  const baselineSymbol = symbols[0] as string;
  const baselinePrices = prices[baselineSymbol] as number[];
  const startPriceMicros = baselinePrices[0] as number;
  const endPriceMicros = baselinePrices.at(-1) as number;
  const baselineEquityMicros = baselinePrices.map((price) => Math.round((allocationMicros * price) / startPriceMicros));
  const startEquityMicros = portfolioEquityMicros[0] as number;
  const endEquityMicros = portfolioEquityMicros.at(-1) as number;
  const agentStats = Object.fromEntries(
    agents.map((agentId) => [
      agentId,
      stats(
        agentSeries[agentId] as AgentSeries,
        trades.filter((t) => t.agentId === agentId),
      ),
    ]),
  );
  const sum = (pick: (s: AgentStats) => number) => Object.values(agentStats).reduce((total, s) => total + pick(s), 0);

  const haltAt = T0 + 5 * SAMPLE_MS + 30_000;
  const resumeAt = T0 + 8 * SAMPLE_MS + 45_000;
  const reduceAt = T0 + (samples - 4) * SAMPLE_MS + 5_000;
  return {
    version: 1,
    window: {
      from: new Date(T0).toISOString(),
      to: new Date(T0 + samples * SAMPLE_MS).toISOString(),
      minutes: samples * SAMPLE_MINUTES,
      sampleMinutes: SAMPLE_MINUTES,
    },
    market: { symbols, files: symbols.map((s) => `${s}-1m-2023-03.zip`) },
    agents,
    portfolio: {
      allocationMicros,
      startEquityMicros,
      endEquityMicros,
      returnFraction: (endEquityMicros - startEquityMicros) / startEquityMicros,
      maxDrawdownFraction: Math.max(0, ...portfolioDrawdownFraction),
      sharpe: 1.25,
      sortino: null,
      trades: trades.length,
      halts: 1,
      resumes: 1,
      haltedHolding: [],
      feesMicros: sum((s) => s.feesMicros),
      realizedPnlMicros: sum((s) => s.realizedPnlMicros),
      unrealizedPnlMicros: sum((s) => s.unrealizedPnlMicros),
    },
    baseline: {
      symbol: baselineSymbol,
      startPriceMicros,
      endPriceMicros,
      returnFraction: (endPriceMicros - startPriceMicros) / startPriceMicros,
    },
    series: { time, portfolioEquityMicros, portfolioDrawdownFraction, baselineEquityMicros, prices, agents: agentSeries },
    stateChanges: [
      {
        time: haltAt,
        scope: PORTFOLIO_SCOPE,
        state: 'halted',
        reason: shape.haltReason ?? 'portfolio drawdown 26.0% above 25.0%',
        changedBy: 'risk-monitor',
      },
      { time: resumeAt, scope: PORTFOLIO_SCOPE, state: 'active', reason: 'operator resumed after review', changedBy: 'operator' },
      { time: reduceAt, scope: agents[0] as string, state: 'reducing', reason: 'daily loss above 10.0%', changedBy: 'risk-monitor' },
    ],
    trades,
    agentStats,
    alerts: [
      {
        time: haltAt,
        key: 'portfolio_drawdown:portfolio',
        scope: PORTFOLIO_SCOPE,
        severity: 'critical',
        transition: 'open',
        summary: 'portfolio drawdown 26.0% above 25.0%',
      },
      {
        time: resumeAt,
        key: 'portfolio_drawdown:portfolio',
        scope: PORTFOLIO_SCOPE,
        severity: 'critical',
        transition: 'resolve',
        summary: 'portfolio drawdown back to 20.0%',
      },
    ],
  };
}

/** A price in micro-USD that swings a few percent around its start, differently per symbol. */
function wave(startUsd: number, i: number, k: number): number {
  return Math.round(startUsd * USD * (1 + 0.03 * Math.sin(i / 3 + k) + 0.002 * i));
}

function trade(
  agentId: string,
  symbol: string,
  side: 'BUY' | 'SELL',
  sampleTime: number,
  priceMicros: number,
  realizedPnlMicros: number,
): ReplayTrade {
  const time = sampleTime + 17_000;
  return {
    time,
    agentId,
    symbol,
    side,
    quantity: '0.01',
    priceMicros,
    feeMicros: 200_000,
    realizedPnlMicros,
    closing: realizedPnlMicros !== 0,
    orderId: `${agentId}-${time}`,
  };
}

/** Drawdown from the running peak at each point of an equity curve (a fixture's, not the risk rules'). */
function drawdowns(equityMicros: readonly number[]): number[] {
  let peak = 0;
  return equityMicros.map((equity) => {
    peak = Math.max(peak, equity);
    return peak > 0 ? (peak - equity) / peak : 0;
  });
}

function stats(series: AgentSeries, trades: ReplayTrade[]): AgentStats {
  const closing = trades.filter((t) => t.closing);
  return {
    decisions: series.equityMicros.length,
    signals: trades.length,
    trades: trades.length,
    closingTrades: closing.length,
    winRate: winRate(closing.map((t) => t.realizedPnlMicros - t.feeMicros)),
    realizedPnlMicros: closing.reduce((sum, t) => sum + t.realizedPnlMicros, 0),
    unrealizedPnlMicros: -1_234_567,
    feesMicros: trades.reduce((sum, t) => sum + t.feeMicros, 0),
    maxDrawdownFraction: Math.max(0, ...drawdowns(series.equityMicros)),
    sharpe: 0.8,
    sortino: 1.1,
    exposureFraction: 0.5,
    rejections: { insufficient_margin: 2, agent_halted: 1 },
  };
}
