import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USD } from '../../shared/domain/money.js';
import type { OrderUpdate } from '../../shared/domain/order-updates.js';
import { ATOMS_PER_UNIT } from '../../shared/domain/quantity.js';
import { signWebhook } from '../../shared/domain/webhook-signature.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { TradeLedger } from '../../shared/firestore/trade-ledger.js';
import { pubsubFor } from '../../shared/pubsub/client.js';
import { TOPICS } from '../../triggers/manifest.js';
import type { LocalPushDelivery } from '../../scripts/lib/provision.js';
import { postJson } from '../support/http.js';
import { type ServedFunction, TopicTap, closeInOrder, deliverPushTo, isolatedProject, serveFunction } from '../support/stack.js';
import { openTestOrder, seedTestAgent, tradingStateWithoutIds } from '../support/trading.js';

const projectId = isolatedProject('webhook');
const SECRET = 'broker-secret-0123456789abcdef';
process.env.BROKER_WEBHOOK_SECRETS = JSON.stringify({ 'test-broker': SECRET });
const db = firestoreFor(projectId);
const trades = new TradeLedger(db);
const pubsub = pubsubFor(projectId);
const BTC = ATOMS_PER_UNIT;
const agentId = 'webhook-agent';
let fn: ServedFunction;
let updates: TopicTap<{ orderId: string; tradeId?: string }>;
let orderId: string;

/** POSTs `body` exactly as signed. */
function send(path: string, body: string, headers: Record<string, string>): Promise<Response> {
  return postJson(`${fn.url}${path}`, body, headers);
}

function signed(body: string, secret = SECRET, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  return { 'x-sapphire-timestamp': String(timestamp), 'x-sapphire-signature': signWebhook(secret, timestamp, body) };
}

function update(overrides: Partial<OrderUpdate> = {}): OrderUpdate {
  return {
    eventId: `evt-${Math.random().toString(36).slice(2)}`,
    venue: 'test-broker',
    orderId,
    exchangeOrderId: '9001',
    symbol: 'BTCUSDT',
    side: 'BUY',
    status: 'PARTIALLY_FILLED',
    orderQuantity: '0.01',
    cumulativeFilledQuantity: '0.002',
    fill: { tradeId: 'trade-1', quantity: '0.002', priceMicros: 20_000 * USD, feeMicros: 20_000 },
    eventTime: new Date().toISOString(),
    ...overrides,
  };
}

async function snapshot(): Promise<unknown> {
  const [ledger, order, position, fills] = await Promise.all([
    db.collection('marginLedgers').doc(agentId).get(),
    db.collection('orders').doc(orderId).get(),
    db.collection('positions').doc(`${agentId}__BTCUSDT`).get(),
    db.collection('fills').get(),
  ]);
  return { ledger: ledger.data(), order: order.data(), position: position.data(), fills: fills.size };
}

let delivery: LocalPushDelivery | undefined;

beforeAll(async () => {
  delivery = await deliverPushTo(pubsub, {});
  updates = await TopicTap.open(pubsub, TOPICS.orderUpdates);
  await seedTestAgent(db, agentId);
  ({ order: { orderId } } = await openTestOrder(db, trades, { agentId, signalId: 'webhook-1', quantity: '0.01', quantityAtoms: BTC / 100, priceUsd: 20_000 }));
  fn = await serveFunction(() => import('../../functions/broker-webhook/index.js'), 'brokerWebhook');
});

afterAll(async () => {
  await closeInOrder(delivery, updates, fn);
});

describe('broker-webhook', () => {
  it('applies a signed update once and publishes it to order-updates', async () => {
    const body = JSON.stringify(update());
    const response = await send('/brokers/test-broker/order-updates', body, signed(body));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ outcome: 'applied', orderStatus: 'partially_filled' });
    await updates.waitForMessage('the applied update', (u) => u.tradeId === 'trade-1');
    expect(await trades.position(agentId, 'BTCUSDT')).toMatchObject({ quantityAtoms: BTC / 500 });
  });

  it('refuses unsigned, wrongly signed, stale and replayed requests with 401 and changes nothing; a retry of the same event is a duplicate', async () => {
    const before = await snapshot();
    const body = JSON.stringify(update({ fill: { tradeId: 'trade-2', quantity: '0.001', priceMicros: 20_000 * USD, feeMicros: 0 }, cumulativeFilledQuantity: '0.003' }));
    const cases: Record<string, string>[] = [
      {},
      signed(body, 'not-the-secret-0123456789'),
      // 5 s past the 300 s tolerance each way: a clock tick between signing and checking must not
      // bring a stale request back inside it.
      signed(body, SECRET, Math.floor(Date.now() / 1000) - 305),
      signed(body, SECRET, Math.floor(Date.now() / 1000) + 305),
      { ...signed(body), 'x-sapphire-signature': 'v1=zz' },
    ];
    for (const headers of cases) expect((await send('/brokers/test-broker/order-updates', body, headers)).status).toBe(401);
    expect((await send('/brokers/other-broker/order-updates', body, signed(body))).status).toBe(401);
    // Signed for another body.
    expect((await send('/brokers/test-broker/order-updates', body.replace('0.001', '0.002'), signed(body))).status).toBe(401);
    expect(await snapshot()).toEqual(before);

    const first = update({ eventId: 'evt-replay', fill: { tradeId: 'trade-3', quantity: '0.001', priceMicros: 20_000 * USD, feeMicros: 0 }, cumulativeFilledQuantity: '0.003' });
    const firstBody = JSON.stringify(first);
    expect((await send('/brokers/test-broker/order-updates', firstBody, signed(firstBody))).status).toBe(200);
    const afterFirst = await snapshot();
    // The broker retries the very same event: answered as a duplicate, so it stops retrying.
    const retry = await send('/brokers/test-broker/order-updates', firstBody, signed(firstBody));
    expect(retry.status).toBe(200);
    expect(await retry.json()).toMatchObject({ outcome: 'duplicate' });
    expect(await snapshot()).toEqual(afterFirst);
    const again = JSON.stringify({ ...first, fill: { ...first.fill, tradeId: 'trade-4' } });
    expect((await send('/brokers/test-broker/order-updates', again, signed(again))).status).toBe(401);
    expect(await snapshot()).toEqual(afterFirst);
  });

  it('answers 400 with field errors for a malformed update', async () => {
    const body = JSON.stringify({ ...update(), side: 'LONG', cumulativeFilledQuantity: 'lots' });
    const response = await send('/brokers/test-broker/order-updates', body, signed(body));
    expect(response.status).toBe(400);
    const { fields } = (await response.json()) as { fields: { field: string }[] };
    expect(fields.map((f) => f.field)).toEqual(expect.arrayContaining(['side', 'cumulativeFilledQuantity']));
  });

  it('refuses with 409, and books nothing of, a fill beyond its order, facts of another venue order, and an update describing another order', async () => {
    const before = await snapshot();
    const cases: [string, OrderUpdate][] = [
      // 0.003 of the 0.01 are filled already.
      ['beyond the order', update({ status: 'FILLED', cumulativeFilledQuantity: '0.01', fill: { tradeId: 'trade-over', quantity: '0.009', priceMicros: 20_000 * USD, feeMicros: 0 } })],
      ['another venue order', update({ exchangeOrderId: '777', fill: { tradeId: 'trade-foreign', quantity: '0.001', priceMicros: 20_000 * USD, feeMicros: 0 } })],
      ['another quantity', update({ orderQuantity: '0.5', fill: { tradeId: 'trade-qty', quantity: '0.001', priceMicros: 20_000 * USD, feeMicros: 0 } })],
      ['another side', update({ side: 'SELL', fill: { tradeId: 'trade-side', quantity: '0.001', priceMicros: 20_000 * USD, feeMicros: 0 } })],
      ['another symbol', update({ symbol: 'ETHUSDT', fill: { tradeId: 'trade-symbol', quantity: '0.001', priceMicros: 20_000 * USD, feeMicros: 0 } })],
    ];
    for (const [name, body] of cases) {
      const raw = JSON.stringify(body);
      const response = await send('/brokers/test-broker/order-updates', raw, signed(raw));
      expect(response.status, name).toBe(409);
      expect(((await response.json()) as { error: string }).error, name).toMatch(new RegExp(orderId));
    }
    expect(await snapshot()).toEqual(before);
  });

  it("leaves a liquidation the venue made to the reconciler (202), and answers other unknown orders 422", async () => {
    const liquidation = JSON.stringify(update({ orderId: 'autoclose-1700000000000', fill: undefined, status: 'FILLED', cumulativeFilledQuantity: '0.01' }));
    const deferred = await send('/brokers/test-broker/order-updates', liquidation, signed(liquidation));
    expect(deferred.status).toBe(202);
    expect(await deferred.json()).toMatchObject({ outcome: 'deferred' });
    const unknown = JSON.stringify(update({ orderId: 'sph-not-ours-0000000000000000000000000' }));
    expect((await send('/brokers/test-broker/order-updates', unknown, signed(unknown))).status).toBe(422);
  });

  it('accepts a Binance ORDER_TRADE_UPDATE relayed by a bridge', async () => {
    const event = {
      e: 'ORDER_TRADE_UPDATE',
      E: Date.now(),
      T: Date.now(),
      o: {
        s: 'BTCUSDT', c: orderId, S: 'BUY', o: 'MARKET', f: 'GTC', q: '0.01', p: '0', ap: '20000', sp: '0',
        x: 'TRADE', X: 'PARTIALLY_FILLED', i: 9001, l: '0.001', z: '0.004', L: '20000', N: 'USDT', n: '0.01',
        T: Date.now(), t: 777, b: '0', a: '0', m: false, R: false, wt: 'CONTRACT_PRICE', ot: 'MARKET', ps: 'BOTH', cp: false, rp: '0', pP: false, si: 0, ss: 0,
      },
    };
    const body = JSON.stringify(event);
    const response = await send('/brokers/test-broker/binance', body, signed(body));
    expect(response.status).toBe(200);
    expect(await trades.order(orderId)).toMatchObject({ filledAtoms: (4 * BTC) / 1000 });
  });

  it('ends, over HTTP, in the state of one in-order delivery when every update arrives 3 times, shuffled', async () => {
    async function world(agent: string) {
      await seedTestAgent(db, agent);
      const { order } = await openTestOrder(db, trades, { agentId: agent, signalId: `${agent}-1`, quantity: '0.01', quantityAtoms: BTC / 100, priceUsd: 20_000 });
      const fillUpdate = (n: number, quantity: string, cumulative: string, price: number): OrderUpdate =>
        update({ orderId: order.orderId, fill: { tradeId: `h${n}`, quantity, priceMicros: price, feeMicros: 1_000 * n }, cumulativeFilledQuantity: cumulative, eventTime: new Date(1_700_000_000_000 + n * 1_000).toISOString() });
      const updates = [
        update({ orderId: order.orderId, status: 'ACCEPTED', fill: undefined, cumulativeFilledQuantity: '0' }),
        fillUpdate(1, '0.003', '0.003', 20_000 * USD),
        fillUpdate(2, '0.003', '0.006', 20_050 * USD),
        { ...fillUpdate(3, '0.004', '0.01', 20_100 * USD), status: 'FILLED' as const },
      ];
      return { orderId: order.orderId, updates };
    }
    const post = async (u: OrderUpdate) => {
      const body = JSON.stringify(u);
      return (await send('/brokers/test-broker/order-updates', body, signed(body))).status;
    };

    const inOrder = await world('http-inorder');
    for (const u of inOrder.updates) expect(await post(u)).toBe(200);

    const shuffled = await world('http-shuffled');
    const copies = [0, 1, 2].flatMap((copy) => shuffled.updates.map((u) => ({ ...u, eventId: `${u.eventId}-copy${copy}` })));
    const order = [7, 2, 11, 0, 5, 9, 3, 10, 1, 6, 8, 4].map((i) => copies[i] as OrderUpdate);
    for (const u of order) expect(await post(u)).toBe(200);

    const expected = await tradingStateWithoutIds(db, trades, 'http-inorder', [inOrder.orderId]);
    expect(await tradingStateWithoutIds(db, trades, 'http-shuffled', [shuffled.orderId])).toEqual(expected);
    // In use: the venue's margin of each fill at 5×, 60 / 5 + 60.15 / 5 + 80.4 / 5 = 40.11 USD.
    expect(expected.ledger).toMatchObject({ reservedMicros: 0, inUseMicros: 40_110_000, feesMicros: 6_000 });
    expect(expected.orders[0]).toMatchObject({ status: 'filled', filledAtoms: BTC / 100 });
  });

  it('survives 1,000 random malformed bodies: never a 5xx, never a change', async () => {
    const before = await snapshot();
    const valid = update();
    const body = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      // A valid update with one field replaced by something random (a type-correct string can
      // still be valid, so replacements are of other types).
      fc
        .tuple(fc.constantFrom(...Object.keys(valid)), fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer())))
        .map(([key, value]) => JSON.stringify({ ...valid, [key]: value })),
      fc.string({ maxLength: 100 }).map((s) => `{"eventId":${JSON.stringify(s)}`),
    );
    const samples = fc.sample(body, { numRuns: 1_000, seed: 42 });
    const statuses = new Map<number, number>();
    for (let i = 0; i < samples.length; i += 25) {
      const batch = samples.slice(i, i + 25);
      const results = await Promise.all(batch.map((b) => send('/brokers/test-broker/order-updates', b, signed(b))));
      for (const r of results) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
    expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
    expect(statuses.get(400)).toBeGreaterThan(900);
    expect(await snapshot()).toEqual(before);
  }, 60_000);
});
