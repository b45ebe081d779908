import { serveHttp } from '../../shared/http/serve.js';
import { deliverAlert } from '../../shared/alerts/deliver.js';
import { loadConfig } from '../../shared/config.js';
import { invokerVerifierFromConfig, requireInvoker } from '../../shared/http/invoker-auth.js';
import { RateLimiter } from '../../shared/concurrency/rate-limiter.js';
import { AlertMessage } from '../../shared/domain/messages.js';
import { DeliveryLog } from '../../shared/firestore/alert-deliveries.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { DeadLetterBox } from '../../shared/firestore/dead-letters.js';
import { pushHandler } from '../../shared/pubsub/push-handler.js';

/**
 * alert-publisher (Pub/Sub push from `alerts`): one notification per episode transition and
 * destination (Slack incoming webhooks, HMAC-signed generic webhooks), a log line always.
 */

const config = loadConfig(process.env, 'alert-publisher');
const db = firestoreFor(config.GOOGLE_CLOUD_PROJECT);
const deps = {
  destinations: config.ALERT_DESTINATIONS,
  deliveries: new DeliveryLog(db),
  limiter: new RateLimiter(config.ALERT_RATE_PER_SECOND),
};

serveHttp(
  'alertPublisher',
  requireInvoker(
    invokerVerifierFromConfig(config),
    pushHandler({
      schema: AlertMessage,
      deadLetters: new DeadLetterBox(db),
      handle: async (alert) => {
        await deliverAlert(deps, alert);
      },
    }),
  ),
);
