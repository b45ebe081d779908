import { createHash } from 'node:crypto';
import { FLATTEN_POLICY, type FlattenPolicy } from '../domain/flatten.js';
import { PROTECTIVE_STOP_ID } from '../domain/protective-stop.js';
import { bankruptcyPriceMicros, isLiquidated } from '../domain/liquidation.js';
import type { AlertMessage } from '../domain/messages.js';
import { microsToUsd } from '../domain/money.js';
import { quantityToAtoms } from '../domain/quantity.js';
import { PaperExchange } from '../exchange/paper/paper-exchange.js';
import { listAgentProfiles } from '../firestore/agent-profiles.js';
import { COLLECTIONS } from '../firestore/collections.js';
import { documentId } from '../firestore/document-id.js';
import { FlattenBook } from '../firestore/flattens.js';
import { changeTradingState, tradingStateOf } from '../firestore/trading-states.js';
import { log } from '../log.js';
import { applyAndPublish } from './apply-facts.js';
import { type TradingDeps, now } from './deps.js';
import { type OrderRecord, leaseLive } from '../domain/orders.js';
import { continueFlattens } from './flatten.js';
import { isolated } from './isolated.js';
import { keepProtectiveStops } from './protective-stops.js';
import { cancelAtVenue, syncOrderFromVenue } from './route-order.js';

export interface ReconcileOptions {
  /** A reservation older than this that never became an order is released. */
  readonly reservationTtlMs: number;
  /**
   * An order still `placing` after this long, unknown to the venue, never reached it — for orders
   * without an expiry; one with an expiry is ended only once it can no longer be placed.
   */
  readonly placingGraceMs: number;
  /** A market order still open at the venue after this long is stuck: it is canceled. */
  readonly openOrderTtlMs: number;
  /** How flattens not yet flat are tried again and when they alert (FLATTEN_POLICY by default). */
  readonly flattenPolicy?: FlattenPolicy;
  /**
   * The share of an agent's allocation one position may lose before its protective stop at the
   * venue closes it (the agent drawdown halt fraction); none, no stops are kept.
   */
  readonly stopLossFraction?: number;
}

export interface ReconcileReport {
  readonly ordersChecked: number;
  readonly factsApplied: number;
  readonly ordersNeverPlaced: number;
  readonly ordersExpired: number;
  readonly reservationsReleased: number;
  readonly fundingApplied: number;
  /** Agents whose venue positions differ from Sapphire's: now reduce-only. */
  readonly positionMismatches: readonly string[];
  /** Orders the venue made by itself (liquidations, ADL) booked in this run. */
  readonly liquidations: number;
  /** Flattens tried again for what they left open, and flattens that alerted for still holding positions past the bound. */
  readonly flattensRetried: number;
  readonly flattenAlerts: number;
  /** Protective stops placed and cancelled at the venue in this run. */
  readonly stopsPlaced: number;
  readonly stopsCancelled: number;
  /** Orders and agents whose step failed: logged as errors and skipped; the rest of the run went on. */
  readonly failures: readonly string[];
}

/**
 * Whether an order still `placing` that the venue does not know can be ended: no delivery holds
 * its placement, and none may place it any longer (its signal has expired), so a late execution
 * cannot follow the end.
 */
function neverPlaceable(order: OrderRecord, at: Date, placingGraceMs: number): boolean {
  if (order.status !== 'placing' || leaseLive(order.placementLease, at)) return false;
  if (order.expiresAt === undefined) return at.getTime() - Date.parse(order.createdAt) > placingGraceMs;
  return at.getTime() > Date.parse(order.expiresAt);
}

const OPEN_AT_VENUE = new Set(['NEW', 'PARTIALLY_FILLED']);

/**
 * The safety net behind the webhooks: compares every open order with the venue and applies the
 * fills and ends the webhooks missed; cancels orders left open at the venue past their time;
 * ends orders that never reached the venue; releases reservations that never became orders;
 * books the funding each agent's own account was charged or paid; holds to reduce-only an agent
 * whose positions at the venue differ from Sapphire's; carries every flatten on until it is flat.
 * Every step is idempotent: a second run right after changes nothing.
 */
export async function reconcile(deps: TradingDeps, options: ReconcileOptions): Promise<ReconcileReport> {
  const started = now(deps);
  let factsApplied = 0;
  let ordersNeverPlaced = 0;
  let ordersExpired = 0;
  const failures: string[] = [];
  const open = await deps.trades.openOrders();
  for (const order of open) {
    await isolated(failures, `order ${order.orderId}`, { orderId: order.orderId, agentId: order.agentId }, async () => {
      const age = started.getTime() - Date.parse(order.createdAt);
      const synced = await syncOrderFromVenue(deps, order);
      if (synced !== undefined) {
        factsApplied += synced.applied;
        if (OPEN_AT_VENUE.has(synced.venueOrder.status) && age > options.openOrderTtlMs && (await cancelAtVenue(deps, order, 'expired'))) ordersExpired += 1;
        return;
      }
      if (neverPlaceable(order, started, options.placingGraceMs)) {
        const result = await applyAndPublish(deps, {
          orderId: order.orderId,
          terminal: { status: 'rejected', finalFilledAtoms: 0, reason: 'never reached the venue' },
        });
        if (result.outcome === 'applied') ordersNeverPlaced += 1;
      }
    });
  }

  let reservationsReleased = 0;
  const stale = await deps.margins.staleReservations(new Date(started.getTime() - options.reservationTtlMs));
  for (const reservation of stale) {
    const { released } = await deps.margins.releaseReservation(reservation.signalId, 'expired: never became an order');
    if (released) reservationsReleased += 1;
  }
  // The account-level steps all work per agent: the profiles are read once for them.
  const profiles = await listAgentProfiles(deps.trades.db);
  const agentIds = profiles.map((p) => p.agentId);
  const fundingApplied = await applyFunding(deps, agentIds, failures);
  await liquidatePaperPositions(deps, agentIds, failures);
  const liquidations = await adoptVenueMadeOrders(deps, agentIds, started, failures);
  const positionMismatches = await checkVenuePositions(deps, agentIds, started, failures);
  const flattens = await continueFlattens(deps, new FlattenBook(deps.trades.db), options.flattenPolicy ?? FLATTEN_POLICY, failures);
  const stops = options.stopLossFraction === undefined ? { placed: 0, cancelled: 0 } : await keepProtectiveStops(deps, profiles, open, options.stopLossFraction, failures);
  const report = {
    ordersChecked: open.length,
    factsApplied,
    ordersNeverPlaced,
    ordersExpired,
    reservationsReleased,
    fundingApplied,
    positionMismatches,
    liquidations,
    flattensRetried: flattens.retried,
    flattenAlerts: flattens.alerted,
    stopsPlaced: stops.placed,
    stopsCancelled: stops.cancelled,
    failures,
  };
  log.info('reconciled', { ...report });
  return report;
}

/** Reads of an account's income history overlap by an hour; the first read takes what the venue keeps (Binance: 7 days). */
const INCOME_OVERLAP_MS = 3_600_000;

/**
 * Funding of each agent's own venue account, booked to its ledger once per venue transaction
 * (re-reading the history books nothing twice). A shared account's funding cannot be told apart
 * by agent: it is logged, not booked.
 */
async function applyFunding(deps: TradingDeps, agentIds: readonly string[], failures: string[]): Promise<number> {
  const db = deps.trades.db;
  let applied = 0;
  for (const agentId of agentIds) {
    const account = deps.accounts.accountFor(agentId);
    if (account.shared) continue;
    await isolated(failures, `funding of ${agentId}`, { agentId }, async () => {
      const cursorRef = db.collection(COLLECTIONS.incomeCursors).doc(documentId(account.accountId));
      const readUpTo = (await cursorRef.get()).get('readUpTo') as number | undefined;
      const since = readUpTo === undefined ? undefined : readUpTo - INCOME_OVERLAP_MS;
      const incomes = await account.exchange.fundingSince(since);
      for (const income of incomes) {
        if ((await deps.margins.applyFunding(agentId, account.accountId, income)) === 'applied') applied += 1;
      }
      // Only what was seen moves the cursor (venue time, a replay's locally): no income, no move.
      if (incomes.length > 0) await cursorRef.set({ readUpTo: Math.max(readUpTo ?? 0, ...incomes.map((i) => i.time)) });
    });
  }
  return applied;
}

/**
 * Each agent's own account at the venue against Sapphire's positions for that agent. A
 * difference (a trade by hand, an update never received) alerts and holds the agent to
 * reduce-only until an operator has put it right (flatten, or fix the venue) and resumes it.
 * Symbols with an order in flight are left for the next run: their fill may not be applied yet.
 */
async function checkVenuePositions(deps: TradingDeps, agentIds: readonly string[], at: Date, failures: string[]): Promise<string[]> {
  const db = deps.trades.db;
  const inFlight = new Set((await deps.trades.openOrders()).map((o) => `${o.agentId}|${o.symbol}`));
  const mismatched: string[] = [];
  for (const agentId of agentIds) {
    const account = deps.accounts.accountFor(agentId);
    if (account.shared) continue;
    await isolated(failures, `positions of ${agentId}`, { agentId }, async () => {
      const [venue, ours] = await Promise.all([account.exchange.positions(), deps.trades.openPositionsOf([agentId])]);
      const venueOf = new Map(venue.map((p) => [p.symbol, p.quantityAtoms]));
      const oursOf = new Map(ours.map((p) => [p.symbol, p.quantityAtoms]));
      const differences = [...new Set([...venueOf.keys(), ...oursOf.keys()])]
        .filter((symbol) => !inFlight.has(`${agentId}|${symbol}`) && (venueOf.get(symbol) ?? 0) !== (oursOf.get(symbol) ?? 0))
        .sort()
        .map((symbol) => `${symbol} venue ${venueOf.get(symbol) ?? 0} atoms, Sapphire ${oursOf.get(symbol) ?? 0}`);
      if (differences.length === 0) return;
      mismatched.push(agentId);
      const state = await tradingStateOf(db, agentId);
      if (state && state.state !== 'active') return; // already held; the first detection alerted
      const reason = `position_mismatch: ${differences.join('; ')}`;
      await changeTradingState(db, { scope: agentId, state: 'reducing', reason, changedBy: 'reconciler', at });
      const alert: AlertMessage = {
        episodeId: `position_mismatch:${agentId}@${at.toISOString()}`,
        transition: 'open',
        key: `position_mismatch:${agentId}`,
        limitType: 'position_mismatch',
        scope: agentId,
        severity: 'critical',
        message: `${agentId} positions differ from its venue account (${differences.join('; ')}): reduce-only until an operator resolves it`,
        source: 'reconciler',
        openedAt: at.toISOString(),
      };
      await deps.publisher.publish(deps.topics.alerts, alert, { attributes: { episodeId: alert.episodeId, transition: alert.transition } });
      log.error('venue positions differ', { agentId, differences });
    });
  }
  return mismatched;
}

/**
 * The paper exchange does what a venue does by itself between two runs: a protective stop the
 * mark has reached closes its position; else, as a venue with isolated margin would
 * (liquidation.ts), a position whose mark has reached its liquidation price is closed at its
 * bankruptcy price, so the loss is its margin plus the fee, never more. Either order is then
 * booked like a real venue's (adoptVenueMadeOrders). The order id follows from the stop or the
 * position's state, so a retried run closes once.
 */
async function liquidatePaperPositions(deps: TradingDeps, agentIds: readonly string[], failures: string[]): Promise<number> {
  if (deps.accounts.venue !== 'paper') return 0;
  let liquidated = 0;
  for (const held of await deps.trades.openPositionsOf(agentIds)) {
    const exchange = deps.accounts.accountFor(held.agentId).exchange;
    if (!(exchange instanceof PaperExchange)) continue;
    await isolated(failures, `liquidation check of ${held.agentId} ${held.symbol}`, { agentId: held.agentId, symbol: held.symbol }, async () => {
      const mark = (await exchange.markPrice(held.symbol)).priceMicros;
      // A protective stop the mark has reached closes the position first, as at a venue.
      if ((await exchange.fireStops(held.symbol, mark)) > 0) return;
      const position = await deps.trades.position(held.agentId, held.symbol);
      if (!isLiquidated(position, mark)) return;
      const orderId = `autoclose-${createHash('sha256').update(`${held.agentId}|${held.symbol}|${position.lastFillKey}`).digest('hex').slice(0, 25)}`;
      await exchange.liquidate(held.symbol, orderId, bankruptcyPriceMicros(position));
      liquidated += 1;
    });
  }
  return liquidated;
}

/**
 * Orders a venue made on an agent's own account by itself — liquidations, auto-deleveraging —
 * adopted as the agent's (no reservation behind them), their fills booked to its position and
 * ledger like any fill, with a critical alert the first time. Looked for in the symbols the
 * agent holds, where only they can happen.
 */
async function adoptVenueMadeOrders(deps: TradingDeps, agentIds: readonly string[], at: Date, failures: string[]): Promise<number> {
  let adopted = 0;
  for (const held of await deps.trades.openPositionsOf(agentIds)) {
    const account = deps.accounts.accountFor(held.agentId);
    if (account.shared) continue;
    await isolated(failures, `venue-made orders of ${held.agentId} ${held.symbol}`, { agentId: held.agentId, symbol: held.symbol }, async () => {
      for (const made of await account.exchange.venueMadeOrders(held.symbol)) {
        const { order, adopted: now } = await deps.trades.adoptVenueOrder({
          orderId: made.clientOrderId,
          agentId: held.agentId,
          symbol: made.symbol,
          side: made.side,
          quantityAtoms: quantityToAtoms(made.quantity),
          venue: deps.accounts.venue,
        });
        await syncOrderFromVenue(deps, order, made);
        if (!now) continue;
        adopted += 1;
        // A protective stop firing is the protection working; a liquidation is what it is there to prevent.
        const stop = PROTECTIVE_STOP_ID.test(made.clientOrderId);
        const limitType = stop ? 'protective_stop' : 'liquidation';
        const alert: AlertMessage = {
          episodeId: `${limitType}:${made.clientOrderId}`,
          transition: 'open',
          key: `${limitType}:${held.agentId}:${held.symbol}`,
          limitType,
          scope: held.agentId,
          severity: stop ? 'warning' : 'critical',
          message: `${held.agentId} ${held.symbol} ${held.quantityAtoms > 0 ? 'long' : 'short'} closed by ${stop ? 'its protective stop at the venue' : 'the venue'} (${made.clientOrderId}, ${made.executedQuantity} at ${microsToUsd(made.avgPriceMicros ?? 0)} USD)`,
          source: 'reconciler',
          openedAt: at.toISOString(),
        };
        await deps.publisher.publish(deps.topics.alerts, alert, { attributes: { episodeId: alert.episodeId, transition: alert.transition } });
        log.error('position closed by the venue', { agentId: held.agentId, symbol: held.symbol, orderId: made.clientOrderId });
      }
    });
  }
  return adopted;
}
