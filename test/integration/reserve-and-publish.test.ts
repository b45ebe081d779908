import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderIdForSignal, type OrderRequest, type RiskEvent, type TradeSignal } from '../../shared/domain/messages.js';
import { USD, notionalMicros } from '../../shared/domain/money.js';
import { marginRequiredMicros } from '../../shared/domain/margin.js';
import { BinanceFuturesClient } from '../../shared/exchange/binance-futures/client.js';
import type { MarketStandIn } from '../../scripts/lib/market-standin.js';
import { startReplayAt } from '../support/market.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { COLLECTIONS } from '../../shared/firestore/collections.js';
import { MarginLedger } from '../../shared/firestore/margin-ledger.js';
import { pubsubFor } from '../../shared/pubsub/client.js';
import { JsonPublisher } from '../../shared/pubsub/publisher.js';
import { RetryLater } from '../../shared/pubsub/push-handler.js';
import { type ReservationDeps, reserveAndPublish } from '../../shared/reservations/reserve-and-publish.js';
import { TOPICS } from '../../triggers/manifest.js';
import { makeSignal } from '../support/signals.js';
import { TopicTap, isolatedProject, settle, waitUntil } from '../support/stack.js';
import { seedTestAgent } from '../support/trading.js';

/**
 * reserveAndPublish on the emulators: the margin ledger in Firestore and the real JsonPublisher
 * on Pub/Sub. A "delivery" is one call, as margin-reservation's push handler makes one per
 * (re)delivered message.
 */

const projectId = isolatedProject('rnp');
const db = firestoreFor(projectId);
const pubsub = pubsubFor(projectId);
const REDRIVE_AFTER_MS = 60_000;
let orders: TopicTap<OrderRequest>;
let riskEvents: TopicTap<RiskEvent>;
const taps: TopicTap<unknown>[] = [];

const ALREADY_EXISTS = 6;
const NOT_FOUND = 5;
async function createTopic(client: typeof pubsub, name: string): Promise<void> {
  await client.createTopic(name).catch((error: { code?: number }) => {
    if (error.code !== ALREADY_EXISTS) throw error;
  });
}

let venue: MarketStandIn;

function deps(overrides: Partial<ReservationDeps> = {}): ReservationDeps {
  return {
    ledger: new MarginLedger(db, { maxSymbolsPerAgent: 50 }),
    market: new BinanceFuturesClient({ baseUrl: venue.url }),
    publisher: new JsonPublisher(pubsub),
    topics: TOPICS,
    redriveAfterMs: REDRIVE_AFTER_MS,
    ...overrides,
  };
}

/** The ledger and the reservation as stored, to compare before and after a redelivery. */
async function stored(agentId: string, signalId: string) {
  const [ledger, reservation] = await Promise.all([
    db.collection(COLLECTIONS.marginLedgers).doc(agentId).get(),
    db.collection(COLLECTIONS.reservations).doc(signalId).get(),
  ]);
  return { ledger: ledger.data(), reservation: reservation.data() };
}

const sent = <T extends { signalId: string }>(tap: TopicTap<T>, signal: TradeSignal) => tap.messages.filter((m) => m.data.signalId === signal.signalId);

function expectedOrder(signal: TradeSignal, decidedAt: string): OrderRequest {
  return {
    orderId: orderIdForSignal(signal.signalId),
    signalId: signal.signalId,
    agentId: signal.agentId,
    symbol: 'BTCUSDT',
    side: 'BUY',
    type: 'MARKET',
    size: { type: 'notional', notionalMicros: 100 * USD },
    leverage: 2,
    reduceOnly: false,
    notionalMicros: 100 * USD,
    marginMicros: 50 * USD,
    createdAt: decidedAt,
    expiresAt: signal.expiresAt,
  };
}

beforeAll(async () => {
  venue = await startReplayAt('2023-03-08T12:01:00Z');
  await createTopic(pubsub, TOPICS.orders);
  await createTopic(pubsub, TOPICS.riskEvents);
  orders = await TopicTap.open(pubsub, TOPICS.orders);
  riskEvents = await TopicTap.open(pubsub, TOPICS.riskEvents);
  taps.push(orders, riskEvents);
});

afterAll(async () => {
  for (const tap of taps) await tap.close();
  await venue?.close();
});

describe('reserveAndPublish', () => {
  it('values a quantity-sized signal at the mark, never at the price its sender wrote', async () => {
    const agent = await seedTestAgent(db, 'rnp-mark');
    // 0.05 BTC "at 20 USD": 1 USD of notional as written; at the mark (about 22,000) about 1,100.
    const signal = makeSignal({ agentId: agent.agentId, signalId: 'rnp-mark-1', size: { type: 'quantity', quantity: '0.05', priceMicros: 20 * USD }, leverage: 2 });
    const mark = (await new BinanceFuturesClient({ baseUrl: venue.url }).markPrice('BTCUSDT')).priceMicros;
    expect(mark).toBeGreaterThan(20_000 * USD);
    const { record } = await reserveAndPublish(deps(), signal);
    expect(record).toMatchObject({ status: 'reserved', notionalMicros: notionalMicros('0.05', mark), marginMicros: marginRequiredMicros(notionalMicros('0.05', mark), 2) });
    expect((await orders.waitForMessage('its order', (o) => o.signalId === signal.signalId)).data).toMatchObject({ notionalMicros: notionalMicros('0.05', mark) });
  });

  it('decides nothing on a quantity-sized signal while the mark cannot be had: the delivery is retried', async () => {
    const agent = await seedTestAgent(db, 'rnp-nomark');
    const signal = makeSignal({ agentId: agent.agentId, signalId: 'rnp-nomark-1', size: { type: 'quantity', quantity: '0.01', priceMicros: 22_000 * USD }, leverage: 2 });
    venue.outage('/fapi/v1/premiumIndex', 503);
    try {
      await expect(reserveAndPublish(deps(), signal)).rejects.toBeInstanceOf(RetryLater);
      expect(await stored(agent.agentId, signal.signalId)).toMatchObject({ reservation: undefined });
    } finally {
      venue.outage('/fapi/v1/premiumIndex', undefined);
    }
    expect((await reserveAndPublish(deps(), signal)).record).toMatchObject({ status: 'reserved' });
  });

  it('decides a signal delivered twice once, and publishes its order once', async () => {
    const agent = await seedTestAgent(db, 'rnp-twice');
    const signal = makeSignal({ agentId: agent.agentId, signalId: 'rnp-twice-1', size: { type: 'notional', notionalMicros: 100 * USD }, leverage: 2 });
    const d = deps();

    const first = await reserveAndPublish(d, signal);
    expect(first.decidedNow).toBe(true);
    expect(first.record).toMatchObject({ status: 'reserved', orderId: orderIdForSignal(signal.signalId), marginMicros: 50 * USD });
    const second = await reserveAndPublish(d, signal);
    expect(second.decidedNow).toBe(false);
    expect(second.record).toMatchObject({ status: 'reserved', orderId: first.record.orderId, decidedAt: first.record.decidedAt });
    expect(second.record.publishedAt).toEqual(expect.any(String));

    await waitUntil('the order', () => sent(orders, signal).length > 0);
    const published = await settle(() => sent(orders, signal));
    expect(published).toEqual([{ data: expectedOrder(signal, first.record.decidedAt), attributes: { signalId: signal.signalId, agentId: agent.agentId } }]);
    expect((await d.ledger.ledgerOf(agent.agentId)).reservedMicros).toBe(50 * USD);
  });

  it('refuses a redelivery of the id with other terms (signal_conflict): a reduce-only close never goes out as a 10x buy', async () => {
    const agent = await seedTestAgent(db, 'rnp-conflict');
    const close = makeSignal({ agentId: agent.agentId, signalId: 'rnp-conflict-1', side: 'SELL', size: { type: 'notional', notionalMicros: 100 * USD }, leverage: 2, reduceOnly: true });
    const d = deps({ clock: () => new Date(Date.now() + 10 * REDRIVE_AFTER_MS) });
    await reserveAndPublish(deps(), close);
    await waitUntil('the close', () => sent(orders, close).length > 0);
    const before = await stored(agent.agentId, close.signalId);

    const otherTerms = { ...close, side: 'BUY' as const, leverage: 10, reduceOnly: false, size: { type: 'notional' as const, notionalMicros: 5_000 * USD } };
    const refused = await reserveAndPublish(d, otherTerms);
    expect(refused).toMatchObject({ conflict: true, decidedNow: false });
    expect(await stored(agent.agentId, close.signalId)).toEqual(before);
    // Only the close went out, on its own terms, even after the redrive window.
    const published = await settle(() => sent(orders, close));
    expect(published.map((m) => [m.data.side, m.data.reduceOnly, m.data.leverage])).toEqual([['SELL', true, 2]]);
  });

  it('builds a republished order from the stored decision, never from the delivery carrying it', async () => {
    const agent = await seedTestAgent(db, 'rnp-stored');
    const signal = makeSignal({ agentId: agent.agentId, signalId: 'rnp-stored-1', size: { type: 'notional', notionalMicros: 100 * USD }, leverage: 2 });
    const d = deps();
    const first = await reserveAndPublish(d, signal);
    // A resend restamped by its producer (same terms, another time and confidence) is the same signal.
    const restamped = { ...signal, confidence: 0.99, createdAt: new Date(Date.now() + 1_000).toISOString() };
    expect(await reserveAndPublish(d, restamped)).toMatchObject({ decidedNow: false, record: { decidedAt: first.record.decidedAt } });
    await waitUntil('the order', () => sent(orders, signal).length > 0);
    expect((await settle(() => sent(orders, signal))).map((m) => m.data)).toEqual([expectedOrder(signal, first.record.decidedAt)]);
  });

  it('defers a redelivery that arrives while the first delivery is still publishing, and lets it pass once published', async () => {
    const agent = await seedTestAgent(db, 'rnp-together');
    const signal = makeSignal({ agentId: agent.agentId, signalId: 'rnp-together-1', size: { type: 'notional', notionalMicros: 100 * USD }, leverage: 2 });
    const d = deps();

    // Both deliveries join one ledger batch (commits are paced): the second sees the first's
    // decision, not yet published, and is sent back to Pub/Sub for later.
    const [first, second] = await Promise.allSettled([reserveAndPublish(d, signal), reserveAndPublish(d, signal)]);
    expect(first).toMatchObject({ status: 'fulfilled', value: { decidedNow: true, record: { status: 'reserved' } } });
    expect(second.status).toBe('rejected');
    expect((second as PromiseRejectedResult).reason).toBeInstanceOf(RetryLater);

    const later = await reserveAndPublish(d, signal); // Pub/Sub's retry of the deferred delivery
    expect(later.decidedNow).toBe(false);
    await waitUntil('the order', () => sent(orders, signal).length > 0);
    expect(await settle(() => sent(orders, signal).map((m) => m.data.orderId))).toEqual([orderIdForSignal(signal.signalId)]);
    expect((await d.ledger.ledgerOf(agent.agentId)).reservedMicros).toBe(50 * USD);
  });

  it('changes neither the ledger nor the reservation, and publishes nothing, on a redelivery after the outcome was published', async () => {
    const agent = await seedTestAgent(db, 'rnp-after');
    const signal = makeSignal({ agentId: agent.agentId, signalId: 'rnp-after-1', size: { type: 'notional', notionalMicros: 100 * USD }, leverage: 2 });
    const d = deps();
    await reserveAndPublish(d, signal);
    await waitUntil('the order', () => sent(orders, signal).length > 0);
    const before = await stored(agent.agentId, signal.signalId);
    expect(before.ledger).toMatchObject({ reservedMicros: 50 * USD, openSymbols: { BTCUSDT: 1 } });
    expect(before.reservation?.publishedAt).toEqual(expect.any(String));

    // Redelivered long after: past the redrive window too.
    const redelivery = await reserveAndPublish(deps({ clock: () => new Date(Date.now() + 10 * REDRIVE_AFTER_MS) }), signal);
    expect(redelivery.decidedNow).toBe(false);
    expect(await stored(agent.agentId, signal.signalId)).toEqual(before);
    expect(await settle(() => sent(orders, signal).length)).toBe(1);
  });

  it('publishes a rejection once, and counts its breach once, however often the signal is redelivered', async () => {
    const agent = await seedTestAgent(db, 'rnp-reject'); // max leverage 10
    const signal = makeSignal({ agentId: agent.agentId, signalId: 'rnp-reject-1', leverage: 20 });
    const d = deps();
    const first = await reserveAndPublish(d, signal);
    expect(first).toMatchObject({ decidedNow: true, record: { status: 'rejected', reason: 'leverage_exceeded' } });
    const before = await stored(agent.agentId, signal.signalId);
    expect(before.ledger).toMatchObject({ reservedMicros: 0, breaches: { leverage_exceeded: 1 } });
    for (let i = 0; i < 3; i += 1) expect((await reserveAndPublish(d, signal)).decidedNow).toBe(false);
    expect(await stored(agent.agentId, signal.signalId)).toEqual(before);

    await waitUntil('the risk event', () => sent(riskEvents, signal).length > 0);
    const events = await settle(() => sent(riskEvents, signal));
    expect(events).toHaveLength(1);
    expect(events[0]?.data).toEqual({
      type: 'signal_rejected',
      eventId: `rejected:${signal.signalId}`,
      signalId: signal.signalId,
      agentId: agent.agentId,
      symbol: 'BTCUSDT',
      reason: 'leverage_exceeded',
      detail: first.record.detail,
      occurredAt: first.record.decidedAt,
    });
  });

  it('publishes, on a redelivery past the redrive window, an outcome whose first publish failed', async () => {
    const agent = await seedTestAgent(db, 'rnp-failed');
    const signal = makeSignal({ agentId: agent.agentId, signalId: 'rnp-failed-1', size: { type: 'notional', notionalMicros: 100 * USD }, leverage: 2 });
    // A Pub/Sub project whose `orders` topic does not exist yet: the real publisher's publish fails.
    const latePubsub = pubsubFor(`${projectId}-late`);
    const ledger = new MarginLedger(db, { maxSymbolsPerAgent: 50 });
    const d = deps({ ledger, publisher: new JsonPublisher(latePubsub) });

    await expect(reserveAndPublish(d, signal)).rejects.toMatchObject({ code: NOT_FOUND });
    const afterFailure = await stored(agent.agentId, signal.signalId);
    expect(afterFailure.ledger).toMatchObject({ reservedMicros: 50 * USD });
    expect(afterFailure.reservation).toMatchObject({ status: 'reserved', orderId: orderIdForSignal(signal.signalId) });
    expect(afterFailure.reservation?.publishedAt).toBeUndefined();

    await createTopic(latePubsub, TOPICS.orders);
    const lateOrders = await TopicTap.open<OrderRequest>(latePubsub, TOPICS.orders);
    taps.push(lateOrders);

    // Redelivered at once: the outcome may still be on its way from the delivery that decided it.
    await expect(reserveAndPublish(d, signal)).rejects.toBeInstanceOf(RetryLater);
    expect(await stored(agent.agentId, signal.signalId)).toEqual(afterFailure);

    // Redelivered after the redrive window: this delivery publishes in the first one's place.
    const decidedAt = String(afterFailure.reservation?.decidedAt);
    const redelivery = await reserveAndPublish({ ...d, clock: () => new Date(Date.parse(decidedAt) + REDRIVE_AFTER_MS) }, signal);
    expect(redelivery).toMatchObject({ decidedNow: false, record: { status: 'reserved', decidedAt } });
    await waitUntil('the order', () => sent(lateOrders, signal).length > 0);
    expect(await settle(() => sent(lateOrders, signal))).toEqual([
      { data: expectedOrder(signal, decidedAt), attributes: { signalId: signal.signalId, agentId: agent.agentId } },
    ]);
    const afterRedrive = await stored(agent.agentId, signal.signalId);
    expect(afterRedrive.ledger).toEqual(afterFailure.ledger);
    expect(afterRedrive.reservation).toEqual({ ...afterFailure.reservation, publishedAt: expect.any(String) });

    // And once published, a further redelivery publishes nothing more.
    expect((await reserveAndPublish(d, signal)).decidedNow).toBe(false);
    expect(await settle(() => sent(lateOrders, signal).length)).toBe(1);
  });
});
