import type { Request, Response } from '@google-cloud/functions-framework';
import { z } from 'zod';
import { AgentId, IsoTime } from '../domain/vocabulary.js';
import { agentProfileOf } from '../firestore/agent-profiles.js';
import { fieldErrors, sendProblem } from '../http/problems.js';
import type { TrainingDeps } from '../training/deps.js';
import { startTraining } from '../training/kickoff.js';
import { LifecycleRefusal, promoteRun, rollbackAgent } from '../training/lifecycle.js';

/**
 * The operator's training routes on ops-api (the caller is an authenticated operator):
 *   POST /agents/{id}/training            {"reason", "from"?, "to"?}  start (by default the last
 *                                          lookback up to this hour); the same window twice → one run
 *   GET  /training/runs[?agent=<id>]      runs, newest first
 *   POST /agents/{id}/training/promote    {"runId", "reason"}  deploy a run's model past the gate
 *   POST /agents/{id}/training/rollback   {"reason"}           put the previous model back
 */

const ROUTE = /^\/agents\/([a-z0-9][a-z0-9-]{1,62})\/training(?:\/(promote|rollback))?$/;
const Reason = z.string().trim().min(3).max(500);
/** No venue has candles before this; a window starting earlier is a typo. */
const EARLIEST_WINDOW_START = Date.parse('2017-01-01T00:00:00Z');
/** The longest window: a year, the most TRAINING_LOOKBACK_DAYS allows (and one day of slack). */
const MAX_WINDOW_MS = 366 * 86_400_000;
const StartBody = z
  .object({ reason: Reason, from: IsoTime.optional(), to: IsoTime.optional() })
  .strict()
  .refine((b) => (b.from === undefined) === (b.to === undefined), { message: 'give both from and to, or neither', path: ['from'] })
  .refine((b) => !b.from || !b.to || Date.parse(b.from) < Date.parse(b.to), { message: 'from must be before to', path: ['to'] })
  // Times from outside are bounded before a run is claimed for them: no future, no ancient history, at most a year.
  .refine((b) => !b.to || Date.parse(b.to) <= Date.now(), { message: 'to must not be in the future', path: ['to'] })
  .refine((b) => !b.from || Date.parse(b.from) >= EARLIEST_WINDOW_START, { message: 'from must be 2017 or later', path: ['from'] })
  .refine((b) => !b.from || !b.to || Date.parse(b.to) - Date.parse(b.from) <= MAX_WINDOW_MS, { message: 'a window is at most 366 days', path: ['to'] });
const PromoteBody = z.object({ runId: z.string().min(1).max(200), reason: Reason }).strict();
const RollbackBody = z.object({ reason: Reason }).strict();

export function isTrainingRoute(req: Request): boolean {
  return (req.method === 'GET' && req.path === '/training/runs') || (req.method === 'POST' && ROUTE.test(req.path));
}

/** Answers one training route; `deps` undefined: training is not configured. */
export async function handleTrainingRoute(req: Request, res: Response, deps: TrainingDeps | undefined, operator: string): Promise<void> {
  if (!deps) {
    sendProblem(res, 409, 'training is not configured (TRAINING_BUCKET)');
    return;
  }
  if (req.method === 'GET') {
    const agent = AgentId.safeParse(req.query.agent);
    res.status(200).json({ runs: await deps.runs.list(agent.success ? agent.data : undefined) });
    return;
  }
  const [, agentId, action] = ROUTE.exec(req.path) as RegExpExecArray;
  const by = `operator:${operator}`;
  const unknownAgent = async () => !(await agentProfileOf(deps.db, agentId as string));
  try {
    if (action === 'promote') {
      const body = PromoteBody.safeParse(req.body);
      if (!body.success) return sendProblem(res, 400, 'say which run and why', fieldErrors(body.error));
      if (await unknownAgent()) return sendProblem(res, 404, `no agent profile for ${agentId}`);
      res.status(200).json({ run: await promoteRun(deps, agentId as string, body.data.runId, { by, reason: body.data.reason }) });
      return;
    }
    if (action === 'rollback') {
      const body = RollbackBody.safeParse(req.body);
      if (!body.success) return sendProblem(res, 400, 'say why', fieldErrors(body.error));
      if (await unknownAgent()) return sendProblem(res, 404, `no agent profile for ${agentId}`);
      res.status(200).json(await rollbackAgent(deps, agentId as string, { by, reason: body.data.reason }));
      return;
    }
    const body = StartBody.safeParse(req.body);
    if (!body.success) return sendProblem(res, 400, 'say why (and optionally the window: from, to)', fieldErrors(body.error));
    const window = body.data.from && body.data.to ? { from: new Date(body.data.from), to: new Date(body.data.to) } : ('recent' as const);
    const result = await startTraining(deps, { agentId: agentId as string, requestedBy: by, window });
    if (result.outcome === 'unknown_agent') return sendProblem(res, 404, `no agent profile for ${result.agentId}`);
    res.status(result.outcome === 'started' ? 202 : 200).json(result);
  } catch (error) {
    if (error instanceof LifecycleRefusal) return sendProblem(res, 409, error.message);
    throw error;
  }
}
