import { serveHttp } from '../../shared/http/serve.js';
import { loadConfig } from '../../shared/config.js';
import { invokerVerifierFromConfig, requireInvoker } from '../../shared/http/invoker-auth.js';
import { refuseAllButPost, sendProblem } from '../../shared/http/problems.js';
import { log } from '../../shared/log.js';
import { reconcile } from '../../shared/trading/reconcile.js';
import { reconcileOptionsFromConfig, tradingDepsFromConfig } from '../../shared/trading/runtime.js';

/**
 * reconciler (Cloud Scheduler, every minute): applies fills and order ends the webhooks missed,
 * ends orders that never reached the venue, cancels orders left open at the venue too long,
 * releases reservations that never became orders.
 */

const config = loadConfig(process.env, 'reconciler');
const deps = tradingDepsFromConfig(config);
const options = reconcileOptionsFromConfig(config);

serveHttp(
  'reconciler',
  requireInvoker(invokerVerifierFromConfig(config), async (req, res) => {
    if (refuseAllButPost(req, res)) return;
    try {
      res.status(200).json(await reconcile(deps, options));
    } catch (error) {
      log.error('reconciliation failed', { error });
      sendProblem(res, 500, 'reconciliation failed; the next run retries');
    }
  }),
);
