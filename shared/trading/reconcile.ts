import { log } from '../log.js';
import { applyAndPublish } from './apply-facts.js';
import { type TradingDeps, now } from './deps.js';
import { cancelAtVenue, syncOrderFromVenue } from './route-order.js';

export interface ReconcileOptions {
  /** A reservation older than this that never became an order is released. */
  readonly reservationTtlMs: number;
  /** An order still `placing` after this long, unknown to the venue, never reached it. */
  readonly placingGraceMs: number;
  /** A market order still open at the venue after this long is stuck: it is canceled. */
  readonly openOrderTtlMs: number;
}

export interface ReconcileReport {
  readonly ordersChecked: number;
  readonly factsApplied: number;
  readonly ordersNeverPlaced: number;
  readonly ordersExpired: number;
  readonly reservationsReleased: number;
}

const OPEN_AT_VENUE = new Set(['NEW', 'PARTIALLY_FILLED']);

/**
 * The safety net behind the webhooks: compares every open order with the venue and applies the
 * fills and ends the webhooks missed; cancels orders left open at the venue past their time;
 * ends orders that never reached the venue; releases reservations that never became orders.
 * Every step is idempotent: a second run right after changes nothing.
 */
export async function reconcile(deps: TradingDeps, options: ReconcileOptions): Promise<ReconcileReport> {
  const started = now(deps);
  let factsApplied = 0;
  let ordersNeverPlaced = 0;
  let ordersExpired = 0;
  const open = await deps.trades.openOrders();
  for (const order of open) {
    const age = started.getTime() - Date.parse(order.createdAt);
    const synced = await syncOrderFromVenue(deps, order);
    if (synced !== undefined) {
      factsApplied += synced.applied;
      if (OPEN_AT_VENUE.has(synced.venueOrder.status) && age > options.openOrderTtlMs && (await cancelAtVenue(deps, order, 'expired'))) ordersExpired += 1;
      continue;
    }
    if (order.status === 'placing' && age > options.placingGraceMs) {
      const result = await applyAndPublish(deps, {
        orderId: order.orderId,
        terminal: { status: 'rejected', finalFilledAtoms: 0, reason: 'never reached the venue' },
      });
      if (result.outcome === 'applied') ordersNeverPlaced += 1;
    }
  }

  let reservationsReleased = 0;
  const stale = await deps.margins.staleReservations(new Date(started.getTime() - options.reservationTtlMs));
  for (const reservation of stale) {
    const { released } = await deps.margins.releaseReservation(reservation.signalId, 'expired: never became an order');
    if (released) reservationsReleased += 1;
  }
  const report = { ordersChecked: open.length, factsApplied, ordersNeverPlaced, ordersExpired, reservationsReleased };
  log.info('reconciled', { ...report });
  return report;
}
