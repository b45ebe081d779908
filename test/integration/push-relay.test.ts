import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { PubSub } from '@google-cloud/pubsub';
import { pubsubFor } from '../../shared/pubsub/client.js';
import type { PushTrigger, TopicName } from '../../triggers/manifest.js';
import { PushRelay } from '../../scripts/lib/push-relay.js';
import { TopicTap, isolatedProject, settle, waitUntil } from '../support/stack.js';

/**
 * The local push relay against the real Pub/Sub emulator: the same body the emulator's own push
 * sends, ack on 2xx, redelivery after a failure or a timeout with the subscription's backoff,
 * a dead letter after maxDeliveryAttempts, and many requests in flight.
 */

const projectId = isolatedProject('relay');
const pubsub: PubSub = pubsubFor(projectId);

interface Received {
  readonly path: string;
  readonly body: { subscription: string; message: { data: string; attributes?: Record<string, string> }; deliveryAttempt?: number };
  readonly at: number;
}

/** A push endpoint whose answer (status, delay) the test decides per request. */
async function startEndpoint(answer: (r: Received, index: number) => { status: number; delayMs?: number }) {
  const received: Received[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const r: Received = { path: req.url ?? '/', body: JSON.parse(text) as Received['body'], at: Date.now() };
      const { status, delayMs = 0 } = answer(r, received.length);
      received.push(r);
      setTimeout(() => {
        inFlight -= 1;
        if (!res.destroyed) res.writeHead(status).end();
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    maxInFlight: () => maxInFlight,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

let counter = 0;
/** A topic, its dead-letter topic, and a pull subscription, fresh per case. */
async function channel(overrides: Partial<PushTrigger> = {}): Promise<PushTrigger> {
  counter += 1;
  const topic = `relay-${counter}` as TopicName;
  const deadLetterTopic = `relay-${counter}-dead` as TopicName;
  await pubsub.createTopic(topic);
  await pubsub.createTopic(deadLetterTopic);
  const trigger: PushTrigger = {
    kind: 'pubsub-push',
    topic,
    subscription: `relay-${counter}-sub`,
    ackDeadlineSeconds: 10,
    retry: { minimumBackoffSeconds: 0.2, maximumBackoffSeconds: 1 },
    deadLetter: { topic: deadLetterTopic, maxDeliveryAttempts: 5 },
    ...overrides,
  };
  await pubsub.topic(topic).createSubscription(trigger.subscription);
  return trigger;
}

const relays: PushRelay[] = [];
function relay(trigger: PushTrigger, endpoint: string, maxInFlight?: number): PushRelay {
  const started = PushRelay.start(pubsub, [{ trigger, endpoint }], maxInFlight ? { maxInFlight } : {});
  relays.push(started);
  return started;
}

async function publish(topic: string, data: unknown, attributes?: Record<string, string>): Promise<string> {
  return pubsub.topic(topic).publishMessage({ data: Buffer.from(JSON.stringify(data)), ...(attributes ? { attributes } : {}) });
}

afterAll(async () => {
  await Promise.all(relays.map((r) => r.stop()));
});

describe('local push relay', () => {
  it('posts the same envelope as the emulator’s push, plus deliveryAttempt', async () => {
    const endpoint = await startEndpoint(() => ({ status: 204 }));
    const trigger = await channel();
    await pubsub.topic(trigger.topic).createSubscription('relay-emulator-push', { pushConfig: { pushEndpoint: `${endpoint.url}/emulator` } });
    relay(trigger, `${endpoint.url}/relay`);
    await publish(trigger.topic, { hello: 'world' }, { signalId: 's-1', agentId: 'qwen-7b' });
    await publish(trigger.topic, { bare: true });
    await waitUntil('both deliveries of both messages', () => endpoint.received.length === 4);

    const by = (path: string, key: string) =>
      endpoint.received.find((r) => r.path === path && Buffer.from(r.body.message.data, 'base64').toString().includes(key))?.body;
    for (const key of ['hello', 'bare']) {
      const emulator = by('/emulator', key);
      const relayed = by('/relay', key);
      if (!emulator || !relayed) throw new Error(`missing a delivery of ${key}`);
      const { subscription: emulatorSubscription, ...emulatorRest } = emulator;
      const { subscription: relayedSubscription, deliveryAttempt, ...relayedRest } = relayed;
      expect(relayedRest).toEqual(emulatorRest);
      expect(emulatorSubscription).toBe(`projects/${projectId}/subscriptions/relay-emulator-push`);
      expect(relayedSubscription).toBe(`projects/${projectId}/subscriptions/${trigger.subscription}`);
      expect(deliveryAttempt).toBe(1);
    }
    await endpoint.close();
  });

  it('acknowledges a 2xx: the message is delivered once', async () => {
    const endpoint = await startEndpoint(() => ({ status: 200 }));
    const trigger = await channel();
    const started = relay(trigger, endpoint.url);
    await publish(trigger.topic, { n: 1 });
    await waitUntil('the delivery', () => endpoint.received.length === 1);
    await settle(() => endpoint.received.length, 1_500);
    expect(endpoint.received).toHaveLength(1);
    expect(started.stats).toMatchObject({ attempts: 1, acked: 1, failures: 0, deadLettered: 0 });
    await endpoint.close();
  });

  it('redelivers after a 500 and after a timeout, waiting the subscription’s backoff, then acknowledges', async () => {
    // First answer 500, second never in time (ack deadline 1 s), third 204.
    const endpoint = await startEndpoint((_r, i) => (i === 0 ? { status: 500 } : i === 1 ? { status: 204, delayMs: 2_500 } : { status: 204 }));
    const trigger = await channel({ ackDeadlineSeconds: 1, retry: { minimumBackoffSeconds: 0.5, maximumBackoffSeconds: 5 } });
    const started = relay(trigger, endpoint.url);
    await publish(trigger.topic, { n: 2 });
    await waitUntil('the third attempt', () => endpoint.received.length >= 3, 20_000);
    await settle(() => endpoint.received.length, 2_500);
    expect(endpoint.received.map((r) => r.body.deliveryAttempt)).toEqual([1, 2, 3]);
    const [a, b, c] = endpoint.received.map((r) => r.at) as [number, number, number];
    expect(b - a).toBeGreaterThanOrEqual(500); // first backoff: the minimum
    expect(c - b).toBeGreaterThanOrEqual(1_000 + 1_000); // the 1 s timeout, then twice the minimum
    expect(started.stats).toMatchObject({ attempts: 3, acked: 1, failures: 2, deadLettered: 0 });
    await endpoint.close();
  });

  it('dead-letters after maxDeliveryAttempts, with Cloud Pub/Sub’s attributes, and keeps delivering the rest', async () => {
    const endpoint = await startEndpoint((r) => ({ status: Buffer.from(r.body.message.data, 'base64').toString().includes('poison') ? 500 : 204 }));
    const base = await channel();
    const trigger: PushTrigger = { ...base, deadLetter: { ...base.deadLetter, maxDeliveryAttempts: 3 } };
    const dead = await TopicTap.open<{ poison: boolean }>(pubsub, trigger.deadLetter.topic);
    const started = relay(trigger, endpoint.url);
    await publish(trigger.topic, { poison: true }, { signalId: 'bad' });
    for (let i = 0; i < 5; i += 1) await publish(trigger.topic, { good: i });
    await waitUntil('the dead letter', () => dead.messages.length === 1, 20_000);
    await settle(() => endpoint.received.length, 1_500);
    const poisonAttempts = endpoint.received.filter((r) => r.body.message.attributes?.signalId === 'bad');
    expect(poisonAttempts.map((r) => r.body.deliveryAttempt)).toEqual([1, 2, 3]);
    expect(endpoint.received).toHaveLength(3 + 5);
    expect(dead.messages[0]?.data).toEqual({ poison: true });
    expect(dead.messages[0]?.attributes).toMatchObject({
      signalId: 'bad',
      CloudPubSubDeadLetterSourceSubscription: trigger.subscription,
      CloudPubSubDeadLetterSourceDeliveryCount: '3',
    });
    expect(started.stats).toMatchObject({ acked: 5, failures: 3, deadLettered: 1 });
    await dead.close();
    await endpoint.close();
  });

  it('keeps many requests in flight, up to its limit', async () => {
    const endpoint = await startEndpoint(() => ({ status: 204, delayMs: 300 }));
    const trigger = await channel();
    const started = relay(trigger, endpoint.url, 40);
    await Promise.all(Array.from({ length: 100 }, (_, i) => publish(trigger.topic, { i })));
    await waitUntil('every delivery', () => endpoint.received.length === 100, 20_000);
    expect(endpoint.maxInFlight()).toBeGreaterThanOrEqual(30);
    expect(endpoint.maxInFlight()).toBeLessThanOrEqual(40);
    expect(started.stats.maxInFlight).toBeLessThanOrEqual(40);
    await endpoint.close();
  });
});
