import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AGENTS } from '../../shared/domain/agents.js';
import type { RiskEvent } from '../../shared/domain/messages.js';
import { orderIdForSignal } from '../../shared/domain/messages.js';
import { seedAgentProfiles } from '../../shared/firestore/agent-profiles.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { MarginLedger } from '../../shared/firestore/margin-ledger.js';
import { TradeLedger } from '../../shared/firestore/trade-ledger.js';
import { pubsubFor } from '../../shared/pubsub/client.js';
import { JsonPublisher } from '../../shared/pubsub/publisher.js';
import { TOPICS } from '../../triggers/manifest.js';
import type { MarketStandIn } from '../../scripts/lib/market-standin.js';
import { type LocalPushDelivery, provisionPubSub } from '../../scripts/lib/provision.js';
import { startReplayAt } from '../support/market.js';
import { makeSignal } from '../support/signals.js';
import { type ServedFunction, TopicTap, isolatedProject, serveFunction, waitUntil } from '../support/stack.js';
import { openTestOrder, seedTestAgent } from '../support/trading.js';

/**
 * No ordering keys: messages of one agent arrive in any order and many at once, and what an
 * early message means is decided from stored state, through the relay on the real emulators.
 */

const projectId = isolatedProject('order');
const db = firestoreFor(projectId);
const pubsub = pubsubFor(projectId);
const publisher = new JsonPublisher(pubsub);
const margins = new MarginLedger(db, { maxSymbolsPerAgent: 50 });
const trades = new TradeLedger(db);
const USD = 1_000_000;
let venue: MarketStandIn;
let riskEvents: TopicTap<RiskEvent>;
const served: ServedFunction[] = [];
let delivery: LocalPushDelivery | undefined;

beforeAll(async () => {
  venue = await startReplayAt('2023-03-08T12:01:00Z');
  Object.assign(process.env, { MARKET_DATA_URL: venue.url, ENABLE_PAPER_TRADING: 'true', PAPER_SLIPPAGE_BPS: '5', PAPER_TAKER_FEE_PPM: '500' });
  await seedAgentProfiles(db, DEFAULT_AGENTS);
  served.push(await serveFunction(() => import('../../functions/margin-reservation/index.js'), 'marginReservation'));
  served.push(await serveFunction(() => import('../../functions/order-router/index.js'), 'orderRouter'));
  const [reservation, router] = served as [ServedFunction, ServedFunction];
  delivery = await provisionPubSub(pubsub, (name) => ({ 'margin-reservation': `${reservation.url}/`, 'order-router': `${router.url}/` })[name]);
  riskEvents = await TopicTap.open(pubsub, TOPICS.riskEvents);
});

afterAll(async () => {
  await riskEvents?.close();
  await delivery?.stop();
  for (const fn of served) await fn.close();
  await venue?.close();
});

describe('out-of-order messages, decided from state', () => {
  it('a close that arrives before its open has filled is refused by the venue and changes no margin; the open then fills', async () => {
    const agentId = 'qwen-7b';
    const close = makeSignal({ signalId: 'ooo-close', agentId, side: 'SELL', reduceOnly: true, size: { type: 'quantity', quantity: '0.01', priceMicros: 22_000 * USD }, leverage: 5 });
    const open = makeSignal({ signalId: 'ooo-open', agentId, side: 'BUY', size: { type: 'quantity', quantity: '0.01', priceMicros: 22_000 * USD }, leverage: 5 });
    await publisher.publish(TOPICS.signals, close);
    await waitUntil('the close refused', async () => (await trades.order(orderIdForSignal(close.signalId)))?.status === 'rejected');
    expect(await trades.order(orderIdForSignal(close.signalId))).toMatchObject({ terminalStatus: 'rejected', filledAtoms: 0, reservedMicros: 0 });
    await waitUntil('the risk event', () => riskEvents.messages.some((m) => m.data.type === 'order_rejected' && m.data.signalId === close.signalId));
    expect(await margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 0, inUseMicros: 0, openSymbols: {}, positionSymbols: {} });

    await publisher.publish(TOPICS.signals, open);
    await waitUntil('the open position', async () => (await trades.position(agentId, 'BTCUSDT')).quantityAtoms === 1_000_000);
    const ledger = await margins.ledgerOf(agentId);
    expect(ledger).toMatchObject({ reservedMicros: 0, positionSymbols: { BTCUSDT: true }, openSymbols: {} });
    expect(ledger.inUseMicros).toBe(44 * USD); // 0.01 × 22,000 / 5
  });

  it('an order update for an order not yet recorded is refused and changes nothing; after the claim it applies', async () => {
    const agentId = 'early-update-agent';
    await seedTestAgent(db, agentId);
    const early = { orderId: orderIdForSignal('early-1'), exchangeOrderId: 'venue-1', terminal: { status: 'canceled' as const, finalFilledAtoms: 0 } };
    expect(await trades.applyVenueFacts(early, 'broker:early-cancel')).toEqual({ outcome: 'unknown_order' });
    expect(await margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 0 });

    const { order } = await openTestOrder(db, trades, { agentId, signalId: 'early-1', quantity: '0.01', quantityAtoms: 1_000_000, priceUsd: 20_000 });
    expect(order.orderId).toBe(early.orderId);
    expect(await margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 40 * USD });
    // The broker retries the same event: now it applies, once, and returns the margin.
    expect((await trades.applyVenueFacts(early, 'broker:early-cancel')).outcome).toBe('applied');
    expect((await trades.applyVenueFacts(early, 'broker:early-cancel')).outcome).toBe('replayed');
    expect(await trades.order(order.orderId)).toMatchObject({ status: 'canceled', releasedMicros: 40 * USD });
    expect(await margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 0, openSymbols: {} });
  });

  it('a cancel that arrives before the fills it follows still leaves exactly the fills’ margin in use', async () => {
    const agentId = 'cancel-first-agent';
    await seedTestAgent(db, agentId);
    const { order } = await openTestOrder(db, trades, { agentId, signalId: 'cancel-first', quantity: '0.01', quantityAtoms: 1_000_000, priceUsd: 20_000 });
    const fill = (tradeId: string, atoms: number, time: number) => ({
      orderId: order.orderId,
      fill: { tradeId, quantityAtoms: atoms, priceMicros: 20_000 * USD, feeMicros: 0, time },
    });
    // The venue filled 0.004 in two trades, then canceled the rest; the cancel arrives first.
    await trades.applyVenueFacts({ orderId: order.orderId, terminal: { status: 'canceled', finalFilledAtoms: 400_000 } });
    expect(await margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 16 * USD, inUseMicros: 0 });
    await Promise.all([trades.applyVenueFacts(fill('t2', 150_000, 2)), trades.applyVenueFacts(fill('t1', 250_000, 1))]);
    expect(await margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 0, inUseMicros: 16 * USD, openSymbols: {}, positionSymbols: { BTCUSDT: true } });
    expect(await trades.order(order.orderId)).toMatchObject({ status: 'canceled', filledAtoms: 400_000, releasedMicros: 24 * USD });
  });
});
