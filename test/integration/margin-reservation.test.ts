import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AGENTS } from '../../shared/domain/agents.js';
import type { OrderRequest, RiskEvent, TradeSignal } from '../../shared/domain/messages.js';
import { seedAgentProfiles } from '../../shared/firestore/agent-profiles.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { COLLECTIONS } from '../../shared/firestore/collections.js';
import { pubsubFor } from '../../shared/pubsub/client.js';
import { JsonPublisher } from '../../shared/pubsub/publisher.js';
import { TOPICS } from '../../triggers/manifest.js';
import type { LocalPushDelivery } from '../../scripts/lib/provision.js';
import { type StoredDeadLetter, deadLetterOf } from '../support/dead-letters.js';
import { makeSignal } from '../support/signals.js';
import { type ServedFunction, TopicTap, closeInOrder, deliverPushTo, isolatedProject, serveFunction, settle, waitUntil } from '../support/stack.js';
import { reservationsOf } from '../support/trading.js';
import { USD } from '../../shared/domain/money.js';

/**
 * The whole intake path on the real emulators: signals published to `signals`, pushed by the
 * Pub/Sub emulator to margin-reservation over HTTP, decided in Firestore transactions.
 */

const projectId = isolatedProject('reserve');
const db = firestoreFor(projectId);
const pubsub = pubsubFor(projectId);
const publisher = new JsonPublisher(pubsub);
let fn: ServedFunction;
let orders: TopicTap<OrderRequest>;
let riskEvents: TopicTap<RiskEvent>;

async function countPublished(signalIds: readonly string[]): Promise<number> {
  const snap = await db.collection(COLLECTIONS.reservations).where('publishedAt', '!=', null).get();
  const wanted = new Set(signalIds);
  return snap.docs.filter((d) => wanted.has(d.id)).length;
}

let delivery: LocalPushDelivery | undefined;

beforeAll(async () => {
  await seedAgentProfiles(db, DEFAULT_AGENTS);
  fn = await serveFunction(() => import('../../functions/margin-reservation/index.js'), 'marginReservation');
  delivery = await deliverPushTo(pubsub, { 'margin-reservation': fn });
  orders = await TopicTap.open(pubsub, TOPICS.orders);
  riskEvents = await TopicTap.open(pubsub, TOPICS.riskEvents);
});

afterAll(async () => {
  await closeInOrder(delivery, orders, riskEvents, fn);
});

describe('margin-reservation through the Pub/Sub emulator', () => {
  it('keeps every agent within budget: 400 signals at once, a quarter of them twice', async () => {
    // Deterministic sizes whose margins add up to about 3× each budget, so budgets run out.
    const signals: TradeSignal[] = [];
    for (const [a, agent] of DEFAULT_AGENTS.entries()) {
      for (let i = 0; i < 100; i += 1) {
        const leverage = 1 + ((i * 7 + a) % Math.min(agent.maxLeverage, 5));
        const notionalUsd = 20 + ((i * 37 + a * 11) % 150);
        signals.push(
          makeSignal({
            signalId: `bulk-${agent.agentId}-${i}`,
            agentId: agent.agentId,
            symbol: agent.allowedSymbols[i % 3],
            size: { type: 'notional', notionalMicros: notionalUsd * leverage * USD },
            leverage,
          }),
        );
      }
    }
    const duplicated = signals.filter((_, i) => i % 4 === 0);
    const deliveries = [...signals, ...duplicated].sort((x, y) => (x.signalId < y.signalId ? -1 : 1));
    await Promise.all(deliveries.map((s) => publisher.publish(TOPICS.signals, s)));

    const ids = signals.map((s) => s.signalId);
    await waitUntil('every outcome published', async () => (await countPublished(ids)) === ids.length, 90_000);
    await settle(() => orders.messages.length + riskEvents.messages.length);

    let accepted = 0;
    for (const agent of DEFAULT_AGENTS) {
      const records = await reservationsOf(db, agent.agentId);
      expect(records).toHaveLength(100); // exactly one outcome per signal
      const reserved = records.filter((r) => r.status === 'reserved');
      const rejected = records.filter((r) => r.status === 'rejected');
      expect(reserved.length + rejected.length).toBe(100);
      expect(rejected.length).toBeGreaterThan(0); // the budget did run out
      const ledger = (await db.collection(COLLECTIONS.marginLedgers).doc(agent.agentId).get()).data();
      const reservedSum = reserved.reduce((sum, r) => sum + r.marginMicros, 0);
      expect(ledger?.reservedMicros).toBe(reservedSum);
      expect(reservedSum).toBeLessThanOrEqual(agent.marginAllocationMicros);
      expect(ledger?.breaches).toEqual({ agent_margin_exceeded: rejected.length });
      accepted += reserved.length;
    }

    const orderIds = orders.messages.map((m) => m.data.orderId);
    expect(new Set(orderIds).size).toBe(orderIds.length); // no duplicate orderId
    expect(orderIds.length).toBe(accepted);
    const rejectedIds = riskEvents.messages.map((m) => m.data.signalId);
    expect(new Set(rejectedIds).size).toBe(rejectedIds.length);
    expect(rejectedIds.length).toBe(400 - accepted);
    expect(riskEvents.messages.every((m) => m.data.reason === 'agent_margin_exceeded')).toBe(true);
  }, 120_000);

  it('acknowledges a malformed message, keeps it as a dead letter and changes no balance', async () => {
    const before = await db.collection(COLLECTIONS.marginLedgers).doc('qwen-7b').get();
    const topic = pubsub.topic(TOPICS.signals);
    const notJson = await topic.publishMessage({ data: Buffer.from('{"signalId": "oops"') });
    const wrongShape = await topic.publishMessage({
      json: { ...makeSignal({ agentId: 'qwen-7b' }), leverage: 'lots' },
    });
    for (const [messageId, reason] of [
      [notJson, 'payload is not JSON'],
      [wrongShape, 'leverage'],
    ] as const) {
      await waitUntil(`dead letter ${messageId}`, async () => (await deadLetterOf(db, 'margin-reservation', messageId)) !== undefined);
      const letter = await deadLetterOf(db, 'margin-reservation', messageId);
      expect(letter).toMatchObject({ source: 'margin-reservation', messageId });
      expect(letter?.reason).toContain(reason);
    }
    const after = await db.collection(COLLECTIONS.marginLedgers).doc('qwen-7b').get();
    expect(after.data()).toEqual(before.data());
  });

  it('keeps a forged envelope as a bounded dead letter Firestore can store: 1.5 MB of attributes, reserved names, lone surrogates, a megabyte id', async () => {
    const post = (body: unknown) => fetch(`${fn.url}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const envelope = (messageId: string, message: Record<string, unknown> = {}, data = Buffer.from('{"signalId": "oops"}').toString('base64')) => ({
      message: { data, messageId, ...message },
      subscription: `projects/${projectId}/subscriptions/margin-reservation`,
    });
    const manyKeys = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`unknown-key-${i}`, i]));
    const cases = [
      envelope('forged-attributes', { attributes: Object.fromEntries(Array.from({ length: 1_500 }, (_, i) => [`attribute-${i}`, 'v'.repeat(1_000)])) }),
      envelope('forged-names', { attributes: { '': 'empty', __reserved__: 'x', '\ud800': '\udc00' } }),
      envelope('forged-reason', {}, Buffer.from(JSON.stringify({ ...makeSignal(), ...manyKeys })).toString('base64')),
      envelope('m'.repeat(1_000_000)),
    ];
    for (const body of cases) expect((await post(body)).status).toBe(204);
    const letters = (await db.collection(COLLECTIONS.deadLetters).where('source', '==', 'margin-reservation').get()).docs.map((d) => d.data() as StoredDeadLetter);
    const of = (messageId: string) => letters.find((l) => l.messageId === messageId) as StoredDeadLetter;
    expect(Object.keys(of('forged-attributes').attributes)).toHaveLength(100);
    expect(of('forged-attributes').truncated).toBe(true);
    expect(of('forged-names').attributes).toEqual({ '()': 'empty', '(__reserved__)': 'x', '\uFFFD': '\uFFFD' });
    expect(of('forged-reason').reason.length).toBeLessThanOrEqual(2_000);
    expect(of('m'.repeat(1_024))).toMatchObject({ truncated: true });
  });

  it('publishes again, with the same orderId, when the first attempt died after its commit', async () => {
    const { MarginLedger } = await import('../../shared/firestore/margin-ledger.js');
    const signal = makeSignal({ agentId: 'fingpt-alpha', signalId: 'died-after-commit' });
    // Free some margin for this agent so the signal is accepted.
    await db.collection(COLLECTIONS.marginLedgers).doc('fingpt-alpha').set({ reservedMicros: 0, inUseMicros: 0, openSymbols: {}, breaches: {} });
    // The first attempt: committed, then the instance died before publishing.
    const firstAttempt = new MarginLedger(db, {
      maxSymbolsPerAgent: 50,
      clock: () => new Date(Date.now() - 60_000),
    });
    const { record } = await firstAttempt.reserveMargin(signal);
    expect(record.status).toBe('reserved');
    const before = orders.messages.length;
    await publisher.publish(TOPICS.signals, signal); // the redelivery
    await orders.waitForMessage('the order', (o) => o.signalId === signal.signalId);
    await settle(() => orders.messages.length);
    const published = orders.messages.slice(before).filter((m) => m.data.signalId === signal.signalId);
    expect(published.map((m) => m.data.orderId)).toEqual([record.orderId]);
  });
});
