import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertMessage } from '../../shared/domain/messages.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { tradingStateOf } from '../../shared/firestore/trading-states.js';
import { pubsubFor } from '../../shared/pubsub/client.js';
import { TOPICS } from '../../triggers/manifest.js';
import type { LocalPushDelivery } from '../../scripts/lib/provision.js';
import { postJson } from '../support/http.js';
import { type ServedFunction, TopicTap, closeInOrder, deliverPushTo, isolatedProject, serveFunction, waitUntil } from '../support/stack.js';

const projectId = isolatedProject('monitoring');
const TOKEN = 'monitoring-token-0123456789';
process.env.MONITORING_WEBHOOK_TOKEN = TOKEN;
const db = firestoreFor(projectId);
const pubsub = pubsubFor(projectId);
let fn: ServedFunction;
let alerts: TopicTap<AlertMessage>;

/** A schema 1.2 notification as Cloud Monitoring sends it for one of Sapphire's policies. */
const drawdownIncident = {
  incident: {
    incident_id: '0.nf7fz3wq1m2x',
    scoping_project_id: 'sapphire-prod',
    scoping_project_number: 123456789012,
    url: 'https://console.cloud.google.com/monitoring/alerting/incidents/0.nf7fz3wq1m2x?project=sapphire-prod',
    started_at: 1678424400,
    ended_at: null,
    state: 'open',
    resource_id: '',
    resource_name: 'sapphire-prod Global',
    resource_display_name: 'Global',
    resource_type_display_name: 'Global',
    resource: { type: 'global', labels: { project_id: 'sapphire-prod' } },
    metric: { type: 'custom.googleapis.com/portfolio_drawdown_pct', displayName: 'portfolio_drawdown_pct', labels: {} },
    metadata: { system_labels: {}, user_labels: {} },
    policy_name: 'Sapphire portfolio drawdown > 25%',
    policy_user_labels: { sapphire_policy: 'drawdown' },
    documentation: { content: 'Trading halts.', mime_type: 'text/markdown', subject: 'drawdown', links: [] },
    condition: { name: 'projects/sapphire-prod/alertPolicies/1/conditions/2', displayName: 'portfolio_drawdown_pct above 25' },
    condition_name: 'portfolio_drawdown_pct above 25',
    threshold_value: '25',
    observed_value: '25.48',
    summary: 'portfolio_drawdown_pct for sapphire-prod Global rose above the threshold of 25 with a value of 25.48.',
  },
  version: '1.2',
};

/** The console's "Send test notification": upper-case state, made-up ids. */
const testNotification = {
  incident: {
    incident_id: '12345',
    scoping_project_id: 'sapphire-prod',
    scoping_project_number: 12345,
    url: 'http://www.example.com',
    started_at: 0,
    ended_at: 0,
    state: 'OPEN',
    summary: 'Test Incident',
    apigee_url: 'http://www.example.com',
    observed_value: 'Test Observed Value',
    resource: { type: 'example_resource', labels: { example: 'label' } },
    resource_type_display_name: 'Example Resource Type',
    resource_id: '12345',
    resource_display_name: 'Example Resource',
    resource_name: 'projects/12345/example_resources/12345',
    metric: { type: 'test.type', displayName: 'Test Metric', labels: { example: 'label' } },
    metadata: { system_labels: { example: 'label' }, user_labels: { example: 'label' } },
    policy_name: 'projects/12345/alertPolicies/12345',
    policy_user_labels: { user_label_1: 'value_1' },
    documentation: 'Test documentation',
    condition: { name: 'projects/12345/alertPolicies/12345/conditions/12345', displayName: 'Example condition' },
    condition_name: 'Example condition',
    threshold_value: 'Test Threshold Value',
  },
  version: 'test',
};

function post(path: string, body: unknown): Promise<Response> {
  return postJson(`${fn.url}${path}`, body);
}

let delivery: LocalPushDelivery | undefined;

beforeAll(async () => {
  fn = await serveFunction(() => import('../../functions/monitoring-incidents/index.js'), 'monitoringIncidents');
  delivery = await deliverPushTo(pubsub, { 'monitoring-incidents': fn });
  alerts = await TopicTap.open(pubsub, TOPICS.alerts);
});

afterAll(async () => {
  await closeInOrder(delivery, alerts, fn);
});

describe('monitoring-incidents', () => {
  it('refuses a wrong or missing token with 401 and records nothing', async () => {
    expect((await post('/webhook?token=wrong-token-0123456789', drawdownIncident)).status).toBe(401);
    expect((await post('/webhook', drawdownIncident)).status).toBe(401);
    expect((await db.collection('incidents').get()).size).toBe(0);
    expect(await tradingStateOf(db, 'portfolio')).toBeUndefined();
  });

  it('takes a schema 1.2 drawdown incident: records it once, forwards an alert, halts the portfolio', async () => {
    const first = await post(`/webhook?token=${TOKEN}`, drawdownIncident);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ outcome: 'recorded' });
    expect(await (await post(`/webhook?token=${TOKEN}`, drawdownIncident)).json()).toEqual({ outcome: 'duplicate' });
    expect(await tradingStateOf(db, 'portfolio')).toMatchObject({ state: 'halted', changedBy: 'cloud-monitoring' });
    const forwarded = await alerts.waitForMessage('the forwarded alert', (a) => a.episodeId === 'monitoring:0.nf7fz3wq1m2x');
    expect(forwarded.data).toMatchObject({
      transition: 'open',
      severity: 'critical',
      limitType: 'portfolio_drawdown',
      source: 'cloud-monitoring',
      openedAt: '2023-03-10T05:00:00.000Z',
    });
  });

  it('takes a test notification with its upper-case state', async () => {
    const response = await post(`/webhook?token=${TOKEN}`, testNotification);
    expect(response.status).toBe(200);
    expect((await db.collection('incidents').doc('12345:open').get()).exists).toBe(true);
  });

  it('answers a notification sent as text/plain 415, not 400, and records nothing', async () => {
    const before = (await db.collection('incidents').get()).size;
    const text = await fetch(`${fn.url}/webhook?token=${TOKEN}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(testNotification) });
    expect(text.status).toBe(415);
    expect(await text.json()).toEqual({ error: 'the body must be JSON (Content-Type: application/json)' });
    expect((await db.collection('incidents').get()).size).toBe(before);
  });

  it('answers 400 for a body that is not a notification', async () => {
    const response = await post(`/webhook?token=${TOKEN}`, { incident: { state: 'maybe' } });
    expect(response.status).toBe(400);
  });

  it('takes incidents from the Pub/Sub notification channel too, and their closing', async () => {
    const closed = { ...drawdownIncident, incident: { ...drawdownIncident.incident, state: 'closed', ended_at: 1678438800 } };
    await pubsub.topic(TOPICS.monitoringIncidents).publishMessage({ json: closed });
    await waitUntil('the closing', async () => (await db.collection('incidents').doc('0.nf7fz3wq1m2x:closed').get()).exists);
    await alerts.waitForMessage('the resolve alert', (a) => a.episodeId === 'monitoring:0.nf7fz3wq1m2x' && a.transition === 'resolve');
    // Closing an incident does not resume trading: only an operator does.
    expect(await tradingStateOf(db, 'portfolio')).toMatchObject({ state: 'halted' });
  });
});
