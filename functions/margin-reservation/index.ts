import { serveHttp } from '../../shared/http/serve.js';
import { loadConfig } from '../../shared/config.js';
import { invokerVerifierFromConfig, requireInvoker } from '../../shared/http/invoker-auth.js';
import { log } from '../../shared/log.js';
import { TradeSignal } from '../../shared/domain/messages.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { DeadLetterBox } from '../../shared/firestore/dead-letters.js';
import { pushHandler } from '../../shared/pubsub/push-handler.js';
import { reserveAndPublish } from '../../shared/reservations/reserve-and-publish.js';
import { reservationDepsFromConfig } from '../../shared/reservations/runtime.js';

/**
 * margin-reservation (Pub/Sub push from `signals`): reserve margin or reject, in one Firestore
 * transaction per batch of an agent's signals, then publish the order or the risk event.
 */

const config = loadConfig(process.env, 'margin-reservation');
const deps = reservationDepsFromConfig(config);

serveHttp(
  'marginReservation',
  requireInvoker(
    invokerVerifierFromConfig(config),
    pushHandler({
      schema: TradeSignal,
      deadLetters: new DeadLetterBox(firestoreFor(config.GOOGLE_CLOUD_PROJECT)),
      handle: async (signal) => {
        const { record, decidedNow } = await reserveAndPublish(deps, signal);
        if (decidedNow) {
          const { signalId, agentId, symbol, status, reason, marginMicros, orderId, decisionLatencyMs } = record;
          log.info('reservation decided', { signalId, agentId, symbol, status, reason, marginMicros, orderId, decisionLatencyMs });
        }
      },
    }),
  ),
);
