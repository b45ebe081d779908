import { randomUUID } from 'node:crypto';
import { ExchangeError, type ExchangeOrder, type SymbolFilters, type SymbolSetup } from '../domain/exchange.js';
import type { OrderRequest, RiskEvent } from '../domain/messages.js';
import { exposureBySymbol, nettingCounterparty } from '../domain/netting.js';
import { fitToVenueLeverage, heldAtOtherLeverage, planOrderQuantity } from '../domain/order-plan.js';
import { type OrderRecord, PLACEMENT_LEASE_MS, type PlacementTiming, type VenueFacts } from '../domain/orders.js';
import { atomsToQuantity, quantityToAtoms } from '../domain/quantity.js';
import { venueFactsFor } from '../domain/venue-facts.js';
import { log } from '../log.js';
import { RetryLater } from '../pubsub/push-handler.js';
import { applyAllAndPublish, applyAndPublish } from './apply-facts.js';
import { type TradingDeps, now } from './deps.js';
import type { VenueAccount } from '../exchange/accounts.js';
import type { PlacementLease } from '../firestore/trade-ledger.js';

async function publishOrderRejected(deps: TradingDeps, request: OrderRequest, reason: string, detail: string): Promise<void> {
  const event: RiskEvent = {
    type: 'order_rejected',
    eventId: `order-rejected:${request.orderId}`,
    orderId: request.orderId,
    signalId: request.signalId,
    agentId: request.agentId,
    symbol: request.symbol,
    reason,
    detail,
    occurredAt: now(deps).toISOString(),
  };
  await deps.publisher.publish(deps.topics.riskEvents, event, { attributes: { orderId: request.orderId, agentId: request.agentId } });
}

export interface VenueSync {
  /** The order as the venue reported it. */
  readonly venueOrder: ExchangeOrder;
  /** Facts newly applied to the ledgers. */
  readonly applied: number;
}

/**
 * Reads an order back from the venue (unless `known` is what it just answered) and applies what
 * it holds: its venue id, its fills, its end. Used right after placing and by the reconciler.
 * undefined when the venue does not know the order.
 */
export async function syncOrderFromVenue(deps: TradingDeps, order: OrderRecord, known?: ExchangeOrder, placement?: PlacementTiming): Promise<VenueSync | undefined> {
  const { exchange } = deps.accounts.accountFor(order.agentId);
  const venueOrder = known ?? (await exchange.getOrder(order.symbol, order.orderId));
  if (!venueOrder) return undefined;
  // Nothing executed at the venue means no fills to look for.
  const fills = quantityToAtoms(venueOrder.executedQuantity) > order.filledAtoms ? await exchange.orderFills(venueOrder) : [];
  const facts = venueFactsFor(order.orderId, venueOrder, fills);
  if (placement) facts[0] = { ...(facts[0] as VenueFacts), placement };
  return { venueOrder, applied: await applyAllAndPublish(deps, facts, order) };
}

/**
 * Cancels an order still open at the venue and applies the cancel (which returns the margin of
 * what never filled). True when this call ended it; a venue that answers `order_not_found` ended
 * it meanwhile, and the next sync applies that end.
 */
export async function cancelAtVenue(deps: TradingDeps, order: OrderRecord, why: string): Promise<boolean> {
  try {
    const canceled = await deps.accounts.accountFor(order.agentId).exchange.cancelOrder(order.symbol, order.orderId);
    log.info('order canceled', { why, orderId: order.orderId, agentId: order.agentId, symbol: order.symbol, executedQuantity: canceled.executedQuantity });
    await syncOrderFromVenue(deps, order, canceled);
    return true;
  } catch (error) {
    if (error instanceof ExchangeError && error.reason === 'order_not_found') return false;
    throw error;
  }
}

/**
 * A shared account's netting check (shared/domain/netting.ts), counting each agent's orders in
 * flight: the caller holds the account's lock for the symbol, so no other agent's decision is in between.
 */
async function nettingRefusal(deps: TradingDeps, request: OrderRequest, quantityAtoms: number): Promise<string | undefined> {
  const [positions, open] = await Promise.all([deps.trades.positionsIn(request.symbol), deps.trades.openOrders()]);
  const held = exposureBySymbol(request.symbol, positions, open, request.orderId);
  const other = nettingCounterparty(held, request.agentId, request.side, quantityAtoms, deps.accounts.sharesAccountWith(request.agentId));
  return other && `${other} holds ${request.symbol} the other way on the shared venue account: it would net against this order`;
}

function expired(deps: TradingDeps, expiresAt: string | undefined): boolean {
  return expiresAt !== undefined && now(deps).getTime() >= Date.parse(expiresAt);
}

/**
 * order-router's work for one OrderRequest: size it to the venue's filters, claim its
 * reservation with the placement lease, place it with a client order id equal to the orderId,
 * then apply what the venue reports. At most one venue order per orderId, whatever is delivered
 * twice, at once, or after a crash: only the lease holder places; a placement that may have
 * reached the venue (an unknown answer, a crash) makes every later one ask the venue first, and
 * send again only when the venue says it has no such order; nothing is sent after the signal's
 * expiry. A venue refusal ends the order, which returns its margin, and raises a RiskEvent.
 */
export async function routeOrder(deps: TradingDeps, request: OrderRequest): Promise<void> {
  const account = deps.accounts.accountFor(request.agentId);
  // Read together: most deliveries are first deliveries, which need the venue's filters and price.
  const [existing, filters, ticker] = await Promise.all([
    deps.trades.order(request.orderId),
    account.exchange.symbolFilters(request.symbol),
    account.exchange.ticker(request.symbol),
  ]);
  if (existing && existing.status !== 'placing') {
    if (existing.status === 'rejected') await publishOrderRejected(deps, request, 'rejected', existing.reason ?? '');
    return;
  }
  const holder = randomUUID();
  const lease = () => ({ holder, until: new Date(now(deps).getTime() + (deps.placementLeaseMs ?? PLACEMENT_LEASE_MS)) });
  // One delivery at a time decides and places on an account's symbol where that matters: the
  // venue's leverage, one setting per account and symbol (read and set from the decision to the
  // venue's answer), and a shared account's netting, which must see the other agents' orders.
  const locked = account.shared || (!request.reduceOnly && venueSetsLeverage(deps));
  if (locked && !(await deps.trades.lockAccountSymbol(account.accountId, request.symbol, lease()))) {
    throw new RetryLater(`another order on account ${account.accountId} is deciding ${request.symbol}`);
  }
  try {
    await decideAndPlace(deps, request, { account, existing, filters, priceMicros: ticker.priceMicros, holder, lease });
  } finally {
    if (locked) await deps.trades.unlockAccountSymbol(account.accountId, request.symbol, holder);
  }
}

interface Placement {
  readonly account: VenueAccount;
  readonly existing: OrderRecord | undefined;
  readonly filters: SymbolFilters;
  readonly priceMicros: number;
  readonly holder: string;
  readonly lease: () => PlacementLease;
}

/** The paper venue keeps no leverage setting: every order trades at its own. */
function venueSetsLeverage(deps: TradingDeps): boolean {
  return deps.accounts.venue !== 'paper';
}

async function decideAndPlace(deps: TradingDeps, request: OrderRequest, { account, existing, filters, priceMicros, holder, lease }: Placement): Promise<void> {
  // What the venue holds and has set for the symbol, read under the lock where one is taken: a
  // close is sized by it, an opening order takes its leverage.
  const readSetup = () => (request.reduceOnly || venueSetsLeverage(deps) ? account.exchange.symbolSetup(request.symbol) : Promise.resolve(undefined));
  let setup: SymbolSetup | undefined;
  let order = existing;
  if (!order) {
    setup = await readSetup();
    // A refusal returns the margin and says why, on every delivery: if a first attempt died
    // after releasing, this one tells.
    const refuse = async (reason: string, detail: string) => {
      await deps.margins.releaseReservation(request.signalId, reason);
      await publishOrderRejected(deps, request, reason, detail);
    };
    if (expired(deps, request.expiresAt)) return refuse('expired', `its signal expired at ${request.expiresAt}`);
    const plan = planOrderQuantity(request, filters, priceMicros, request.reduceOnly ? setup?.quantityAtoms : undefined);
    if (!plan.ok) return refuse(plan.reason, plan.detail);
    const fit = !request.reduceOnly && setup ? fitToVenueLeverage(request, plan.quantityAtoms, setup, filters, priceMicros) : { ok: true as const, leverage: request.leverage, quantityAtoms: plan.quantityAtoms };
    if (!fit.ok) return refuse(fit.reason, fit.detail);
    const netting = account.shared ? await nettingRefusal(deps, request, fit.quantityAtoms) : undefined;
    if (netting) return refuse('account_netting', netting);
    const claim = await deps.trades.claimForOrder(request, { venue: deps.accounts.venue, quantityAtoms: fit.quantityAtoms, leverage: fit.leverage, lease: lease() });
    if (!claim.claimed) {
      log.warn('order not placed', { orderId: request.orderId, reason: claim.reason });
      return;
    }
    order = claim.order;
  }

  if (order.placementLease?.holder !== holder) {
    // A redelivery, a duplicate, or a claim another delivery made first: place only with the lease.
    const taken = await deps.trades.leasePlacement(order.orderId, lease());
    if (taken.kind === 'busy') throw new RetryLater(`order ${order.orderId} is being placed by another delivery until ${taken.until}`);
    if (taken.kind === 'missing') return;
    if (taken.kind === 'settled') {
      if (taken.order.status === 'rejected') await publishOrderRejected(deps, request, 'rejected', taken.order.reason ?? '');
      return;
    }
    order = taken.order;
    // An earlier placement may have executed: the venue's word first, and nothing sent if it has the order.
    if (taken.askFirst && (await syncOrderFromVenue(deps, order)) !== undefined) return;
    // Decided earlier: what the venue holds now, which may have changed since.
    setup = await readSetup();
  }
  const orderId = order.orderId;
  const end = async (status: 'expired' | 'rejected', reason: string, detail: string) => {
    // Never sent, or the venue has said it has no such order: the order ends here and returns its margin.
    await applyAndPublish(deps, { orderId, terminal: { status, finalFilledAtoms: 0, reason: detail } });
    await publishOrderRejected(deps, request, reason, detail);
  };
  if (expired(deps, order.expiresAt)) return end('expired', 'expired', `its signal expired at ${order.expiresAt}`);
  if (!order.reduceOnly && setup && heldAtOtherLeverage(setup, order.leverage)) {
    // A position opened at another leverage since the decision: placing would change its margin, or be refused.
    return end('rejected', 'leverage_mismatch', `the account now holds ${order.symbol} at ${setup.leverage}×, not the order's ${order.leverage}×`);
  }

  let placed: ExchangeOrder;
  const keys = { orderId: order.orderId, signalId: request.signalId, agentId: order.agentId, symbol: order.symbol, side: order.side, venue: deps.accounts.venue };
  const sentAt = performance.now();
  try {
    placed = await account.exchange.placeOrder({
      clientOrderId: order.orderId,
      symbol: order.symbol,
      side: order.side,
      type: order.type,
      quantity: atomsToQuantity(order.quantityAtoms),
      reduceOnly: order.reduceOnly,
      leverage: order.leverage,
      ...(setup ? { venueSetup: setup } : {}),
    });
  } catch (error) {
    const venueLatencyMs = Math.round(performance.now() - sentAt);
    if (error instanceof ExchangeError && !error.retryable) {
      log.warn('venue refused order', { ...keys, venueLatencyMs, reason: error.reason, venueCode: error.venueCode, error });
      const detail = `${error.reason}: ${error.message}`;
      await applyAndPublish(deps, { orderId: order.orderId, terminal: { status: 'rejected', finalFilledAtoms: 0, reason: detail } });
      await publishOrderRejected(deps, request, error.reason, error.message);
      return;
    }
    // Unknown or busy: a redelivery (after this lease) asks the venue before sending anything.
    log.error('venue request failed; the order is retried', { ...keys, venueLatencyMs, reason: error instanceof ExchangeError ? error.reason : undefined, error });
    throw error;
  }
  const timing: PlacementTiming = {
    venueLatencyMs: Math.round(performance.now() - sentAt),
    placementLatencyMs: Math.max(0, Date.now() - Date.parse(request.createdAt)),
  };
  log.info('order placed', { ...keys, ...timing, status: placed.status, quantity: atomsToQuantity(order.quantityAtoms), executedQuantity: placed.executedQuantity });
  await syncOrderFromVenue(deps, order, placed, timing);
}
