import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertMessage } from '../../shared/domain/messages.js';
import { verifyWebhook } from '../../shared/domain/webhook-signature.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { pubsubFor } from '../../shared/pubsub/client.js';
import { JsonPublisher } from '../../shared/pubsub/publisher.js';
import { TOPICS } from '../../triggers/manifest.js';
import type { LocalPushDelivery } from '../../scripts/lib/provision.js';
import { type RecordingServer, startRecordingServer } from '../support/recording-server.js';
import { type ServedFunction, closeInOrder, deliverPushTo, isolatedProject, serveFunction, settle, waitUntil } from '../support/stack.js';

/** alert-publisher through the Pub/Sub emulator, against stand-in Slack and webhook receivers. */

const projectId = isolatedProject('alerts');
const db = firestoreFor(projectId);
const pubsub = pubsubFor(projectId);
const publisher = new JsonPublisher(pubsub);
const HOOK_SECRET = 'alert-hook-secret-0123456789';
let slack: RecordingServer;
let hook: RecordingServer;
let broken: RecordingServer;
let fn: ServedFunction;

const alert: AlertMessage = {
  episodeId: 'portfolio_drawdown:portfolio@2023-03-10T05:00:00.000Z',
  transition: 'open',
  key: 'portfolio_drawdown:portfolio',
  limitType: 'portfolio_drawdown',
  scope: 'portfolio',
  severity: 'critical',
  message: 'portfolio drawdown 25.48% above 25.00%: all trading halted',
  value: 0.2548,
  threshold: 0.25,
  source: 'drawdown-evaluator',
  openedAt: '2023-03-10T05:00:00.000Z',
};

let delivery: LocalPushDelivery | undefined;

beforeAll(async () => {
  slack = await startRecordingServer();
  hook = await startRecordingServer((_r, i) => (i < 2 ? 500 : 200)); // fails twice, then recovers
  broken = await startRecordingServer(() => 503);
  process.env.ALERT_DESTINATIONS = JSON.stringify([
    { name: 'ops-slack', type: 'slack', url: `${slack.url}/services/T000/B000/XXXX` },
    { name: 'pager', type: 'webhook', url: `${hook.url}/hook`, secret: HOOK_SECRET },
    { name: 'broken', type: 'webhook', url: `${broken.url}/down`, secret: HOOK_SECRET },
  ]);
  process.env.ALERT_RATE_PER_SECOND = '50';
  fn = await serveFunction(() => import('../../functions/alert-publisher/index.js'), 'alertPublisher');
  delivery = await deliverPushTo(pubsub, { 'alert-publisher': fn });
});

afterAll(async () => {
  await closeInOrder(delivery, fn);
  await Promise.all([slack?.close(), hook?.close(), broken?.close()]);
});

describe('alert-publisher', () => {
  it('notifies each destination once per transition, retries a failing one, and is not held up by a dead one', async () => {
    // The same transition published five times, as a redelivering evaluator would.
    await Promise.all(Array.from({ length: 5 }, () => publisher.publish(TOPICS.alerts, alert)));
    await waitUntil(
      'slack, the webhook and the dead destination',
      () => slack.requests.length >= 1 && hook.requests.length >= 3 && broken.requests.length >= 3,
      30_000,
    );
    await settle(() => slack.requests.length + hook.requests.length, 1_500);

    expect(slack.requests).toHaveLength(1);
    expect(JSON.parse(slack.requests[0]?.body ?? '{}')).toEqual({
      text: ':rotating_light: *CRITICAL* portfolio drawdown 25.48% above 25.00%: all trading halted (portfolio_drawdown, portfolio, since 2023-03-10T05:00:00.000Z)',
    });

    // Two failures, then one delivery: retried, and delivered once.
    expect(hook.requests).toHaveLength(3);
    const delivered = hook.requests[2];
    expect(JSON.parse(delivered?.body ?? '{}')).toEqual(alert);
    expect(
      verifyWebhook({
        secrets: [HOOK_SECRET],
        timestampHeader: delivered?.headers['x-sapphire-timestamp'] as string,
        signatureHeader: delivered?.headers['x-sapphire-signature'] as string,
        rawBody: delivered?.body ?? '',
        nowSeconds: Math.floor(Date.now() / 1000),
      }),
    ).toEqual({ ok: true });

    expect(broken.requests.length).toBeGreaterThanOrEqual(3);
    const record = await db.collection('alertDeliveries').doc(`${alert.episodeId}:open:broken`).get();
    expect(record.get('status')).toMatch(/failed|sending/);
    expect((await db.collection('alertDeliveries').doc(`${alert.episodeId}:open:ops-slack`).get()).get('status')).toBe('delivered');
  }, 60_000);

  it('sends the resolution as its own notification', async () => {
    const before = slack.requests.length;
    await publisher.publish(TOPICS.alerts, {
      ...alert,
      transition: 'resolve',
      message: 'resolved: portfolio drawdown 25.48% above 25.00%: all trading halted',
      resolvedAt: '2023-03-10T09:00:00.000Z',
    });
    await waitUntil('the resolution', () => slack.requests.length > before);
    expect(JSON.parse(slack.requests.at(-1)?.body ?? '{}').text).toMatch(/^:white_check_mark: \*RESOLVED\*/);
  });
});
