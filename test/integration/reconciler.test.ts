import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USD } from '../../shared/domain/money.js';
import { venueAccounts } from '../../shared/exchange/accounts.js';
import { BinanceFuturesClient } from '../../shared/exchange/binance-futures/client.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { MarginLedger } from '../../shared/firestore/margin-ledger.js';
import { TradeLedger } from '../../shared/firestore/trade-ledger.js';
import { pubsubFor } from '../../shared/pubsub/client.js';
import { JsonPublisher } from '../../shared/pubsub/publisher.js';
import type { TradingDeps } from '../../shared/trading/deps.js';
import { reconcile } from '../../shared/trading/reconcile.js';
import { TOPICS } from '../../triggers/manifest.js';
import type { MarketStandIn } from '../../scripts/lib/market-standin.js';
import type { LocalPushDelivery } from '../../scripts/lib/provision.js';
import { placeHeldOrder, startReplayAt } from '../support/market.js';
import { makeSignal } from '../support/signals.js';
import { closeInOrder, deliverPushTo, isolatedProject } from '../support/stack.js';
import { openTestOrder, seedTestAgent } from '../support/trading.js';

/** The reconciler against the stand-in venue: what the webhooks missed, it applies; once. */

const projectId = isolatedProject('reconcile');
const db = firestoreFor(projectId);
const KEY = 'reconcile-key';
const SECRET = 'reconcile-secret-0123456789';
const options = { reservationTtlMs: 300_000, placingGraceMs: 120_000, openOrderTtlMs: 300_000 };
let venue: MarketStandIn;
let deps: TradingDeps;
let exchange: BinanceFuturesClient;

let delivery: LocalPushDelivery | undefined;

beforeAll(async () => {
  venue = await startReplayAt('2023-03-08T12:01:00Z', { apiKey: KEY, apiSecret: SECRET });
  delivery = await deliverPushTo(pubsubFor(projectId), {});
  exchange = new BinanceFuturesClient({ baseUrl: venue.url, apiKey: KEY, apiSecret: SECRET });
  deps = {
    accounts: venueAccounts('binance', () => false, () => exchange),
    trades: new TradeLedger(db),
    margins: new MarginLedger(db, { maxSymbolsPerAgent: 50 }),
    publisher: new JsonPublisher(pubsubFor(projectId)),
    topics: TOPICS,
  };
});

afterAll(async () => {
  await closeInOrder(delivery, venue);
});

describe('reconciler', () => {
  it('applies a fill whose webhook was dropped, then a cancel, and a second run changes nothing', async () => {
    const agentId = 'reconcile-agent';
    await seedTestAgent(db, agentId);
    // 0.01 BTC at 20,000, 5×: 40 USD reserved. The venue cannot fill the order at once.
    const { order } = await openTestOrder(db, deps.trades, { agentId, signalId: 'rec-1', quantity: '0.01', quantityAtoms: 1_000_000, priceUsd: 20_000 });
    await placeHeldOrder(venue, exchange, order.orderId);
    venue.fill(order.orderId, '0.004', 20_000 * USD); // its webhook never arrives

    const first = await reconcile(deps, options);
    expect(first).toMatchObject({ ordersChecked: 1, factsApplied: 1 }); // the fill, carrying the venue id
    expect(await deps.trades.order(order.orderId)).toMatchObject({ status: 'partially_filled', filledAtoms: 400_000, exchangeOrderId: expect.any(String) });
    expect(await deps.margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 24 * USD, inUseMicros: 16 * USD });
    expect(await reconcile(deps, options)).toMatchObject({ factsApplied: 0 });

    venue.cancel(order.orderId);
    expect(await reconcile(deps, options)).toMatchObject({ factsApplied: 1 });
    expect(await deps.trades.order(order.orderId)).toMatchObject({ status: 'canceled', releasedMicros: 24 * USD });
    expect(await deps.margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 0, inUseMicros: 16 * USD });
    expect(await reconcile(deps, options)).toMatchObject({ ordersChecked: 0, factsApplied: 0 });
    expect(await deps.margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 0, inUseMicros: 16 * USD });
  });

  it('cancels an order left open at the venue past its time and returns the margin of what never filled, once', async () => {
    const agentId = 'expiry-agent';
    await seedTestAgent(db, agentId);
    const sixMinutesAgo = () => new Date(Date.now() - 360_000);
    const { order } = await openTestOrder(db, new TradeLedger(db, sixMinutesAgo), { agentId, signalId: 'exp-1', quantity: '0.01', quantityAtoms: 1_000_000, priceUsd: 20_000 });
    await placeHeldOrder(venue, exchange, order.orderId);
    venue.fill(order.orderId, '0.004', 20_000 * USD);

    expect(await reconcile(deps, options)).toMatchObject({ ordersChecked: 1, factsApplied: 1, ordersExpired: 1 });
    expect(await deps.trades.order(order.orderId)).toMatchObject({ status: 'canceled', filledAtoms: 400_000, releasedMicros: 24 * USD });
    expect(await deps.margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 0, inUseMicros: 16 * USD });
    expect(await reconcile(deps, options)).toMatchObject({ ordersChecked: 0, factsApplied: 0, ordersExpired: 0 });
  });

  it('releases a stale reservation and ends an order that never reached the venue, once', async () => {
    const agentId = 'stale-agent';
    await seedTestAgent(db, agentId);
    const tenMinutesAgo = () => new Date(Date.now() - 600_000);
    const oldMargins = new MarginLedger(db, { maxSymbolsPerAgent: 50, clock: tenMinutesAgo });
    await oldMargins.reserveMargin(makeSignal({ agentId, signalId: 'stale-1', size: { type: 'notional', notionalMicros: 100 * USD }, leverage: 2 }));
    const { order } = await openTestOrder(db, new TradeLedger(db, tenMinutesAgo), { agentId, signalId: 'lost-1', quantity: '0.01', quantityAtoms: 1_000_000, priceUsd: 20_000 });
    expect(await deps.margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 90 * USD });

    // While its signal lives a redelivery may still place it: the order is left alone.
    expect(await reconcile(deps, options)).toMatchObject({ reservationsReleased: 1, ordersNeverPlaced: 0 });
    expect(await deps.trades.order(order.orderId)).toMatchObject({ status: 'placing' });

    // Once its signal has expired (its lease too), nothing can place it any more: it ends.
    const afterExpiry = { ...deps, clock: () => new Date(Date.now() + 11 * 60_000) };
    const first = await reconcile(afterExpiry, options);
    expect(first).toMatchObject({ ordersNeverPlaced: 1 });
    expect(await deps.margins.reservationOf('stale-1')).toMatchObject({ status: 'released' });
    expect(await deps.trades.order(order.orderId)).toMatchObject({ status: 'rejected', reason: 'never reached the venue' });
    expect(await deps.margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 0, inUseMicros: 0, openSymbols: {} });

    expect(await reconcile(afterExpiry, options)).toMatchObject({ reservationsReleased: 0, ordersNeverPlaced: 0, factsApplied: 0 });
  });
});
