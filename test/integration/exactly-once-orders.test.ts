import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../shared/firestore/collections.js';
import { feeMicros, notionalMicros, venueUsdToMicros } from '../../shared/domain/money.js';
import { OrderRequest, type RiskEvent } from '../../shared/domain/messages.js';
import { USD } from '../../shared/domain/money.js';
import { outcomeMessage } from '../../shared/domain/outcomes.js';
import { marginRequiredMicros } from '../../shared/domain/margin.js';
import { venueAccounts } from '../../shared/exchange/accounts.js';
import { BinanceFuturesClient } from '../../shared/exchange/binance-futures/client.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { MarginLedger } from '../../shared/firestore/margin-ledger.js';
import { TradeLedger } from '../../shared/firestore/trade-ledger.js';
import { pubsubFor } from '../../shared/pubsub/client.js';
import { JsonPublisher } from '../../shared/pubsub/publisher.js';
import { RetryLater } from '../../shared/pubsub/push-handler.js';
import type { TradingDeps } from '../../shared/trading/deps.js';
import { reconcile } from '../../shared/trading/reconcile.js';
import { routeOrder } from '../../shared/trading/route-order.js';
import { TOPICS } from '../../triggers/manifest.js';
import { type MarketStandIn, type VenueFault, startMarketStandIn } from '../../scripts/lib/market-standin.js';
import { type LocalPushDelivery, provisionPubSub } from '../../scripts/lib/provision.js';
import { MARKET_CSV } from '../support/market.js';
import { makeSignal } from '../support/signals.js';
import { TopicTap, closeInOrder, isolatedProject, waitUntil } from '../support/stack.js';
import { seedTestAgent } from '../support/trading.js';

/**
 * At most one venue order per orderId, and books equal to the venue, through the real Binance
 * client, the router and the emulators, against the stand-in that keeps Binance's rules: a client
 * order id is unique among OPEN orders only, so a MARKET order's id sent again is a second order.
 * Binance (REST API, "HTTP Return Codes"): a 5XX "is NOT a failure operation; the execution status
 * is UNKNOWN and could have been a success"; -1006 and -1007 say the same.
 */

const projectId = isolatedProject('exactly-once');
const db = firestoreFor(projectId);
const margins = new MarginLedger(db, { maxSymbolsPerAgent: 50 });
const trades = new TradeLedger(db);
/** The client gives up on an answer after this; the stand-in's delayed answers come later. */
const CLIENT_TIMEOUT_MS = 800;
/** Short, so the client's wait before trusting "no such order" stays short here. */
const RECV_WINDOW_MS = 1_000;
let venue: MarketStandIn;
let delivery: LocalPushDelivery | undefined;
let riskEvents: TopicTap<RiskEvent>;
let deps: TradingDeps;
const agents: string[] = [];
const keyOf = (agentId: string) => `key-${agentId}`;

function depsWith(options: { placementLeaseMs?: number } = {}): TradingDeps {
  return { ...deps, ...options };
}

/** Reserves margin for a signal as margin-reservation does; returns the OrderRequest it publishes. */
async function reserve(agentId: string, signalId: string, side: 'BUY' | 'SELL', options: { reduceOnly?: boolean; expiresInMs?: number; leverage?: number; quantity?: string } = {}): Promise<OrderRequest> {
  const now = Date.now();
  const signal = makeSignal({
    agentId,
    signalId,
    symbol: 'BTCUSDT',
    side,
    size: { type: 'quantity', quantity: options.quantity ?? '0.01', priceMicros: venue.priceAt('BTCUSDT') },
    leverage: options.leverage ?? 4,
    reduceOnly: options.reduceOnly ?? false,
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + (options.expiresInMs ?? 300_000)).toISOString(),
  });
  const { record } = await margins.reserveMargin(signal);
  expect(record.status, `${signalId} reserved`).toBe('reserved');
  const next = outcomeMessage(record);
  return OrderRequest.parse(next.topic === 'orders' ? next.message : undefined);
}

/** The venue's position (through the client) and isolated margin for the agent, and Sapphire's. */
async function books(agentId: string): Promise<{ venue: number; sapphire: number; venueMargin: number; sapphireMargin: number }> {
  const client = deps.accounts.accountFor(agentId).exchange;
  const atVenue = (await client.positions()).find((p) => p.symbol === 'BTCUSDT')?.quantityAtoms ?? 0;
  const ours = await trades.position(agentId, 'BTCUSDT');
  return { venue: atVenue, sapphire: ours.quantityAtoms, venueMargin: venue.positionOf(keyOf(agentId), 'BTCUSDT').marginMicros, sapphireMargin: ours.marginInUseMicros };
}

/** The agent holds `atoms` at the venue and in Sapphire's books, on the same margin. */
async function expectBooksEqual(agentId: string, atoms: number): Promise<void> {
  const held = await books(agentId);
  expect(held).toMatchObject({ venue: atoms, sapphire: atoms });
  expect(held.sapphireMargin, `${agentId}: Sapphire's margin in use equals the venue's isolated margin`).toBe(held.venueMargin);
  expect((await margins.ledgerOf(agentId)).inUseMicros, `${agentId}: the ledger's margin in use`).toBe(held.venueMargin);
}

async function expectOneVenueOrderEach(agentId: string, orderIds: readonly string[]): Promise<void> {
  for (const orderId of orderIds) expect(venue.ordersFor(orderId, keyOf(agentId)).length, `venue orders for ${orderId}`).toBe(1);
  const held = await books(agentId);
  expect(held.sapphire, `${agentId}: Sapphire's position equals the venue's`).toBe(held.venue);
  expect(held.sapphireMargin, `${agentId}: Sapphire's margin in use equals the venue's isolated margin`).toBe(held.venueMargin);
  expect((await margins.ledgerOf(agentId)).inUseMicros, `${agentId}: the ledger's margin in use`).toBe(held.venueMargin);
}

async function newAgent(name: string): Promise<string> {
  const agentId = `eo-${name}`;
  agents.push(agentId);
  await seedTestAgent(db, agentId, { allowedSymbols: ['BTCUSDT'] });
  return agentId;
}

beforeAll(async () => {
  const names = ['drop', 'status503', 'status1007', 'status1006', 'delay', 'redeliver', 'concurrent', 'crash', 'expired', 'reconciler', 'late', 'overfill', 'bnb', 'close10x', 'lev-up', 'lev-down', 'lev-race', 'close5x', 'stop'];
  // BNB at a flat 300 USD around the test's minute, for commissions charged in BNB.
  const bnbCsv = join(await mkdtemp(join(tmpdir(), 'sapphire-bnb-')), 'BNBUSDT-1m-test.csv');
  const minutes = Array.from({ length: 30 }, (_, i) => new Date(Date.parse('2023-03-08T11:50:00Z') + i * 60_000).toISOString().replace('T', ' ').replace('.000Z', '+00:00'));
  await writeFile(bnbCsv, ['open_time,open,high,low,close,volume', ...minutes.map((t) => `${t},300,300,300,300,10`)].join('\n'));
  venue = await startMarketStandIn({
    csvFiles: { BTCUSDT: MARKET_CSV, BNBUSDT: bnbCsv },
    apiKey: 'key-unused',
    apiSecret: 'secret-unused-0123456789',
    moreAccounts: Object.fromEntries(names.map((n) => [keyOf(`eo-${n}`), `secret-eo-${n}-0123456789`])),
    start: Date.parse('2023-03-08T12:01:00Z'),
    speed: 0,
  });
  const pubsub = pubsubFor(projectId);
  delivery = await provisionPubSub(pubsub, () => undefined);
  riskEvents = await TopicTap.open<RiskEvent>(pubsub, TOPICS.riskEvents);
  deps = {
    accounts: venueAccounts('binance', () => true, (accountId) =>
      new BinanceFuturesClient({ baseUrl: venue.url, apiKey: keyOf(accountId), apiSecret: `secret-${accountId}-0123456789`, timeoutMs: CLIENT_TIMEOUT_MS, recvWindowMs: RECV_WINDOW_MS, maxRetries: 2 }),
    ),
    trades,
    margins,
    publisher: new JsonPublisher(pubsub),
    topics: TOPICS,
  };
});

afterEach(() => venue.clearFaults());

afterAll(async () => {
  await closeInOrder(riskEvents, delivery, venue);
});

const UNKNOWN_OUTCOMES: readonly (readonly [string, VenueFault])[] = [
  ['drop', { kind: 'execute_then_drop' }],
  ['status503', { kind: 'execute_then_status', status: 503 }],
  ['status1007', { kind: 'execute_then_status', status: 408, code: -1007 }],
  ['status1006', { kind: 'execute_then_status', status: 500, code: -1006 }],
  ['delay', { kind: 'execute_then_delay', delayMs: CLIENT_TIMEOUT_MS * 3 }],
];

describe('exactly one venue order per orderId', () => {
  for (const [name, fault] of UNKNOWN_OUTCOMES) {
    it(`asks the venue after an unknown answer (${name}) instead of sending again, for an open and for its reduce-only close`, async () => {
      const agentId = await newAgent(name);
      const open = await reserve(agentId, `${agentId}-open`, 'BUY');
      venue.injectFault('/fapi/v1/order', fault, { method: 'POST' });
      await routeOrder(deps, open);
      expect(await trades.order(open.orderId)).toMatchObject({ status: 'filled', filledAtoms: 1_000_000 });

      const close = await reserve(agentId, `${agentId}-close`, 'SELL', { reduceOnly: true });
      venue.injectFault('/fapi/v1/order', fault, { method: 'POST' });
      await routeOrder(deps, close);
      // Asked, not re-sent: no -2022 for a close the venue had already made, no second order.
      expect(await trades.order(close.orderId)).toMatchObject({ status: 'filled', filledAtoms: 1_000_000 });
      await expectOneVenueOrderEach(agentId, [open.orderId, close.orderId]);
      await expectBooksEqual(agentId, 0);
    });
  }

  it('places once when the order message is delivered again after it was placed', async () => {
    const agentId = await newAgent('redeliver');
    const open = await reserve(agentId, `${agentId}-open`, 'BUY');
    await routeOrder(deps, open);
    await routeOrder(deps, open);
    await routeOrder(depsWith({ placementLeaseMs: 1 }), open);
    await expectOneVenueOrderEach(agentId, [open.orderId]);
    await expectBooksEqual(agentId, 1_000_000);
  });

  it('places once when two deliveries of one order arrive at once: the second waits for the lease', async () => {
    const agentId = await newAgent('concurrent');
    const open = await reserve(agentId, `${agentId}-open`, 'BUY');
    // The first placement's answer is slow, so the two deliveries overlap at the venue call.
    venue.injectFault('/fapi/v1/order', { kind: 'execute_then_delay', delayMs: 300 }, { method: 'POST' });
    const outcomes = await Promise.allSettled([routeOrder(deps, open), routeOrder(deps, open), routeOrder(deps, open)]);
    const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason);
    for (const reason of refused) expect(reason).toBeInstanceOf(RetryLater);
    // Pub/Sub redelivers the deferred ones later: they find the order placed.
    await routeOrder(deps, open);
    await expectOneVenueOrderEach(agentId, [open.orderId]);
    await expectBooksEqual(agentId, 1_000_000);
  });

  it('after a delivery that could not learn what the venue did, a redelivery asks first and books what the venue holds', async () => {
    const agentId = await newAgent('crash');
    const open = await reserve(agentId, `${agentId}-open`, 'BUY');
    // The order executes but its answer is lost, and the venue cannot be asked either: the router gives up, unknown.
    venue.injectFault('/fapi/v1/order', { kind: 'execute_then_drop' }, { method: 'POST' });
    venue.injectFault('/fapi/v1/order', { kind: 'refuse_before', status: 503 }, { method: 'GET', count: 20 });
    await expect(routeOrder(depsWith({ placementLeaseMs: 3_000 }), open)).rejects.toMatchObject({ reason: 'status_unknown' });
    expect(await trades.order(open.orderId)).toMatchObject({ status: 'placing', placementAttempts: 1 });
    venue.clearFaults();
    // A redelivery inside the lease is deferred; after it, the venue is asked before anything is sent.
    await expect(routeOrder(deps, open)).rejects.toBeInstanceOf(RetryLater);
    const { placementLease } = (await trades.order(open.orderId)) ?? {};
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(placementLease?.until ?? '') - Date.now() + 50)));
    await routeOrder(deps, open);
    expect(await trades.order(open.orderId)).toMatchObject({ status: 'filled', placementAttempts: 2 });
    await expectOneVenueOrderEach(agentId, [open.orderId]);
  });

  it('never places an order after its signal expired: the margin returns and the refusal says why', async () => {
    const agentId = await newAgent('expired');
    const open = await reserve(agentId, `${agentId}-open`, 'BUY', { expiresInMs: 60_000 });
    const later = { ...deps, clock: () => new Date(Date.now() + 120_000) };
    await routeOrder(later, open);
    expect(venue.ordersFor(open.orderId, keyOf(agentId))).toEqual([]);
    expect(await margins.ledgerOf(agentId)).toMatchObject({ reservedMicros: 0, inUseMicros: 0 });
    await waitUntil('the refusal', () => riskEvents.messages.some((m) => m.data.type === 'order_rejected' && m.data.orderId === open.orderId));
    expect(riskEvents.messages.find((m) => m.data.type === 'order_rejected' && m.data.orderId === open.orderId)?.data).toMatchObject({ reason: 'expired' });
  });

  it('the reconciler leaves an order a redelivery may still place, and ends it only once its signal has expired', async () => {
    const agentId = await newAgent('reconciler');
    const open = await reserve(agentId, `${agentId}-open`, 'BUY', { expiresInMs: 60_000 });
    // Refused before executing, every time: the router gives up for now (a redelivery will retry).
    venue.injectFault('/fapi/v1/order', { kind: 'refuse_before', status: 503 }, { method: 'POST', count: 50 });
    await expect(routeOrder(depsWith({ placementLeaseMs: 1 }), open)).rejects.toMatchObject({ reason: 'status_unknown' });
    venue.clearFaults();
    const options = { reservationTtlMs: 300_000, placingGraceMs: 1, openOrderTtlMs: 300_000 };
    expect(await reconcile(deps, options)).toMatchObject({ ordersNeverPlaced: 0, failures: [] });
    // The redelivery places it, and the late execution is booked once, on the order still open.
    await routeOrder(deps, open);
    await expectOneVenueOrderEach(agentId, [open.orderId]);
    expect(await trades.order(open.orderId)).toMatchObject({ status: 'filled' });
    await expectBooksEqual(agentId, 1_000_000);
  });
});

describe('protection reaches the position', () => {
  it('closes a 10x isolated position with a reduce-only order at 1x: a close never changes leverage (Binance -4161)', async () => {
    const agentId = await newAgent('close10x');
    const now = Date.now();
    const signal = (signalId: string, side: 'BUY' | 'SELL', leverage: number, reduceOnly: boolean) =>
      makeSignal({ agentId, signalId, symbol: 'BTCUSDT', side, size: { type: 'quantity', quantity: '0.01', priceMicros: venue.priceAt('BTCUSDT') }, leverage, reduceOnly, createdAt: new Date(now).toISOString(), expiresAt: new Date(now + 300_000).toISOString() });
    for (const s of [signal(`${agentId}-open`, 'BUY', 10, false), signal(`${agentId}-flatten`, 'SELL', 1, true)]) {
      const { record } = await margins.reserveMargin(s);
      const next = outcomeMessage(record);
      await routeOrder(deps, OrderRequest.parse(next.topic === 'orders' ? next.message : undefined));
    }
    expect(venue.accountSettings.get(`${keyOf(agentId)}:BTCUSDT`)).toMatchObject({ leverage: 10 });
    await expectBooksEqual(agentId, 0);
  });

  it("closes a 10x position with the agent's own sell at 5x (not reduce-only): it goes out at the venue's 10x, the leverage untouched", async () => {
    const agentId = await newAgent('close5x');
    const open = await reserve(agentId, `${agentId}-open`, 'BUY', { leverage: 10 });
    const close = await reserve(agentId, `${agentId}-close`, 'SELL', { leverage: 5 });
    await routeOrder(deps, open);
    await routeOrder(deps, close);
    expect(await trades.order(close.orderId)).toMatchObject({ status: 'filled', leverage: 10, filledAtoms: 1_000_000 });
    expect(venue.accountSettings.get(`${keyOf(agentId)}:BTCUSDT`)).toMatchObject({ leverage: 10 });
    await expectBooksEqual(agentId, 0);
  });

  /** The venue's isolated margin for the agent, never above what its orders reserved. */
  async function expectVenueMarginWithin(agentId: string, requests: readonly OrderRequest[]): Promise<void> {
    const reserved = requests.reduce((sum, r) => sum + r.marginMicros, 0);
    expect(venue.positionOf(keyOf(agentId), 'BTCUSDT').marginMicros).toBeLessThanOrEqual(reserved);
    await expectBooksEqual(agentId, venue.positionOf(keyOf(agentId), 'BTCUSDT').atoms);
  }

  it("places an order at a lower leverage than the position's at the venue's, never lowering it (-4161): less margin than reserved", async () => {
    const agentId = await newAgent('lev-up');
    const at10 = await reserve(agentId, `${agentId}-10x`, 'BUY', { leverage: 10 });
    const at4 = await reserve(agentId, `${agentId}-4x`, 'BUY', { leverage: 4 });
    await routeOrder(deps, at10);
    await routeOrder(deps, at4);
    expect(await trades.order(at4.orderId)).toMatchObject({ status: 'filled', leverage: 10, filledAtoms: 1_000_000 });
    expect(venue.accountSettings.get(`${keyOf(agentId)}:BTCUSDT`)).toMatchObject({ leverage: 10 });
    await expectVenueMarginWithin(agentId, [at10, at4]);
  });

  it("cuts an order at a higher leverage than the position's to what its reserved margin carries at the venue's", async () => {
    const agentId = await newAgent('lev-down');
    const at4 = await reserve(agentId, `${agentId}-4x`, 'BUY', { leverage: 4 });
    // 0.02 at 10× reserves 0.2 × price / 10; at the venue's 4× that carries 0.008.
    const at10 = await reserve(agentId, `${agentId}-10x`, 'BUY', { leverage: 10, quantity: '0.02' });
    await routeOrder(deps, at4);
    await routeOrder(deps, at10);
    expect(await trades.order(at10.orderId)).toMatchObject({ status: 'filled', leverage: 4, filledAtoms: 800_000 });
    expect(venue.accountSettings.get(`${keyOf(agentId)}:BTCUSDT`)).toMatchObject({ leverage: 4 });
    await expectVenueMarginWithin(agentId, [at4, at10]);
  });

  it('decides two orders at different leverage delivered at once one after the other (a lease per account and symbol): never more venue margin than reserved', async () => {
    const agentId = await newAgent('lev-race');
    const requests = [await reserve(agentId, `${agentId}-10x`, 'BUY', { leverage: 10 }), await reserve(agentId, `${agentId}-3x`, 'BUY', { leverage: 3, quantity: '0.02' })];
    let waited = 0;
    const deliver = async (request: OrderRequest): Promise<void> => {
      for (;;) {
        try {
          return await routeOrder(deps, request);
        } catch (error) {
          if (!(error instanceof RetryLater)) throw error;
          waited += 1;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    };
    await Promise.all(requests.map(deliver));
    expect(waited).toBeGreaterThan(0);
    // Whichever went first set the venue's leverage; the other went out at it, or (3× first: 0.01
    // on the 10× order's reservation carries 0.003 at 3×, under the venue's 100 USD minimum) was
    // refused before the venue.
    const orders = (await Promise.all(requests.map((r) => trades.order(r.orderId)))).filter((o) => o !== undefined);
    expect(new Set(orders.map((o) => o.leverage)).size).toBe(1);
    for (const request of requests.filter((r) => !orders.some((o) => o.orderId === r.orderId))) {
      expect(await margins.reservationOf(request.signalId)).toMatchObject({ status: 'released', releaseReason: 'leverage_mismatch' });
    }
    await expectVenueMarginWithin(agentId, requests);
  });
});

describe('a protective stop whose answer is lost', () => {
  it('is asked about, not sent again blindly: one stop rests per clientAlgoId; a send that never executed is sent again', async () => {
    const agentId = await newAgent('stop');
    const client = deps.accounts.accountFor(agentId).exchange as BinanceFuturesClient;
    const tick = 100_000;
    const trigger = Math.floor((venue.priceAt('BTCUSDT') - 1_000 * USD) / tick) * tick;
    const stop = (n: number) => ({ clientAlgoId: `sps-${String(n).padStart(32, '0')}`, symbol: 'BTCUSDT', side: 'SELL' as const, triggerMicros: trigger - n * tick });
    for (const [n, fault] of [[1, { kind: 'execute_then_drop' }], [2, { kind: 'execute_then_status', status: 503 }], [3, { kind: 'execute_then_delay', delayMs: CLIENT_TIMEOUT_MS * 3 }]] as const) {
      venue.injectFault('/fapi/v1/algoOrder', fault, { method: 'POST' });
      await client.placeStop(stop(n));
    }
    // Refused before it executed: the client cannot find it and says so; the next run's send places it.
    venue.injectFault('/fapi/v1/algoOrder', { kind: 'refuse_before', status: 503, body: { code: -1000, msg: 'Unknown error, please check your request or try again later.' } }, { method: 'POST' });
    await expect(client.placeStop(stop(4))).rejects.toThrow();
    await client.placeStop(stop(4));
    // Sent again while it rests (the retry of a send that did land): -4116, taken as placed.
    await client.placeStop(stop(4));
    expect((await client.restingStops()).map((s) => s.clientAlgoId).sort()).toEqual([1, 2, 3, 4].map((n) => stop(n).clientAlgoId));
  });
});

describe('the venue is the truth for fills', () => {
  it("books an execution the venue made after Sapphire had ended the order with the order's own margin, not another reservation's", async () => {
    const agentId = await newAgent('late');
    const first = await reserve(agentId, `${agentId}-first`, 'BUY');
    const other = await reserve(agentId, `${agentId}-other`, 'BUY');
    const claim = await trades.claimForOrder(first, { venue: 'binance', quantityAtoms: 1_000_000, lease: { holder: 'gone', until: new Date(Date.now() - 1) } });
    expect(claim.claimed).toBe(true);
    // Sapphire ends the first order as never placed; its margin returns.
    await trades.applyVenueFacts({ orderId: first.orderId, terminal: { status: 'rejected', finalFilledAtoms: 0, reason: 'never reached the venue' } });
    const before = await margins.ledgerOf(agentId);
    // Then the venue reports that it executed after all.
    const late = await trades.applyVenueFacts({
      orderId: first.orderId,
      exchangeOrderId: '777',
      fill: { tradeId: 'late-1', quantityAtoms: 1_000_000, priceMicros: 22_000 * USD, feeMicros: 110_000, time: Date.now() },
    });
    expect(late).toMatchObject({ outcome: 'applied', lateExecution: true });
    const after = await margins.ledgerOf(agentId);
    // The other order's reservation is untouched; the venue's margin of the late fill (0.01 at 22,000, 4×) is in use.
    expect(after.reservedMicros).toBe(before.reservedMicros);
    expect(after.inUseMicros).toBe(before.inUseMicros + marginRequiredMicros(notionalMicros('0.01', 22_000 * USD), 4));
    expect((await trades.position(agentId, 'BTCUSDT')).quantityAtoms).toBe(1_000_000);
    expect(await margins.reservationOf(other.signalId)).toMatchObject({ status: 'reserved' });
    // A reconciler run afterwards goes through.
    expect(await reconcile(deps, { reservationTtlMs: 300_000, placingGraceMs: 120_000, openOrderTtlMs: 300_000 })).toMatchObject({ failures: [] });
  });

  it('books a commission the venue charged in BNB at its BNBUSDT price, never as if the BNB amount were USD', async () => {
    const agentId = await newAgent('bnb');
    venue.payFeesInBnb(keyOf(agentId), true);
    const open = await reserve(agentId, `${agentId}-open`, 'BUY');
    await routeOrder(deps, open);
    const [fill] = (await db.collection(COLLECTIONS.fills).where('orderId', '==', open.orderId).get()).docs.map((d) => d.data());
    // The venue: 0.05% of the notional, 10% off, in BNB (8 decimals, rounded down) at 300 USD.
    const usdt = feeMicros(notionalMicros('0.01', Number(fill?.priceMicros)), 500);
    const bnb = (BigInt(Math.floor((usdt * 90) / 100)) * 100_000_000n) / 300_000_000n;
    const bnbAmount = `${bnb / 100_000_000n}.${(bnb % 100_000_000n).toString().padStart(8, '0')}`;
    expect(fill?.feeMicros).toBe(notionalMicros(bnbAmount, 300 * USD));
    expect(fill?.feeMicros).toBeGreaterThan(100 * venueUsdToMicros(bnbAmount)); // not the BNB amount read as USD
    expect((await margins.ledgerOf(agentId)).feesMicros).toBe(fill?.feeMicros);
  });

  it('never books a fill beyond its order, nor facts of another venue order', async () => {
    const agentId = await newAgent('overfill');
    const open = await reserve(agentId, `${agentId}-open`, 'BUY');
    await routeOrder(deps, open);
    const order = await trades.order(open.orderId);
    expect(order).toMatchObject({ status: 'filled', filledAtoms: 1_000_000 });
    const ledger = await margins.ledgerOf(agentId);
    const extra = await trades.applyVenueFacts({ orderId: open.orderId, fill: { tradeId: 'extra-1', quantityAtoms: 1_000_000, priceMicros: 22_000 * USD, feeMicros: 1, time: Date.now() } });
    expect(extra).toMatchObject({ outcome: 'refused' });
    const foreign = await trades.applyVenueFacts({ orderId: open.orderId, exchangeOrderId: 'not-this-one', terminal: { status: 'canceled', finalFilledAtoms: 0 } });
    expect(foreign).toMatchObject({ outcome: 'refused' });
    expect(await margins.ledgerOf(agentId)).toEqual(ledger);
    await expectOneVenueOrderEach(agentId, [open.orderId]);
  });
});
