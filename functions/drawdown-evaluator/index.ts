import { serveHttp } from '../../shared/http/serve.js';
import { GroupCommitter } from '../../shared/concurrency/group-commit.js';
import { IntervalGate } from '../../shared/concurrency/interval-gate.js';
import { pushedMessage } from '../../shared/pubsub/push-envelope.js';
import { loadConfig } from '../../shared/config.js';
import { invokerVerifierFromConfig, requireInvoker } from '../../shared/http/invoker-auth.js';
import { PORTFOLIO_SCOPE } from '../../shared/domain/vocabulary.js';
import { refuseAllButPost, sendProblem } from '../../shared/http/problems.js';
import { log } from '../../shared/log.js';
import { metricWriterFromConfig } from '../../shared/monitoring/metric-writer.js';
import { metricFamilies } from '../../shared/ops/metrics.js';
import { readPortfolioView } from '../../shared/ops/portfolio-view.js';
import type { EvaluationResult } from '../../shared/firestore/risk-book.js';
import { evaluateAndEnforce, evaluatorDepsFromConfig } from '../../shared/risk/runtime.js';
import type { TradingDeps } from '../../shared/trading/deps.js';
import { tradingDepsFromConfig } from '../../shared/trading/runtime.js';
import { cloudIo } from '../../shared/runtime-io.js';

/**
 * drawdown-evaluator: on Cloud Scheduler's minute tick and after every applied order update
 * (push from `order-updates`), evaluates equity, peaks, drawdown, utilization and daily loss;
 * opens and resolves alert episodes; halts trading on a breach. Whatever the trigger says, the
 * answer is the same evaluation: the message only says "something changed".
 */

const config = loadConfig(process.env, 'drawdown-evaluator');
// One set of clients for the evaluation and for the flattens it may start.
const io = cloudIo(config);
const deps = evaluatorDepsFromConfig(config, io);
const { db } = deps;

const metrics = config.ENABLE_CLOUD_MONITORING ? metricWriterFromConfig(config) : undefined;
// Built on first need: most evaluations halt nothing.
let tradingDeps: TradingDeps | undefined;
const trading = () => (tradingDeps ??= tradingDepsFromConfig(config, io));

// Triggers arriving while an evaluation runs share the next one, instead of ten transactions
// fighting over the same risk documents (and a minute already evaluated costs two reads).
const evaluations = new GroupCommitter<string, undefined, EvaluationResult>(async (_key, triggers) => {
  const result = await evaluateAndEnforce(deps, trading);
  if (result.evaluated && metrics) {
    // Metrics are for people and alert policies; their failure never fails the evaluation.
    await metrics.write(metricFamilies(await readPortfolioView(db))).catch((error: unknown) => log.warn('metrics not written', { error }));
  }
  return triggers.map(() => ({ ok: true, value: result }) as const);
}, { maxBatch: 1_000 });

// Order updates pass a gate that opens once a second: a burst of fills shares a few evaluations
// instead of running them back to back beside the reservations they would slow. Evaluations are
// of market minutes, so a second's wait changes none; Cloud Scheduler's runs do not wait.
const orderUpdates = new IntervalGate(1_000);

serveHttp(
  'drawdownEvaluator',
  requireInvoker(invokerVerifierFromConfig(config), async (req, res) => {
    if (refuseAllButPost(req, res)) return;
    try {
      if (pushedMessage(req.body)) await orderUpdates.pass();
      const result = await evaluations.submit(PORTFOLIO_SCOPE, undefined);
      const portfolio = result.snapshots.find((s) => s.scope === PORTFOLIO_SCOPE);
      if (result.evaluated) {
        log.info('risk evaluated', {
          portfolio_drawdown_pct: portfolio ? portfolio.drawdownFraction * 100 : undefined,
          transitions: result.transitions.map((t) => `${t.transition}:${t.episode.key}`),
        });
      }
      res.status(200).json(result);
    } catch (error) {
      log.error('risk evaluation failed', { error });
      sendProblem(res, 500, 'evaluation failed; it will run again');
    }
  }),
);
