import type { Request, Response } from '@google-cloud/functions-framework';
import { serveHttp } from '../../shared/http/serve.js';
import { loadConfig } from '../../shared/config.js';
import { invokerVerifierFromConfig, requireInvoker } from '../../shared/http/invoker-auth.js';
import { MonitoringNotification, incidentAction } from '../../shared/domain/monitoring.js';
import { flushOutbox } from '../../shared/firestore/alert-outbox.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { DeadLetterBox } from '../../shared/firestore/dead-letters.js';
import { recordIncident } from '../../shared/firestore/incidents.js';
import { fieldErrors, refuseNonJsonBody, sendProblem } from '../../shared/http/problems.js';
import { matchesAnySecret } from '../../shared/http/secrets.js';
import { log } from '../../shared/log.js';
import { pubsubOnFirstUse } from '../../shared/pubsub/lazy-client.js';
import { JsonPublisher } from '../../shared/pubsub/publisher.js';
import { pushHandler } from '../../shared/pubsub/push-handler.js';

/**
 * monitoring-incidents: Cloud Monitoring incidents in, Sapphire alerts (and halts) out.
 *   POST /pubsub               push from the Pub/Sub notification channel's topic
 *   POST /webhook?token=...    the webhook notification channel, authenticated by its token
 */

const config = loadConfig(process.env, 'monitoring-incidents');
const db = firestoreFor(config.GOOGLE_CLOUD_PROJECT);
const publisher = new JsonPublisher(pubsubOnFirstUse(config.GOOGLE_CLOUD_PROJECT));

async function handle(notification: MonitoringNotification): Promise<'recorded' | 'duplicate'> {
  const action = incidentAction(notification, new Date());
  const outcome = await recordIncident(db, notification, action, new Date());
  await flushOutbox(db, publisher, config.topics.alerts);
  log.warn('monitoring incident', {
    incidentId: notification.incident.incident_id,
    state: notification.incident.state,
    policy: notification.incident.policy_name,
    outcome,
    halts: action.halts,
  });
  return outcome;
}

const fromPubSub = requireInvoker(
  invokerVerifierFromConfig(config),
  pushHandler({
    path: '/pubsub',
    schema: MonitoringNotification,
    deadLetters: new DeadLetterBox(db),
    handle: async (notification) => {
      await handle(notification);
    },
  }),
);

async function fromWebhook(req: Request, res: Response): Promise<void> {
  const token = typeof req.query.token === 'string' ? req.query.token : '';
  if (!config.MONITORING_WEBHOOK_TOKEN || !matchesAnySecret(token, [config.MONITORING_WEBHOOK_TOKEN])) {
    sendProblem(res, 401, 'a valid token is required');
    return;
  }
  if (refuseNonJsonBody(req, res)) return;
  const parsed = MonitoringNotification.safeParse(req.body);
  if (!parsed.success) {
    sendProblem(res, 400, 'not a Cloud Monitoring notification', fieldErrors(parsed.error));
    return;
  }
  res.status(200).json({ outcome: await handle(parsed.data) });
}

serveHttp('monitoringIncidents', async (req, res) => {
  try {
    if (req.method === 'POST' && req.path === '/webhook') return await fromWebhook(req, res);
    if (req.method === 'POST' && req.path === '/pubsub') return await fromPubSub(req, res);
    sendProblem(res, 404, 'routes: POST /webhook?token=…, POST /pubsub');
  } catch (error) {
    log.error('monitoring incident failed', { error });
    sendProblem(res, 500, 'internal error');
  }
});
