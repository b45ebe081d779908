import { serveHttp } from '../../shared/http/serve.js';
import { loadConfig } from '../../shared/config.js';
import { invokerVerifierFromConfig, requireInvoker } from '../../shared/http/invoker-auth.js';
import { OrderRequest } from '../../shared/domain/messages.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { DeadLetterBox } from '../../shared/firestore/dead-letters.js';
import { pushHandler } from '../../shared/pubsub/push-handler.js';
import { routeOrder } from '../../shared/trading/route-order.js';
import { tradingDepsFromConfig } from '../../shared/trading/runtime.js';

/**
 * order-router (Pub/Sub push from `orders`): places each order on the venue (paper or
 * Binance-compatible), records it, and applies what the venue reports. Idempotent by orderId.
 */

const config = loadConfig(process.env, 'order-router');
const deps = tradingDepsFromConfig(config);

serveHttp(
  'orderRouter',
  requireInvoker(
    invokerVerifierFromConfig(config),
    pushHandler({
      schema: OrderRequest,
      deadLetters: new DeadLetterBox(firestoreFor(config.GOOGLE_CLOUD_PROJECT)),
      handle: (order) => routeOrder(deps, order),
    }),
  ),
);
