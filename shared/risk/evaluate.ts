import type { Firestore } from '@google-cloud/firestore';
import type { Config } from '../config.js';
import type { MarketData } from '../domain/exchange.js';
import { PositionState, unrealizedPnlMicros } from '../domain/positions.js';
import type { AgentExposure, RiskLimits } from '../domain/risk.js';
import { listAgentProfiles } from '../firestore/agent-profiles.js';
import { flushOutbox } from '../firestore/alert-outbox.js';
import { COLLECTIONS } from '../firestore/collections.js';
import { LedgerRepository } from '../firestore/ledger-repository.js';
import { type EvaluationResult, RiskBook } from '../firestore/risk-book.js';
import type { JsonPublisher } from '../pubsub/publisher.js';

export interface EvaluatorDeps {
  readonly db: Firestore;
  readonly market: MarketData;
  readonly book: RiskBook;
  readonly publisher: JsonPublisher;
  readonly topics: Config['topics'];
  readonly limits: RiskLimits;
}

const MINUTE = 60_000;
const minuteOf = (time: number) => Math.floor(time / MINUTE) * MINUTE;

/**
 * One drawdown evaluation: every agent's ledger and open positions, marked to the market's
 * current prices, evaluated at the market's minute (the replay's, locally). Then every alert
 * transition not yet published goes to `alerts`, including ones a crashed run left behind.
 */
export async function evaluateDrawdown(deps: EvaluatorDeps): Promise<EvaluationResult> {
  const [profiles, lastEvaluatedAt] = await Promise.all([listAgentProfiles(deps.db), deps.book.lastEvaluatedAt()]);
  // At least one price even without positions: the market's clock says which minute this is.
  const clockSymbol = profiles[0]?.allowedSymbols[0] ?? 'BTCUSDT';
  const clock = await deps.market.ticker(clockSymbol);
  if (lastEvaluatedAt !== undefined && minuteOf(clock.time) <= lastEvaluatedAt.getTime()) {
    // This minute is evaluated: a burst of order updates costs a price and two reads, not an
    // evaluation. Alerts a crashed run left behind still go out.
    await flushOutbox(deps.db, deps.publisher, deps.topics.alerts);
    return { evaluated: false, snapshots: [], transitions: [] };
  }
  // Plain reads, no transaction: the evaluator never locks what reservations and fills write.
  const [ledgers, positionSnap] = await Promise.all([
    LedgerRepository.for(deps.db).allLedgers(),
    deps.db.collection(COLLECTIONS.positions).where('quantityAtoms', '!=', 0).get(),
  ]);
  const positions = positionSnap.docs.map((d) => ({ agentId: String(d.get('agentId')), symbol: String(d.get('symbol')), position: PositionState.parse(d.data()) }));
  const others = [...new Set(positions.map((p) => p.symbol))].filter((s) => s !== clockSymbol);
  const tickers = new Map([[clockSymbol, clock] as const, ...(await Promise.all(others.map(async (s) => [s, await deps.market.ticker(s)] as const)))]);
  const marketTime = Math.max(...[...tickers.values()].map((t) => t.time));
  const at = new Date(minuteOf(marketTime));

  const exposures: AgentExposure[] = profiles.map((profile) => {
    const ledger = ledgers.get(profile.agentId);
    const unrealized = positions
      .filter((p) => p.agentId === profile.agentId)
      .reduce((sum, p) => sum + unrealizedPnlMicros(p.position, tickers.get(p.symbol)?.priceMicros ?? 0), 0);
    return {
      agentId: profile.agentId,
      allocationMicros: profile.marginAllocationMicros,
      reservedMicros: ledger?.reservedMicros ?? 0,
      inUseMicros: ledger?.inUseMicros ?? 0,
      realizedPnlMicros: ledger?.realizedPnlMicros ?? 0,
      unrealizedPnlMicros: unrealized,
    };
  });
  const result = await deps.book.evaluate(exposures, deps.limits, at);
  await flushOutbox(deps.db, deps.publisher, deps.topics.alerts);
  return result;
}

