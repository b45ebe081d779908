import { createHash } from 'node:crypto';
import type { Request, Response } from '@google-cloud/functions-framework';
import { z } from 'zod';
import { listAgentProfiles } from '../firestore/agent-profiles.js';
import { FlattenBook } from '../firestore/flattens.js';
import { fieldErrors, sendProblem } from '../http/problems.js';
import type { TradingDeps } from '../trading/deps.js';
import { adoptVenuePosition } from '../trading/adopt-position.js';
import { flattenAgents, flattenProgress } from '../trading/flatten.js';

/**
 * The operator's position routes on ops-api (the caller is an authenticated operator):
 *   POST /agents/{id}/flatten | /portfolio/flatten   {"reason"}   cancel open orders, close every
 *        position reduce-only; 202 with the progress. A retry (same Idempotency-Key, or the same
 *        operator, scope and reason within the minute) is the same flatten.
 *   GET  /flattens/{flattenId}                        progress: what is left of each position
 *   POST /agents/{id}/positions/{symbol}/adopt  {"reason"}   make Sapphire's position the one the
 *        agent's venue account holds (after a position mismatch); the agent trades again
 */

const ROUTE = /^\/(?:agents\/([a-z0-9][a-z0-9-]{1,62})|(portfolio))\/flatten$/;
const PROGRESS = /^\/flattens\/([A-Za-z0-9._:-]{1,200})$/;
const ADOPT = /^\/agents\/([a-z0-9][a-z0-9-]{1,62})\/positions\/([A-Z0-9]{2,20})\/adopt$/;
const Body = z.object({ reason: z.string().trim().min(3).max(500) }).strict();

export function isFlattenRoute(req: Request): boolean {
  return (req.method === 'POST' && (ROUTE.test(req.path) || ADOPT.test(req.path))) || (req.method === 'GET' && PROGRESS.test(req.path));
}

export async function handleFlattenRoute(req: Request, res: Response, deps: TradingDeps, operator: string): Promise<void> {
  const book = new FlattenBook(deps.trades.db);
  const progress = PROGRESS.exec(req.path);
  if (req.method === 'GET' && progress) {
    const found = await flattenProgress(deps, book, progress[1] as string);
    if (!found) return sendProblem(res, 404, `no flatten ${progress[1]}`);
    res.status(200).json(found);
    return;
  }
  const body = Body.safeParse(req.body);
  if (!body.success) return sendProblem(res, 400, 'say why', fieldErrors(body.error));
  const profiles = await listAgentProfiles(deps.trades.db);
  const adopt = ADOPT.exec(req.path);
  if (adopt) {
    const [, adoptAgent, symbol] = adopt as unknown as [string, string, string];
    if (!profiles.some((p) => p.agentId === adoptAgent)) return sendProblem(res, 404, `no agent profile for ${adoptAgent}`);
    const result = await adoptVenuePosition(deps, adoptAgent, symbol, { by: `operator:${operator}`, reason: body.data.reason });
    if (result.outcome === 'shared_account') return sendProblem(res, 409, `${adoptAgent} trades on the shared account: its position there cannot be told apart`);
    res.status(200).json(result);
    return;
  }
  const [, agentId, portfolio] = ROUTE.exec(req.path) as RegExpExecArray;
  const agentIds = portfolio ? profiles.map((p) => p.agentId) : [agentId as string];
  if (!portfolio && !profiles.some((p) => p.agentId === agentId)) return sendProblem(res, 404, `no agent profile for ${agentId}`);
  const scope = portfolio ?? (agentId as string);
  const key = req.get('idempotency-key') ?? `${operator}|${scope}|${body.data.reason}|${new Date().toISOString().slice(0, 16)}`;
  const flattenId = `ops-${scope}-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
  res.status(202).json(await flattenAgents(deps, book, { flattenId, agentIds, requestedBy: `operator:${operator}`, reason: body.data.reason }));
}
