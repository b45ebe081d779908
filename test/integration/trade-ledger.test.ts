import { describe, expect, it } from 'vitest';
import type { VenueFacts } from '../../shared/domain/orders.js';
import { ATOMS_PER_UNIT } from '../../shared/domain/quantity.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { MarginLedger } from '../../shared/firestore/margin-ledger.js';
import { TradeLedger } from '../../shared/firestore/trade-ledger.js';
import { isolatedProject } from '../support/stack.js';
import { openTestOrder, seedTestAgent, tradingStateWithoutIds } from '../support/trading.js';
import { USD } from '../../shared/domain/money.js';

/** Venue facts applied to orders, positions and margin on the Firestore emulator. */

const db = firestoreFor(isolatedProject('trades'));
const trades = new TradeLedger(db);
const margins = new MarginLedger(db, { maxSymbolsPerAgent: 50 });
const BTC = ATOMS_PER_UNIT; // atoms of one BTC

function fill(orderId: string, tradeId: string, atoms: number, priceUsd: number, feeMicros: number, time: number): VenueFacts {
  return { orderId, fill: { tradeId, quantityAtoms: atoms, priceMicros: priceUsd * USD, feeMicros, time } };
}

describe('TradeLedger', () => {
  it("3 partial fills, then a cancel of the rest: margin in use is the venue's for the filled quantity, the rest is released", async () => {
    const agentId = 'partial-agent';
    await seedTestAgent(db, agentId);
    // 0.005 BTC at 20,000 USD, 5× leverage: 20 USD reserved.
    const { order } = await openTestOrder(db, trades, { agentId, signalId: 'partial-1', quantity: '0.005', quantityAtoms: BTC / 200, priceUsd: 20_000 });
    expect(await margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 20 * USD, inUseMicros: 0 });
    for (const [i, price] of [20_000, 20_010, 20_020].entries()) {
      await trades.applyVenueFacts(fill(order.orderId, `t${i}`, BTC / 1000, price, 10_000, 1_000 + i));
    }
    // Each fill consumes 4 USD of the reservation and puts into use its venue margin: 4, 4.002 and 4.004 USD.
    expect(await margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 8 * USD, inUseMicros: 12_006_000 });
    const canceled = await trades.applyVenueFacts({ orderId: order.orderId, terminal: { status: 'canceled', finalFilledAtoms: (3 * BTC) / 1000 } });
    expect(canceled.order).toMatchObject({ status: 'canceled', filledAtoms: (3 * BTC) / 1000, releasedMicros: 8 * USD });
    expect(await margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 0, inUseMicros: 12_006_000, feesMicros: 30_000, realizedPnlMicros: -30_000, openSymbols: {}, positionSymbols: { BTCUSDT: true } });
    const position = await trades.position(agentId, 'BTCUSDT');
    expect(position).toMatchObject({ quantityAtoms: (3 * BTC) / 1000, marginInUseMicros: 12_006_000, costBasis: String((BTC / 1000) * (60_030 * USD)) });
    // The cancel again, and a fill again: nothing changes.
    expect((await trades.applyVenueFacts({ orderId: order.orderId, terminal: { status: 'canceled', finalFilledAtoms: (3 * BTC) / 1000 } })).outcome).toBe('duplicate');
    expect((await trades.applyVenueFacts(fill(order.orderId, 't1', BTC / 1000, 20_010, 10_000, 1_001))).outcome).toBe('duplicate');
    expect(await margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 0, inUseMicros: 12_006_000 });
  });

  it('the same fills delivered 3 times each in shuffled order give exactly the state of one in-order delivery', async () => {
    async function scenario(agentId: string) {
      await seedTestAgent(db, agentId);
      const open = await openTestOrder(db, trades, { agentId, signalId: `${agentId}-open`, quantity: '0.01', quantityAtoms: BTC / 100, priceUsd: 20_000 });
      const close = await openTestOrder(db, trades, { agentId, signalId: `${agentId}-close`, side: 'SELL', reduceOnly: true, quantity: '0.01', quantityAtoms: BTC / 100, priceUsd: 21_000 });
      const facts: VenueFacts[] = [
        fill(open.order.orderId, 'a1', BTC / 400, 20_000, 5_000, 10),
        fill(open.order.orderId, 'a2', BTC / 400, 20_100, 5_025, 11),
        fill(open.order.orderId, 'a3', BTC / 200, 20_200, 10_100, 12),
        { orderId: open.order.orderId, terminal: { status: 'filled', finalFilledAtoms: BTC / 100 } },
        fill(close.order.orderId, 'b1', BTC / 250, 21_000, 8_400, 20),
        fill(close.order.orderId, 'b2', (6 * BTC) / 1000, 20_900, 12_540, 21),
        { orderId: close.order.orderId, terminal: { status: 'filled', finalFilledAtoms: BTC / 100 } },
      ];
      return { facts, orderIds: [open.order.orderId, close.order.orderId] };
    }
    const inOrder = await scenario('inorder-agent');
    for (const f of inOrder.facts) await trades.applyVenueFacts(f);

    const shuffled = await scenario('shuffled-agent');
    const deliveries = [...shuffled.facts, ...shuffled.facts, ...shuffled.facts];
    // A fixed, thorough shuffle: reversed, then interleaved from both ends.
    const mixed = deliveries.reverse().flatMap((f, i, all) => (i < all.length / 2 ? [f, all[all.length - 1 - i] as VenueFacts] : []));
    // A few at once, as concurrent webhook deliveries would arrive, then the rest one by one.
    await Promise.all(mixed.slice(0, 3).map((f) => trades.applyVenueFacts(f)));
    for (const f of mixed.slice(3)) await trades.applyVenueFacts(f);

    const expected = await tradingStateWithoutIds(db, trades, 'inorder-agent', inOrder.orderIds);
    expect(await tradingStateWithoutIds(db, trades, 'shuffled-agent', shuffled.orderIds)).toEqual(expected);
    // Closed flat: all margin back, PnL = (21,000·0.004 + 20,900·0.006) − (20,000·0.0025 + 20,100·0.0025 + 20,200·0.005) − fees.
    expect(expected.ledger).toMatchObject({ reservedMicros: 0, inUseMicros: 0, positionSymbols: {} });
    expect(expected.position).toMatchObject({ quantityAtoms: 0, marginInUseMicros: 0 });
    const gross = (21_000 * 0.004 + 20_900 * 0.006 - (20_000 * 0.0025 + 20_100 * 0.0025 + 20_200 * 0.005)) * USD;
    expect(expected.ledger.realizedPnlMicros).toBe(Math.round(gross) - (5_000 + 5_025 + 10_100 + 8_400 + 12_540));
  });

  it('answers a retried event as a duplicate, refuses other facts under the same event key, and applies nothing for an unknown order', async () => {
    const agentId = 'replay-agent';
    await seedTestAgent(db, agentId);
    const { order } = await openTestOrder(db, trades, { agentId, signalId: 'replay-1', quantity: '0.001', quantityAtoms: BTC / 1000, priceUsd: 20_000 });
    const facts = fill(order.orderId, 'r1', BTC / 1000, 20_000, 0, 5);
    expect((await trades.applyVenueFacts(facts, 'broker:evt-1')).outcome).toBe('applied');
    const applied = await trades.position(agentId, 'BTCUSDT');
    // The sender retrying the same event: a duplicate, nothing changes.
    expect((await trades.applyVenueFacts(facts, 'broker:evt-1')).outcome).toBe('duplicate');
    // Other facts under a key already used: a replay.
    expect((await trades.applyVenueFacts(fill(order.orderId, 'r2', BTC / 1000, 21_000, 0, 6), 'broker:evt-1')).outcome).toBe('replayed');
    expect(await trades.position(agentId, 'BTCUSDT')).toEqual(applied);
    expect((await trades.applyVenueFacts({ ...facts, orderId: 'sph-nope' })).outcome).toBe('unknown_order');
  });
});
