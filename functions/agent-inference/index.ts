import { serveHttp } from '../../shared/http/serve.js';
import { z } from 'zod';
import { loadConfig } from '../../shared/config.js';
import { invokerVerifierFromConfig, requireInvoker } from '../../shared/http/invoker-auth.js';
import { AgentId } from '../../shared/domain/vocabulary.js';
import { listAgentProfiles } from '../../shared/firestore/agent-profiles.js';
import { fieldErrors, refuseAllButPost, sendProblem } from '../../shared/http/problems.js';
import { runAgent } from '../../shared/inference/run-agents.js';
import { inferenceDepsFromConfig } from '../../shared/inference/runtime.js';
import { log } from '../../shared/log.js';

/**
 * agent-inference (Cloud Scheduler, one job per agent or one for all): each agent's market
 * context → its model (Vertex AI, or its local baseline) → a validated TradeSignal on
 * `signals`, or HOLD with the reason. Body: {"agentId": "…"} for one agent, {} for all.
 */

const config = loadConfig(process.env, 'agent-inference');
const deps = inferenceDepsFromConfig(config);
const { db } = deps;
const Body = z.object({ agentId: AgentId.optional() }).strict();

serveHttp(
  'agentInference',
  requireInvoker(invokerVerifierFromConfig(config), async (req, res) => {
    if (refuseAllButPost(req, res)) return;
    const body = Body.safeParse(typeof req.body === 'object' && req.body !== null && !Buffer.isBuffer(req.body) ? req.body : {});
    if (!body.success) {
      sendProblem(res, 400, 'invalid body', fieldErrors(body.error));
      return;
    }
    try {
      const agents = (await listAgentProfiles(db)).filter((a) => !body.data.agentId || a.agentId === body.data.agentId);
      if (body.data.agentId && agents.length === 0) {
        sendProblem(res, 404, `no agent profile for ${body.data.agentId}`);
        return;
      }
      const now = new Date();
      const runs = await Promise.allSettled(agents.map((agent) => runAgent(deps, agent, now)));
      const failed = runs.flatMap((r, i) => (r.status === 'rejected' ? [`${agents[i]?.agentId}: ${(r.reason as Error).message}`] : []));
      if (failed.length > 0) log.error('agent inference failed', { failed });
      res.status(failed.length === agents.length && agents.length > 0 ? 500 : 200).json({
        runs: runs.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
        failed,
      });
    } catch (error) {
      log.error('agent inference failed', { error });
      sendProblem(res, 500, 'inference failed; the next tick runs again');
    }
  }),
);
