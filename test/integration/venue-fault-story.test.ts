import { afterAll, describe, expect, it } from 'vitest';
import { BinanceFuturesClient } from '../../shared/exchange/binance-futures/client.js';
import { orderIdForSignal } from '../../shared/domain/messages.js';
import { COLLECTIONS } from '../../shared/firestore/collections.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { MarginLedger } from '../../shared/firestore/margin-ledger.js';
import { TradeLedger } from '../../shared/firestore/trade-ledger.js';
import { LOCAL_DEFAULTS } from '../../scripts/lib/local-defaults.js';
import { type LocalStack, startLocalStack } from '../../scripts/lib/local-stack.js';
import type { VenueFault } from '../../scripts/lib/market-standin.js';
import { freePort } from '../../scripts/lib/ports.js';
import { waitUntil } from '../support/stack.js';

/**
 * The whole path as `SAPPHIRE_VENUE=standin npm start` wires it — signal-intake over HTTP, Pub/Sub
 * push through the relay (retries and all), margin-reservation, order-router with the real Binance
 * client in a process of its own, the strict stand-in — while the venue loses answers after
 * executing, answers 503, -1007 and -1006 after executing, answers past the client's timeout, and
 * the router is killed after the venue executed an order and before it booked the answer. When it
 * is quiet, each agent's venue account holds one order per client order id, and the position and
 * the isolated margin Sapphire's books say.
 */

const START = Date.parse('2023-03-10T06:00:00Z');
const AGENTS = ['deepseek-v3', 'qwen-7b'] as const;
const OPENS_PER_AGENT = 4;
/** The crashed router's lease on its order outlives it by at most this long. */
const PLACEMENT_LEASE_SECONDS = 30;
const FAULTS: readonly VenueFault[] = [
  { kind: 'execute_then_drop' },
  { kind: 'execute_then_status', status: 503 },
  { kind: 'execute_then_drop' },
  { kind: 'execute_then_status', status: 408, code: -1007 },
  { kind: 'execute_then_status', status: 500, code: -1006 },
  { kind: 'execute_then_delay', delayMs: 11_000 },
];

let stack: LocalStack | undefined;
afterAll(async () => {
  await stack?.stop();
}, 60_000);

async function send(intake: string, body: Record<string, unknown>): Promise<void> {
  const now = Date.now();
  const response = await fetch(`${intake}/signals`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${LOCAL_DEFAULTS.SIGNAL_INTAKE_TOKENS}` },
    body: JSON.stringify({ symbol: 'BTCUSDT', leverage: 3, confidence: 0.9, source: 'webhook:story', createdAt: new Date(now).toISOString(), expiresAt: new Date(now + 240_000).toISOString(), ...body }),
  });
  expect(response.status, await response.clone().text()).toBe(202);
}

describe('a burst through a venue that loses answers', () => {
  it("ends with each agent's venue orders, one per client order id, and its position equal to Sapphire's books", async () => {
    process.env.SAPPHIRE_QUIET_LOGS = 'true';
    process.env.ORDER_PLACEMENT_LEASE_SECONDS = String(PLACEMENT_LEASE_SECONDS);
    stack = await startLocalStack({ basePort: await freePort(), delivery: 'relay', replayStart: START, replaySpeed: 0, venue: 'standin', ownProcess: ['order-router'] });
    const market = stack.market;
    const router = stack.processes.get('order-router');
    if (!market || !router) throw new Error('no candle files: the story needs the replayed market');
    const db = firestoreFor(stack.projectId);
    const trades = new TradeLedger(db);
    const margins = new MarginLedger(db, { maxSymbolsPerAgent: 50 });
    const intake = stack.endpoints.get('signal-intake') as string;
    const price = market.priceAt('BTCUSDT');
    for (const fault of FAULTS) market.injectFault('/fapi/v1/order', fault, { method: 'POST' });

    const opens = AGENTS.flatMap((agentId) => Array.from({ length: OPENS_PER_AGENT }, (_, i) => ({ agentId, signalId: `story-${agentId}-open-${i}` })));
    await Promise.all(opens.map(({ agentId, signalId }) => send(intake, { signalId, agentId, side: 'BUY', size: { type: 'quantity', quantity: '0.01', priceMicros: price } })));
    const ended = new Set(['filled', 'canceled', 'rejected', 'expired']);
    const settled = async (signalIds: readonly string[]) => {
      for (const signalId of signalIds) {
        const reservation = (await db.collection(COLLECTIONS.reservations).doc(signalId).get()).data();
        if (!reservation?.publishedAt) return false;
        if (reservation.status === 'reserved') return false; // not yet claimed by the router
        if (reservation.status !== 'ordered') continue;
        const order = await trades.order(String(reservation.orderId));
        if (!order || !ended.has(order.status)) return false;
      }
      return true;
    };
    await waitUntil('every open decided and its order ended at the venue', () => settled(opens.map((o) => o.signalId)), 90_000);

    // The router is killed (SIGKILL) after the venue executed an order and before the answer
    // reached it: its lease on the order stays behind, and Pub/Sub delivers the order again.
    const crashed = `story-${AGENTS[0]}-open-crash`;
    const executedBefore = market.venueOrders().length;
    market.injectFault('/fapi/v1/order', { kind: 'execute_then_delay', delayMs: 5_000 }, { method: 'POST' });
    await send(intake, { signalId: crashed, agentId: AGENTS[0], side: 'BUY', size: { type: 'quantity', quantity: '0.01', priceMicros: price } });
    await waitUntil('the venue executed the order', () => market.venueOrders().length > executedBefore, 60_000);
    await router.crash();
    await waitUntil('the order the crashed router placed booked once its lease ran out', () => settled([crashed]), PLACEMENT_LEASE_SECONDS * 1_000 + 90_000);
    // Booked by a later delivery, in the new instance, which asked the venue instead of sending again.
    const crashedOrder = await trades.order(orderIdForSignal(crashed));
    expect(crashedOrder).toMatchObject({ status: 'filled', filledAtoms: 1_000_000 });
    expect(crashedOrder?.placementAttempts).toBeGreaterThanOrEqual(2);
    expect(market.ordersFor(orderIdForSignal(crashed))).toHaveLength(1);

    // Each agent's position and its isolated margin at the venue are Sapphire's, to the micro-dollar.
    for (const agentId of AGENTS) {
      const atVenue = market.positionOf(`local-${agentId}`, 'BTCUSDT');
      const position = await trades.position(agentId, 'BTCUSDT');
      const ledger = await margins.ledgerOf(agentId);
      expect(atVenue.atoms, `${agentId} holds what its opens filled`).toBeGreaterThan(0);
      expect({ agentId, atoms: position.quantityAtoms, margin: position.marginInUseMicros, inUse: ledger.inUseMicros, reserved: ledger.reservedMicros }).toEqual({
        agentId,
        atoms: atVenue.atoms,
        margin: atVenue.marginMicros,
        inUse: atVenue.marginMicros,
        reserved: 0,
      });
    }

    // Then each agent closes what it holds, reduce-only, while the venue still loses an answer.
    market.injectFault('/fapi/v1/order', { kind: 'execute_then_drop' }, { method: 'POST', count: 2 });
    const closes: string[] = [];
    for (const agentId of AGENTS) {
      const held = (await trades.position(agentId, 'BTCUSDT')).quantityAtoms;
      expect(held, `${agentId} holds what its opens filled`).toBeGreaterThan(0);
      const signalId = `story-${agentId}-close`;
      closes.push(signalId);
      await send(intake, { signalId, agentId, side: 'SELL', reduceOnly: true, size: { type: 'quantity', quantity: (held / 1e8).toFixed(3), priceMicros: price } });
    }
    await waitUntil('every close ended at the venue', () => settled(closes), 90_000);

    const venueOrders = market.venueOrders();
    const perClientId = new Map<string, number>();
    for (const order of venueOrders) perClientId.set(order.clientOrderId, (perClientId.get(order.clientOrderId) ?? 0) + 1);
    expect([...perClientId.values()].every((n) => n === 1), `one venue order per client order id: ${JSON.stringify([...perClientId])}`).toBe(true);
    expect(venueOrders.length).toBe(opens.length + 1 + closes.length);
    // Every lost answer was met, and answered by asking the venue: at least one order query each.
    expect(market.requests.get('GET /fapi/v1/order') ?? 0).toBeGreaterThanOrEqual(FAULTS.length + 2);
    for (const agentId of AGENTS) {
      const client = new BinanceFuturesClient({ baseUrl: market.url, apiKey: `local-${agentId}`, apiSecret: `local-secret-${agentId}` });
      const atVenue = (await client.positions()).find((p) => p.symbol === 'BTCUSDT')?.quantityAtoms ?? 0;
      expect({ agentId, sapphire: (await trades.position(agentId, 'BTCUSDT')).quantityAtoms }).toEqual({ agentId, sapphire: atVenue });
      expect(atVenue).toBe(0);
    }
  }, 300_000);
});
