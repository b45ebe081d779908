import type { Firestore } from '@google-cloud/firestore';
import type { Config } from '../config.js';
import { sizeSignal } from '../domain/agent-sizing.js';
import type { AgentProfile } from '../domain/agents.js';
import type { MarketData } from '../domain/exchange.js';
import { freeMarginMicros } from '../domain/ledger.js';
import { USD } from '../domain/money.js';
import { TradeSignal } from '../domain/messages.js';
import { atomsToQuantity } from '../domain/quantity.js';
import type { SymbolSeries } from '../domain/baselines/strategies.js';
import { COLLECTIONS } from '../firestore/collections.js';
import type { MarginLedger } from '../firestore/margin-ledger.js';
import type { TradeLedger } from '../firestore/trade-ledger.js';
import { publishSignal } from '../intake/publish-signal.js';
import { log } from '../log.js';
import { runInNewTrace } from '../tracing/active-trace.js';
import type { MessagePublisher } from '../pubsub/publisher.js';
import type { GuardedDecision, GuardedModel } from './guarded-model.js';
import type { MarketContext } from '../domain/agent-prompt.js';

export interface InferenceDeps {
  readonly db: Firestore;
  readonly market: MarketData;
  readonly margins: MarginLedger;
  readonly trades: TradeLedger;
  readonly publisher: MessagePublisher;
  readonly topics: Config['topics'];
  /** The model that decides for an agent. */
  readonly modelFor: (agent: AgentProfile) => GuardedModel;
  readonly maxSymbolsPerAgent: number;
  readonly minConfidence: number;
  readonly signalTtlSeconds: number;
  readonly candles: number;
}

export interface AgentRun {
  readonly agentId: string;
  readonly model: string;
  readonly action: string;
  readonly reason?: string;
  readonly signalId?: string;
  readonly source: GuardedDecision['source'];
  readonly latencyMs: number;
}

async function context(deps: InferenceDeps, agent: AgentProfile): Promise<{ context: MarketContext; marketTime: number }> {
  const symbols = agent.allowedSymbols.slice(0, deps.maxSymbolsPerAgent);
  const filters = await Promise.allSettled(symbols.map((s) => deps.market.symbolFilters(s)));
  const tradable = symbols.filter((_, i) => filters[i]?.status === 'fulfilled');
  const [ledger, candles, positions] = await Promise.all([
    deps.margins.ledgerOf(agent.agentId),
    Promise.all(tradable.map((s) => deps.market.klines(s, deps.candles))),
    Promise.all(tradable.map((s) => deps.trades.position(agent.agentId, s))),
  ]);
  const series: SymbolSeries[] = tradable.map((symbol, i) => ({
    symbol,
    closes: (candles[i] ?? []).map((k) => k.closeMicros / USD),
    volumes: (candles[i] ?? []).map((k) => Number(k.volume)),
  }));
  // The decision is for the minute after the last closed candle.
  const marketTime = Math.max(0, ...candles.flatMap((c) => c.map((k) => k.closeTime + 1)));
  return {
    context: {
      agent,
      series,
      positions: tradable.flatMap((symbol, i) => {
        const q = positions[i]?.quantityAtoms ?? 0;
        return q === 0 ? [] : [{ symbol, quantity: atomsToQuantity(Math.abs(q)), side: q > 0 ? ('long' as const) : ('short' as const) }];
      }),
      freeMarginMicros: freeMarginMicros(ledger, agent.marginAllocationMicros),
    },
    marketTime,
  };
}

/**
 * One inference tick for one agent: its market context, its model's decision, the signal that
 * follows (if any) published to `signals`, and the decision recorded with its reason, latency
 * and source in agentDecisions.
 */
export function runAgent(deps: InferenceDeps, agent: AgentProfile, now: Date): Promise<AgentRun> {
  // Each tick is the root of a trace of its own: the signal it may send is followed from here.
  return runInNewTrace(() => tick(deps, agent, now));
}

async function tick(deps: InferenceDeps, agent: AgentProfile, now: Date): Promise<AgentRun> {
  const { context: ctx, marketTime } = await context(deps, agent);
  const model = deps.modelFor(agent);
  const guarded = await model.decide(ctx);
  const { decision } = guarded;
  let run: AgentRun = { agentId: agent.agentId, model: model.name, action: decision.action, source: guarded.source, latencyMs: guarded.latencyMs };
  if (decision.action === 'HOLD') {
    run = { ...run, reason: decision.reason };
  } else {
    const sized = sizeSignal({ decision, agent, freeMarginMicros: ctx.freeMarginMicros, decidedFor: new Date(marketTime || now.getTime()), now, minConfidence: deps.minConfidence, ttlSeconds: deps.signalTtlSeconds });
    if (!sized.ok) {
      run = { ...run, action: 'HOLD', reason: `${decision.action} ${decision.symbol} not sent: ${sized.reason}` };
    } else {
      const signal = TradeSignal.parse(sized.signal);
      await publishSignal(deps.publisher, deps.topics, signal, 10_000);
      run = { ...run, signalId: signal.signalId, reason: decision.rationale };
    }
  }
  const minute = new Date(Math.floor((marketTime || now.getTime()) / 60_000) * 60_000).toISOString();
  // What the agent saw besides the candles, so its training data can ask it the same question.
  const seen = { symbols: ctx.series.map((s) => s.symbol), freeMarginMicros: ctx.freeMarginMicros, positions: ctx.positions };
  await deps.db.collection(COLLECTIONS.agentDecisions).doc(`${agent.agentId}:${minute}`).set({ ...run, decidedFor: minute, context: seen, recordedAt: now.toISOString() });
  log.info('agent decided', { ...run });
  return run;
}
