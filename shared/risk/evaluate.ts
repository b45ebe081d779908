import type { Firestore } from '@google-cloud/firestore';
import type { Config } from '../config.js';
import type { MarketData, Ticker } from '../domain/exchange.js';
import { type MarkBook, type Quote, resolveMarks } from '../domain/mark-prices.js';
import { PositionState, unrealizedPnlMicros } from '../domain/positions.js';
import type { AgentExposure, RiskLimits } from '../domain/risk.js';
import { listAgentProfiles } from '../firestore/agent-profiles.js';
import { flushOutbox } from '../firestore/alert-outbox.js';
import { COLLECTIONS } from '../firestore/collections.js';
import { LedgerRepository } from '../firestore/ledger-repository.js';
import { type EvaluationResult, RiskBook } from '../firestore/risk-book.js';
import { log } from '../log.js';
import type { MessagePublisher } from '../pubsub/publisher.js';

export interface EvaluatorDeps {
  readonly db: Firestore;
  readonly market: MarketData;
  readonly book: RiskBook;
  readonly publisher: MessagePublisher;
  readonly topics: Config['topics'];
  readonly limits: RiskLimits;
  /** A price older than this (wall clock) is stale: its holders may only reduce risk. */
  readonly priceStalenessMs: number;
  /** The wall clock, ms. */
  readonly now?: () => number;
}

/** riskState/marks: the last good price of each symbol, for when the feed fails. */
export const MARKS_DOC = 'marks';
/** riskState/heartbeat: when the evaluator last ran (wall clock). */
export const HEARTBEAT_DOC = 'heartbeat';

const MINUTE = 60_000;
const minuteOf = (time: number) => Math.floor(time / MINUTE) * MINUTE;

/**
 * One drawdown evaluation: every agent's ledger and open positions, marked to the venue's mark
 * prices (the last trade price where the mark does not come), evaluated at the market's minute (the replay's, locally). A price the feed
 * does not give is taken from the last good one while it is fresh; past that its holders may
 * only reduce risk, and everything else is evaluated as usual: a failing feed never stops the
 * guardrails. Then every alert transition not yet published goes to `alerts`, including ones
 * a crashed run left behind.
 */
export async function evaluateDrawdown(deps: EvaluatorDeps): Promise<EvaluationResult> {
  const now = deps.now ? deps.now() : Date.now();
  const marksRef = deps.db.collection(COLLECTIONS.riskState).doc(MARKS_DOC);
  const [profiles, lastEvaluatedAt, marksSnap] = await Promise.all([
    listAgentProfiles(deps.db),
    deps.book.lastEvaluatedAt(),
    marksRef.get(),
    // The guardrail's own pulse, in wall time: /healthz turns 503 when it stops. Written beside
    // the reads rather than before them: every trigger pays it, most of them on the early exit.
    deps.db.collection(COLLECTIONS.riskState).doc(HEARTBEAT_DOC).set({ lastRunAt: new Date(now).toISOString() }),
  ]);
  const book = (marksSnap.data()?.book as MarkBook | undefined) ?? {};
  // Each agent's first symbol: even without positions the market's clock says which minute this is.
  const clockQuotes = await quote(deps, [...new Set(profiles.map((p) => p.allowedSymbols[0] as string))]);
  const clock = resolveMarks(clockQuotes, book, now, deps.priceStalenessMs).clock;
  if (clock === undefined) {
    // No price has ever been read: the market's minute is unknown (a replay's is not the wall
    // clock's), and so is the value of anything held. Nothing to evaluate until one arrives.
    log.error('no market price has ever been read: evaluation waits for one', { symbols: [...clockQuotes.keys()] });
    await flushOutbox(deps.db, deps.publisher, deps.topics.alerts);
    return { evaluated: false, snapshots: [], transitions: [] };
  }
  const at = new Date(minuteOf(clock));
  if (lastEvaluatedAt !== undefined && at.getTime() <= lastEvaluatedAt.getTime()) {
    // This minute is evaluated: a burst of order updates costs a few prices and reads, not an
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
  const held = [...new Set(positions.map((p) => p.symbol))].filter((s) => !clockQuotes.has(s));
  const quotes = new Map([...clockQuotes, ...(await quote(deps, held))]);
  const marks = resolveMarks(quotes, book, now, deps.priceStalenessMs);
  await marksRef.set({ book: marks.book });
  if (marks.stale.size > 0) log.warn('prices stale', { symbols: [...marks.stale.values()] });

  const exposures: AgentExposure[] = profiles.map((profile) => {
    const ledger = ledgers.get(profile.agentId);
    const own = positions.filter((p) => p.agentId === profile.agentId);
    // Without any price a position is valued at its entry (unrealized 0), and its agent is held to reduce-only.
    const unrealized = own.reduce((sum, p) => {
      const price = marks.prices.get(p.symbol);
      return price === undefined ? sum : sum + unrealizedPnlMicros(p.position, price);
    }, 0);
    const stale = own.flatMap((p) => (marks.stale.has(p.symbol) ? [marks.stale.get(p.symbol) as string] : []));
    return {
      agentId: profile.agentId,
      allocationMicros: profile.marginAllocationMicros,
      reservedMicros: ledger?.reservedMicros ?? 0,
      inUseMicros: ledger?.inUseMicros ?? 0,
      realizedPnlMicros: ledger?.realizedPnlMicros ?? 0,
      unrealizedPnlMicros: unrealized,
      ...(stale.length > 0 ? { stalePrices: stale } : {}),
    };
  });
  const result = await deps.book.evaluate(exposures, deps.limits, at);
  await flushOutbox(deps.db, deps.publisher, deps.topics.alerts);
  return result;
}

/** The mark price, or the last trade price when the mark does not come (logged as such). */
async function priceOf(deps: EvaluatorDeps, symbol: string): Promise<Ticker> {
  try {
    return await deps.market.markPrice(symbol);
  } catch (markError) {
    const last = await deps.market.ticker(symbol);
    log.warn('no mark price: valued at the last trade price', { symbol, error: markError });
    return last;
  }
}

/** The venue's answer for each symbol, a failure included: one failing symbol fails nothing else. */
async function quote(deps: EvaluatorDeps, symbols: readonly string[]): Promise<Map<string, Quote>> {
  const answers = await Promise.allSettled(symbols.map((symbol) => priceOf(deps, symbol)));
  return new Map(
    symbols.map((symbol, i): [string, Quote] => {
      const answer = answers[i] as PromiseSettledResult<Ticker>;
      return [
        symbol,
        answer.status === 'fulfilled'
          ? { ok: true, priceMicros: answer.value.priceMicros, time: answer.value.time }
          : { ok: false, error: answer.reason instanceof Error ? answer.reason.message : String(answer.reason) },
      ];
    }),
  );
}
