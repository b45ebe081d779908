import { averageEntryMicros } from '../../shared/domain/positions.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RiskEvent } from '../../shared/domain/messages.js';
import { orderIdForSignal } from '../../shared/domain/messages.js';
import { TOPICS } from '../../triggers/manifest.js';
import { type PaperPath, paperPath } from '../support/paper-path.js';
import { makeSignal } from '../support/signals.js';
import { TopicTap, closeInOrder, waitUntil } from '../support/stack.js';
import { openTestOrder, seedTestAgent } from '../support/trading.js';
import { USD, notionalMicros } from '../../shared/domain/money.js';

/**
 * No ordering keys: messages of one agent arrive in any order and many at once, and what an
 * early message means is decided from stored state, through the relay on the real emulators.
 */

const path = paperPath('order', '2023-03-08T12:01:00Z');
let p: PaperPath;
let riskEvents: TopicTap<RiskEvent>;

beforeAll(async () => {
  p = await path.start();
  riskEvents = await TopicTap.open(p.pubsub, TOPICS.riskEvents);
});

afterAll(async () => {
  await closeInOrder(riskEvents, p);
});

describe('out-of-order messages, decided from state', () => {
  it('a close that arrives before its open has filled is refused before the venue (nothing to close there) and changes no margin; the open then fills', async () => {
    const agentId = 'qwen-7b';
    // Priced at the market, as a caller's price is never trusted above it (order-plan.ts).
    const price = p.venue.priceAt('BTCUSDT');
    const close = makeSignal({ signalId: 'ooo-close', agentId, side: 'SELL', reduceOnly: true, size: { type: 'quantity', quantity: '0.01', priceMicros: price }, leverage: 5 });
    const open = makeSignal({ signalId: 'ooo-open', agentId, side: 'BUY', size: { type: 'quantity', quantity: '0.01', priceMicros: price }, leverage: 5 });
    await p.publisher.publish(TOPICS.signals, close);
    await waitUntil('the close refused', async () => (await p.margins.reservationOf(close.signalId))?.status === 'released');
    expect(await p.margins.reservationOf(close.signalId)).toMatchObject({ marginMicros: 0, releaseReason: 'nothing_to_close' });
    expect(await p.trades.order(orderIdForSignal(close.signalId))).toBeUndefined();
    await riskEvents.waitForMessage('the risk event', (e) => e.type === 'order_rejected' && e.signalId === close.signalId && e.reason === 'nothing_to_close');
    expect(await p.margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 0, inUseMicros: 0, openSymbols: {}, positionSymbols: {} });

    await p.publisher.publish(TOPICS.signals, open);
    await waitUntil('the open position', async () => (await p.trades.position(agentId, 'BTCUSDT')).quantityAtoms === 1_000_000);
    const ledger = await p.margins.ledgerOf(agentId);
    expect(ledger).toMatchObject({ reservedMicros: 0, positionSymbols: { BTCUSDT: true }, openSymbols: {} });
    // The venue's margin of the fill: 0.01 × the fill's price (the paper venue's slippage on top of the price) / 5.
    const entry = averageEntryMicros(await p.trades.position(agentId, 'BTCUSDT'));
    expect(entry).toBeGreaterThan(price);
    expect(ledger.inUseMicros).toBe(Math.ceil(notionalMicros('0.01', entry) / 5));
  });

  it('an order update for an order not yet recorded is refused and changes nothing; after the claim it applies', async () => {
    const agentId = 'early-update-agent';
    await seedTestAgent(p.db, agentId);
    const early = { orderId: orderIdForSignal('early-1'), exchangeOrderId: 'venue-1', terminal: { status: 'canceled' as const, finalFilledAtoms: 0 } };
    expect(await p.trades.applyVenueFacts(early, 'broker:early-cancel')).toEqual({ outcome: 'unknown_order' });
    expect(await p.margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 0 });

    const { order } = await openTestOrder(p.db, p.trades, { agentId, signalId: 'early-1', quantity: '0.01', quantityAtoms: 1_000_000, priceUsd: 20_000 });
    expect(order.orderId).toBe(early.orderId);
    expect(await p.margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 40 * USD });
    // The broker retries the same event: now it applies, once, and returns the margin.
    expect((await p.trades.applyVenueFacts(early, 'broker:early-cancel')).outcome).toBe('applied');
    // Once more, the same event: a sender's retry, answered as a duplicate, changing nothing.
    expect((await p.trades.applyVenueFacts(early, 'broker:early-cancel')).outcome).toBe('duplicate');
    expect(await p.trades.order(order.orderId)).toMatchObject({ status: 'canceled', releasedMicros: 40 * USD });
    expect(await p.margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 0, openSymbols: {} });
  });

  it('a cancel that arrives before the fills it follows still leaves exactly the fills’ margin in use', async () => {
    const agentId = 'cancel-first-agent';
    await seedTestAgent(p.db, agentId);
    const { order } = await openTestOrder(p.db, p.trades, { agentId, signalId: 'cancel-first', quantity: '0.01', quantityAtoms: 1_000_000, priceUsd: 20_000 });
    const fill = (tradeId: string, atoms: number, time: number) => ({
      orderId: order.orderId,
      fill: { tradeId, quantityAtoms: atoms, priceMicros: 20_000 * USD, feeMicros: 0, time },
    });
    // The venue filled 0.004 in two trades, then canceled the rest; the cancel arrives first.
    await p.trades.applyVenueFacts({ orderId: order.orderId, terminal: { status: 'canceled', finalFilledAtoms: 400_000 } });
    expect(await p.margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 16 * USD, inUseMicros: 0 });
    await Promise.all([p.trades.applyVenueFacts(fill('t2', 150_000, 2)), p.trades.applyVenueFacts(fill('t1', 250_000, 1))]);
    expect(await p.margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 0, inUseMicros: 16 * USD, openSymbols: {}, positionSymbols: { BTCUSDT: true } });
    expect(await p.trades.order(order.orderId)).toMatchObject({ status: 'canceled', filledAtoms: 400_000, releasedMicros: 24 * USD });
  });
});
