import { serveHttp } from '../../shared/http/serve.js';
import { z } from 'zod';
import { loadConfig } from '../../shared/config.js';
import { AgentId } from '../../shared/domain/vocabulary.js';
import { invokerVerifierFromConfig, requireInvoker } from '../../shared/http/invoker-auth.js';
import { fieldErrors, refuseAllButPost, sendProblem } from '../../shared/http/problems.js';
import { log } from '../../shared/log.js';
import { checkTrainingRuns } from '../../shared/training/check.js';
import { startTraining } from '../../shared/training/kickoff.js';
import { trainingDepsFromConfig } from '../../shared/training/runtime.js';

/**
 * training-kickoff (Cloud Scheduler): `{"agentId": "..."}` once a week per agent (staggered)
 * starts that agent's fine-tuning on the window that ended at the last period boundary, at most
 * once per window; `{"action": "check"}` every ten minutes moves runs along from their Vertex
 * jobs, deploys models that pass the gate and alerts on failures. Operators start, list,
 * promote and roll back through ops-api.
 */

const config = loadConfig(process.env, 'training-kickoff');
const deps = trainingDepsFromConfig(config);
const Body = z.union([z.object({ agentId: AgentId }).strict(), z.object({ action: z.literal('check') }).strict()]);

serveHttp(
  'trainingKickoff',
  requireInvoker(invokerVerifierFromConfig(config), async (req, res) => {
    if (refuseAllButPost(req, res)) return;
    const body = Body.safeParse(req.body);
    if (!body.success) {
      sendProblem(res, 400, 'expected {"agentId": "<agent>"} or {"action": "check"}', fieldErrors(body.error));
      return;
    }
    if (!deps) {
      sendProblem(res, 409, 'training is not configured (TRAINING_BUCKET)');
      return;
    }
    try {
      if ('action' in body.data) {
        res.status(200).json(await checkTrainingRuns(deps));
        return;
      }
      const result = await startTraining(deps, { agentId: body.data.agentId, requestedBy: 'schedule' });
      if (result.outcome === 'unknown_agent') {
        sendProblem(res, 404, `no agent profile for ${result.agentId}`);
        return;
      }
      res.status(200).json(result);
    } catch (error) {
      log.error('training kickoff failed', { error });
      sendProblem(res, 500, 'training kickoff failed; the next run retries');
    }
  }),
);
