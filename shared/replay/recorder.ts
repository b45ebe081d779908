import type { AgentProfile } from '../domain/agents.js';
import type { MarginLedgerState } from '../domain/ledger.js';
import { AlertMessage, RiskEvent } from '../domain/messages.js';
import { dailyReturns, sharpeRatio, sortinoRatio, winRate } from '../domain/performance.js';
import { FLAT_POSITION, FillFacts, PositionState, applyFill, unrealizedPnlMicros } from '../domain/positions.js';
import { atomsToQuantity } from '../domain/quantity.js';
import type { ScopeSnapshot } from '../domain/risk.js';
import { PORTFOLIO_SCOPE } from '../domain/vocabulary.js';
import { COLLECTIONS } from '../firestore/collections.js';
import type { BusMessage } from './bus.js';
import type { ObservedWrite } from './memory-firestore.js';
import type { AgentSeries, AgentStats, ReplayAlert, ReplaySummary, ReplayTrade, StateChange } from './summary.js';

/**
 * What a replay reports, gathered as it runs from what the product writes (each commit's
 * documents) and publishes (risk events, alerts): nothing here decides anything, it only
 * watches. Per-minute figures are folded as they come (peaks, day ends, exposure), decisions
 * and trades are handed on as rows, and series keep one point per sample: memory stays flat
 * however long the window.
 */

/** One agent decision, as decisions.csv lists it. */
export interface DecisionRow {
  readonly decidedFor: string;
  readonly agentId: string;
  readonly model: string;
  readonly action: string;
  readonly signalId: string;
  readonly source: string;
  readonly freeMarginMicros: number;
  readonly reason: string;
}

export interface RecorderSinks {
  readonly decision: (row: DecisionRow) => void;
  readonly trade: (trade: ReplayTrade) => void;
}

interface ScopeFigures {
  latest?: ScopeSnapshot;
  maxDrawdownFraction: number;
  /** Equity at the end of each finished UTC day, and the day being watched. */
  readonly dayEnds: number[];
  day?: string;
}

interface AgentFigures {
  decisions: number;
  signals: number;
  trades: number;
  feesMicros: number;
  realizedPnlMicros: number;
  readonly closingNet: number[];
  readonly rejections: Record<string, number>;
  evaluatedMinutes: number;
  exposedMinutes: number;
  readonly series: AgentSeries;
}

export interface RecorderOptions {
  readonly from: number;
  readonly to: number;
  readonly sampleMinutes: number;
  readonly agents: readonly AgentProfile[];
  readonly symbols: readonly string[];
  readonly files: readonly string[];
  /** The price of a symbol at a market instant. */
  readonly priceOf: (symbol: string, time: number) => number;
}

const dayOf = (iso: string) => iso.slice(0, 10);

export class ReplayRecorder {
  private readonly agents = new Map<string, AgentFigures>();
  private readonly scopes = new Map<string, ScopeFigures>();
  /** Open positions by `agentId symbol`, as last written. */
  private readonly positions = new Map<string, { agentId: string; symbol: string; position: PositionState }>();
  private readonly trades: ReplayTrade[] = [];
  private readonly stateChanges: StateChange[] = [];
  private readonly alerts: ReplayAlert[] = [];
  private readonly time: number[] = [];
  private readonly portfolioEquity: number[] = [];
  private readonly portfolioDrawdown: number[] = [];
  private readonly baselineEquity: number[] = [];
  private readonly prices = new Map<string, number[]>();
  private readonly allocationMicros: number;
  private readonly baselineSymbol: string;
  private baselineStartMicros: number | undefined;
  /** The last minute replayed: where the summary values what is still held. */
  private lastTime: number;

  constructor(
    private readonly options: RecorderOptions,
    private readonly sinks: RecorderSinks,
  ) {
    for (const agent of options.agents) {
      this.agents.set(agent.agentId, {
        decisions: 0,
        signals: 0,
        trades: 0,
        feesMicros: 0,
        realizedPnlMicros: 0,
        closingNet: [],
        rejections: {},
        evaluatedMinutes: 0,
        exposedMinutes: 0,
        series: { equityMicros: [], marginInUseMicros: [], utilizationFraction: [] },
      });
    }
    for (const symbol of options.symbols) this.prices.set(symbol, []);
    this.allocationMicros = options.agents.reduce((sum, a) => sum + a.marginAllocationMicros, 0);
    this.baselineSymbol = options.symbols[0] as string;
    this.lastTime = options.from;
  }

  /** Every commit of the replay's store. */
  observeCommit = (writes: readonly ObservedWrite[]): void => {
    const fills: FillFacts[] = [];
    for (const write of writes) {
      if (write.data === undefined) continue;
      switch (write.collection) {
        case COLLECTIONS.agentDecisions:
          this.decision(write.data);
          break;
        case COLLECTIONS.fills:
          fills.push(FillFacts.parse(write.data));
          break;
        case COLLECTIONS.riskSnapshots:
          this.snapshots(String(write.data.evaluatedAt), write.data.snapshots as ScopeSnapshot[]);
          break;
        case COLLECTIONS.tradingStateChanges:
          this.stateChange(write.data);
          break;
      }
    }
    // Fills are folded into their positions here too, to tell what each one realized.
    for (const fill of fills) this.trade(fill, writes);
    for (const write of writes) {
      if (write.collection === COLLECTIONS.positions && write.data) {
        const { agentId, symbol } = write.data as { agentId: string; symbol: string };
        this.positions.set(`${agentId} ${symbol}`, { agentId, symbol, position: PositionState.parse(write.data) });
      }
    }
  };

  /** Messages on the topics the report reads: risk events (rejections) and alerts. */
  observeMessage = async (message: BusMessage): Promise<void> => {
    const risk = RiskEvent.safeParse(message.data);
    if (risk.success) {
      const figures = this.agents.get(risk.data.agentId);
      if (figures) figures.rejections[risk.data.reason] = (figures.rejections[risk.data.reason] ?? 0) + 1;
      return;
    }
    const alert = AlertMessage.safeParse(message.data);
    if (alert.success) {
      const a = alert.data;
      this.alerts.push({ time: Date.parse(a.resolvedAt ?? a.openedAt), key: a.key, scope: a.scope, severity: a.severity, transition: a.transition, summary: a.message });
    }
  };

  /**
   * After each replayed minute: a point of every series when the minute is a sample. Margins
   * come from `ledgers` (the ledger repository's read, which owns them), asked only then.
   */
  async endOfMinute(time: number, ledgers: () => Promise<ReadonlyMap<string, MarginLedgerState>>): Promise<void> {
    this.lastTime = time;
    if ((time - this.options.from) % (this.options.sampleMinutes * 60_000) !== 0) return;
    const margins = await ledgers();
    this.time.push(time);
    const portfolio = this.scopes.get(PORTFOLIO_SCOPE)?.latest;
    this.portfolioEquity.push(portfolio?.equityMicros ?? this.allocationMicros);
    this.portfolioDrawdown.push(portfolio?.drawdownFraction ?? 0);
    for (const [symbol, points] of this.prices) points.push(this.options.priceOf(symbol, time));
    const price = this.options.priceOf(this.baselineSymbol, time);
    this.baselineStartMicros ??= price;
    this.baselineEquity.push(Math.round((this.allocationMicros * price) / this.baselineStartMicros));
    for (const agent of this.options.agents) {
      const figures = this.agents.get(agent.agentId) as AgentFigures;
      const latest = this.scopes.get(agent.agentId)?.latest;
      figures.series.equityMicros.push(latest?.equityMicros ?? agent.marginAllocationMicros);
      const ledger = margins.get(agent.agentId);
      figures.series.marginInUseMicros.push(ledger?.inUseMicros ?? 0);
      figures.series.utilizationFraction.push(((ledger?.inUseMicros ?? 0) + (ledger?.reservedMicros ?? 0)) / agent.marginAllocationMicros);
    }
  }

  /** The portfolio's equity at the last evaluation, micro-USD. */
  equityNow(): number {
    return this.scopes.get(PORTFOLIO_SCOPE)?.latest?.equityMicros ?? this.allocationMicros;
  }

  /** Agents whose last state in the window is halted (their own or the portfolio's) and that hold a position at its end. */
  private haltedHolding(): string[] {
    const lastState = new Map<string, string>();
    for (const change of this.stateChanges) lastState.set(change.scope, change.state);
    const portfolioHalted = lastState.get(PORTFOLIO_SCOPE) === 'halted';
    const holding = new Set([...this.positions.values()].filter((p) => p.position.quantityAtoms !== 0).map((p) => p.agentId));
    return this.options.agents.map((a) => a.agentId).filter((agentId) => holding.has(agentId) && (portfolioHalted || lastState.get(agentId) === 'halted'));
  }

  summary(): ReplaySummary {
    const portfolio = this.scopeStats(PORTFOLIO_SCOPE, this.allocationMicros);
    const unrealizedByAgent = new Map<string, number>();
    for (const { agentId, symbol, position } of this.positions.values()) {
      if (position.quantityAtoms === 0) continue;
      unrealizedByAgent.set(agentId, (unrealizedByAgent.get(agentId) ?? 0) + unrealizedPnlMicros(position, this.options.priceOf(symbol, this.lastTime)));
    }
    const agentStats: Record<string, AgentStats> = {};
    const agentSeries: Record<string, AgentSeries> = {};
    for (const agent of this.options.agents) {
      const f = this.agents.get(agent.agentId) as AgentFigures;
      const scope = this.scopeStats(agent.agentId, agent.marginAllocationMicros);
      agentSeries[agent.agentId] = f.series;
      agentStats[agent.agentId] = {
        decisions: f.decisions,
        signals: f.signals,
        trades: f.trades,
        closingTrades: f.closingNet.length,
        winRate: winRate(f.closingNet),
        realizedPnlMicros: f.realizedPnlMicros,
        unrealizedPnlMicros: unrealizedByAgent.get(agent.agentId) ?? 0,
        feesMicros: f.feesMicros,
        maxDrawdownFraction: scope.maxDrawdownFraction,
        sharpe: scope.sharpe,
        sortino: scope.sortino,
        exposureFraction: f.evaluatedMinutes === 0 ? 0 : f.exposedMinutes / f.evaluatedMinutes,
        rejections: Object.fromEntries(Object.entries(f.rejections).sort(([a], [b]) => (a < b ? -1 : 1))),
      };
    }
    const all = [...this.agents.values()];
    const endEquity = this.scopes.get(PORTFOLIO_SCOPE)?.latest?.equityMicros ?? this.allocationMicros;
    const startPrice = this.baselineStartMicros ?? this.options.priceOf(this.baselineSymbol, this.options.from);
    const endPrice = this.options.priceOf(this.baselineSymbol, this.lastTime);
    return {
      version: 1,
      window: { from: new Date(this.options.from).toISOString(), to: new Date(this.options.to).toISOString(), minutes: (this.options.to - this.options.from) / 60_000, sampleMinutes: this.options.sampleMinutes },
      market: { symbols: [...this.options.symbols], files: [...this.options.files] },
      agents: this.options.agents.map((a) => a.agentId),
      portfolio: {
        allocationMicros: this.allocationMicros,
        startEquityMicros: this.allocationMicros,
        endEquityMicros: endEquity,
        returnFraction: (endEquity - this.allocationMicros) / this.allocationMicros,
        maxDrawdownFraction: portfolio.maxDrawdownFraction,
        sharpe: portfolio.sharpe,
        sortino: portfolio.sortino,
        trades: this.trades.length,
        halts: this.stateChanges.filter((c) => c.state === 'halted').length,
        resumes: this.stateChanges.filter((c, i, list) => c.state === 'active' && list.slice(0, i).some((p) => p.scope === c.scope)).length,
        haltedHolding: this.haltedHolding(),
        feesMicros: all.reduce((s, f) => s + f.feesMicros, 0),
        realizedPnlMicros: all.reduce((s, f) => s + f.realizedPnlMicros, 0),
        unrealizedPnlMicros: [...unrealizedByAgent.values()].reduce((s, v) => s + v, 0),
      },
      baseline: { symbol: this.baselineSymbol, startPriceMicros: startPrice, endPriceMicros: endPrice, returnFraction: (endPrice - startPrice) / startPrice },
      series: {
        time: this.time,
        portfolioEquityMicros: this.portfolioEquity,
        portfolioDrawdownFraction: this.portfolioDrawdown,
        baselineEquityMicros: this.baselineEquity,
        prices: Object.fromEntries(this.prices),
        agents: agentSeries,
      },
      stateChanges: this.stateChanges,
      trades: this.trades,
      agentStats,
      alerts: this.alerts,
    };
  }

  private decision(data: Record<string, unknown>): void {
    const figures = this.agents.get(String(data.agentId));
    if (figures) {
      figures.decisions += 1;
      if (data.signalId) figures.signals += 1;
    }
    const context = data.context as { freeMarginMicros?: number } | undefined;
    this.sinks.decision({
      decidedFor: String(data.decidedFor),
      agentId: String(data.agentId),
      model: String(data.model),
      action: String(data.action),
      signalId: typeof data.signalId === 'string' ? data.signalId : '',
      source: String(data.source),
      freeMarginMicros: context?.freeMarginMicros ?? 0,
      reason: typeof data.reason === 'string' ? data.reason : '',
    });
  }

  private trade(fill: FillFacts, writes: readonly ObservedWrite[]): void {
    const stored = writes.find((w) => w.collection === COLLECTIONS.fills && w.data?.tradeId === fill.tradeId && w.data?.orderId === fill.orderId)?.data as { agentId: string; symbol: string };
    const key = `${stored.agentId} ${stored.symbol}`;
    const before = this.positions.get(key)?.position ?? FLAT_POSITION;
    const step = applyFill(before, fill, 0);
    this.positions.set(key, { agentId: stored.agentId, symbol: stored.symbol, position: step.position });
    const signed = fill.side === 'BUY' ? 1 : -1;
    const closing = before.quantityAtoms !== 0 && Math.sign(before.quantityAtoms) !== signed;
    const realized = step.effect.realizedPnlDeltaMicros + fill.feeMicros;
    const trade: ReplayTrade = {
      time: fill.time,
      agentId: stored.agentId,
      symbol: stored.symbol,
      side: fill.side,
      quantity: atomsToQuantity(fill.quantityAtoms),
      priceMicros: fill.priceMicros,
      feeMicros: fill.feeMicros,
      realizedPnlMicros: realized,
      closing,
      orderId: fill.orderId,
    };
    this.trades.push(trade);
    this.sinks.trade(trade);
    const figures = this.agents.get(stored.agentId);
    if (!figures) return;
    figures.trades += 1;
    figures.feesMicros += fill.feeMicros;
    figures.realizedPnlMicros += step.effect.realizedPnlDeltaMicros;
    if (closing) figures.closingNet.push(realized - fill.feeMicros);
  }

  private snapshots(evaluatedAt: string, snapshots: readonly ScopeSnapshot[]): void {
    const day = dayOf(evaluatedAt);
    for (const snapshot of snapshots) {
      const figures = this.scopes.get(snapshot.scope) ?? { maxDrawdownFraction: 0, dayEnds: [] };
      this.scopes.set(snapshot.scope, figures);
      if (figures.day !== undefined && figures.day !== day && figures.latest) figures.dayEnds.push(figures.latest.equityMicros);
      figures.day = day;
      figures.latest = snapshot;
      figures.maxDrawdownFraction = Math.max(figures.maxDrawdownFraction, snapshot.drawdownFraction);
    }
    for (const [agentId, figures] of this.agents) {
      figures.evaluatedMinutes += 1;
      const exposed = [...this.positions.values()].some((p) => p.agentId === agentId && p.position.quantityAtoms !== 0);
      if (exposed) figures.exposedMinutes += 1;
    }
  }

  private stateChange(data: Record<string, unknown>): void {
    if (typeof data.state !== 'string') return; // a peak reset, not a change of state
    this.stateChanges.push({ time: Date.parse(String(data.changedAt)), scope: String(data.scope), state: data.state as StateChange['state'], reason: String(data.reason), changedBy: String(data.changedBy) });
  }

  private scopeStats(scope: string, startEquityMicros: number): { maxDrawdownFraction: number; sharpe: number | null; sortino: number | null } {
    const figures = this.scopes.get(scope);
    if (!figures) return { maxDrawdownFraction: 0, sharpe: null, sortino: null };
    const dayEnds = figures.latest ? [...figures.dayEnds, figures.latest.equityMicros] : figures.dayEnds;
    const returns = dailyReturns(dayEnds, startEquityMicros);
    return { maxDrawdownFraction: figures.maxDrawdownFraction, sharpe: sharpeRatio(returns), sortino: sortinoRatio(returns) };
  }
}
