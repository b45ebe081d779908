import type { Firestore } from '@google-cloud/firestore';
import type { Request, Response } from '@google-cloud/functions-framework';
import { z } from 'zod';
import { AgentProfile, AgentProfileChanges } from '../domain/agents.js';
import { agentProfileOf, changeAgentProfile, listAgentProfiles } from '../firestore/agent-profiles.js';
import { fieldErrors, sendProblem } from '../http/problems.js';
import { log } from '../log.js';

/**
 * The operator's agent-profile routes on ops-api (the caller is an authenticated operator):
 *   GET   /agents, GET /agents/{id}
 *   PATCH /agents/{id}   {"changes": {…}, "reason"}   budget, leverage, sizes, symbols, …
 *   PUT   /agents/{id}   {"profile": {…}, "reason"}   a whole profile: a new agent, or a replacement
 * Validated as a whole profile after the change; audited with before and after; the next
 * reservation reads it.
 */

const ROUTE = /^\/agents(?:\/([a-z0-9][a-z0-9-]{1,62}))?$/;
const Reason = z.string().trim().min(3).max(500);
const PatchBody = z.object({ changes: AgentProfileChanges, reason: Reason }).strict();
const PutBody = z.object({ profile: z.unknown(), reason: Reason }).strict();
/**
 * A profile is a few hundred bytes (a thousand symbols: some 12 KB). Far larger is a mistake, and
 * near a megabyte its document and audit record no longer fit in Firestore: refused, not failed.
 */
const MAX_PROFILE_BYTES = 32 * 1024;
const tooLarge = (profile: unknown) => Buffer.byteLength(JSON.stringify(profile) ?? '') > MAX_PROFILE_BYTES;
const TOO_LARGE = [{ field: 'profile', message: `a profile is at most ${MAX_PROFILE_BYTES} bytes as JSON` }];

class UnknownAgent extends Error {}
class ProfileTooLarge extends Error {}

export function isAgentsRoute(req: Request): boolean {
  const match = ROUTE.exec(req.path);
  if (!match) return false;
  return req.method === 'GET' || (match[1] !== undefined && (req.method === 'PATCH' || req.method === 'PUT'));
}

export async function handleAgentsRoute(req: Request, res: Response, db: Firestore, operator: string): Promise<void> {
  const agentId = (ROUTE.exec(req.path) as RegExpExecArray)[1];
  if (req.method === 'GET') {
    if (!agentId) {
      res.status(200).json({ agents: await listAgentProfiles(db) });
      return;
    }
    const profile = await agentProfileOf(db, agentId);
    if (!profile) return sendProblem(res, 404, `no agent profile for ${agentId}`);
    res.status(200).json(profile);
    return;
  }
  const audit = { by: `operator:${operator}`, at: new Date() };
  if (req.method === 'PATCH') {
    const body = PatchBody.safeParse(req.body);
    if (!body.success) return sendProblem(res, 400, 'send {"changes": {…}, "reason": "…"}', fieldErrors(body.error));
    try {
      const result = await changeAgentProfile(
        db,
        agentId as string,
        (current) => {
          if (!current) throw new UnknownAgent();
          const changed = { ...current, ...body.data.changes };
          if (tooLarge(changed)) throw new ProfileTooLarge();
          return changed;
        },
        { ...audit, reason: body.data.reason },
      );
      log.warn('agent profile changed', { agentId, operator, reason: body.data.reason, changes: body.data.changes });
      res.status(200).json(result);
    } catch (error) {
      if (error instanceof UnknownAgent) return sendProblem(res, 404, `no agent profile for ${agentId}; PUT a whole profile to add one`);
      if (error instanceof ProfileTooLarge) return sendProblem(res, 400, 'the profile would be too large', TOO_LARGE);
      if (error instanceof z.ZodError) return sendProblem(res, 400, 'the profile would not be valid', fieldErrors(error));
      throw error;
    }
    return;
  }
  const body = PutBody.safeParse(req.body);
  if (!body.success) return sendProblem(res, 400, 'send {"profile": {…}, "reason": "…"}', fieldErrors(body.error));
  if (tooLarge(body.data.profile)) return sendProblem(res, 400, 'the profile is too large', TOO_LARGE);
  const profile = AgentProfile.safeParse(body.data.profile);
  if (!profile.success) return sendProblem(res, 400, 'not a valid agent profile', fieldErrors(profile.error));
  if (profile.data.agentId !== agentId) return sendProblem(res, 400, `the profile's agentId must be ${agentId}`);
  const result = await changeAgentProfile(db, agentId, () => profile.data, { ...audit, reason: body.data.reason });
  log.warn('agent profile replaced', { agentId, operator, reason: body.data.reason });
  res.status(result.before ? 200 : 201).json(result);
}
