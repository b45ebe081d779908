import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AGENTS } from '../../shared/domain/agents.js';
import { USD } from '../../shared/domain/money.js';
import { agentProfileOf } from '../../shared/firestore/agent-profiles.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { COLLECTIONS } from '../../shared/firestore/collections.js';
import { MarginLedger } from '../../shared/firestore/margin-ledger.js';
import { bearer } from '../support/http.js';
import { makeSignal } from '../support/signals.js';
import { type ServedFunction, closeInOrder, isolatedProject, serveFunction } from '../support/stack.js';
import { seedTestAgent } from '../support/trading.js';

/** Agent profiles changed in production through ops-api: validated, audited, read by the next reservation. */

const projectId = isolatedProject('profiles');
const db = firestoreFor(projectId);
const TOKEN = 'profiles-ops-token-0123456789';
let ops: ServedFunction;
const margins = new MarginLedger(db, { maxSymbolsPerAgent: 50 });

const send = (method: 'PATCH' | 'PUT', path: string, body: unknown, token: string | null = TOKEN) =>
  fetch(`${ops.url}${path}`, { method, headers: { 'content-type': 'application/json', ...(token ? bearer(token) : {}) }, body: JSON.stringify(body) });
const reserve = (signalId: string, notionalUsd: number) =>
  margins.reserveMargin(makeSignal({ agentId: 'prof-agent', signalId, symbol: 'BTCUSDT', size: { type: 'notional', notionalMicros: notionalUsd * USD }, leverage: 2 }));

beforeAll(async () => {
  process.env.OPS_API_TOKENS = `alice:${TOKEN}`;
  // Training on, so its routes answer more than "not configured"; no market, so nothing waits on one.
  process.env.TRAINING_BUCKET = 'profiles-training-bucket';
  process.env.MARKET_DATA_URL = 'http://127.0.0.1:9';
  ops = await serveFunction(() => import('../../functions/ops-api/index.js'), 'opsApi');
  await seedTestAgent(db, 'prof-agent', { allowedSymbols: ['BTCUSDT'] });
});

afterAll(async () => {
  await closeInOrder(ops);
});

describe('agent profiles on ops-api', () => {
  it('needs an operator and a reason', async () => {
    expect((await send('PATCH', '/agents/prof-agent', { changes: { maxLeverage: 3 }, reason: 'lower risk' }, null)).status).toBe(401);
    expect((await send('PATCH', '/agents/prof-agent', { changes: { maxLeverage: 3 } })).status).toBe(400);
  });

  it('refuses a change that would make the profile invalid, or that names an unknown field, and changes nothing', async () => {
    const invalid = await send('PATCH', '/agents/prof-agent', { changes: { minPositionNotionalMicros: 9_000 * USD }, reason: 'typo' });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ fields: [{ field: 'minPositionNotionalMicros' }] });
    expect((await send('PATCH', '/agents/prof-agent', { changes: { budget: 5 }, reason: 'typo' })).status).toBe(400);
    expect((await send('PATCH', '/agents/no-such-agent', { changes: { maxLeverage: 3 }, reason: 'typo' })).status).toBe(404);
    expect(await agentProfileOf(db, 'prof-agent')).toMatchObject({ minPositionNotionalMicros: 10 * USD, maxLeverage: 10 });
  });

  it('changes the budget, audited with who, why, before and after, for the next reservation', async () => {
    expect((await reserve('prof-1', 200)).record).toMatchObject({ status: 'reserved', marginMicros: 100 * USD });
    const answer = await send('PATCH', '/agents/prof-agent', { changes: { marginAllocationMicros: 50 * USD }, reason: 'risk review: halve exposure' });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ before: { marginAllocationMicros: 1_000 * USD }, after: { marginAllocationMicros: 50 * USD } });
    const audit = (await db.collection(COLLECTIONS.agentProfileChanges).where('agentId', '==', 'prof-agent').get()).docs.map((d) => d.data());
    expect(audit).toEqual([expect.objectContaining({ by: 'operator:alice', reason: 'risk review: halve exposure', before: expect.objectContaining({ marginAllocationMicros: 1_000 * USD }), after: expect.objectContaining({ marginAllocationMicros: 50 * USD }) })]);
    // Below what is committed: new risk is refused, and nothing fails.
    expect((await reserve('prof-2', 20)).record).toMatchObject({ status: 'rejected', reason: 'agent_margin_exceeded' });
    expect(await margins.ledgerOf('prof-agent')).toMatchObject({ reservedMicros: 100 * USD });
  });

  it('answers a halt of an agent that does not exist 404, instead of "halted"', async () => {
    const typo = await fetch(`${ops.url}/agents/prof-agnet/halt`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(TOKEN) }, body: JSON.stringify({ reason: 'stop it' }) });
    expect(typo.status).toBe(404);
    expect(await typo.json()).toEqual({ error: 'no agent profile for prof-agnet' });
  });

  it('adds a new agent from a whole profile, and reads it back', async () => {
    const profile = { ...DEFAULT_AGENTS[0], agentId: 'prof-new', displayName: 'New', allowedSymbols: ['ETHUSDT'] };
    expect((await send('PUT', '/agents/prof-new', { profile: { ...profile, agentId: 'someone-else' }, reason: 'onboarding' })).status).toBe(400);
    expect((await send('PUT', '/agents/prof-new', { profile, reason: 'onboarding' })).status).toBe(201);
    const read = await fetch(`${ops.url}/agents/prof-new`, { headers: bearer(TOKEN) });
    expect(await read.json()).toMatchObject({ agentId: 'prof-new', allowedSymbols: ['ETHUSDT'] });
  });
});

describe('operator routes refuse what names no agent or reaches too far, and change nothing', () => {
  const post = (path: string, body: unknown) => fetch(`${ops.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(TOKEN) }, body: JSON.stringify(body) });
  const everything = async () => {
    const collections = await db.listCollections();
    const docs = await Promise.all(collections.map(async (c) => (await c.get()).docs.map((d) => [d.ref.path, d.data()] as const)));
    return Object.fromEntries(docs.flat());
  };

  it('answers /agents/portfolio/halt, resume and reset-peak 404: only /portfolio/… names the whole portfolio', async () => {
    const before = await everything();
    for (const action of ['halt', 'resume', 'reset-peak']) {
      const answer = await post(`/agents/portfolio/${action}`, { reason: 'not an agent' });
      expect(answer.status).toBe(404);
      expect(await answer.json()).toEqual({ error: 'no agent profile for portfolio' });
    }
    expect(await everything()).toEqual(before);
  });

  it('answers a promotion or rollback for an agent that does not exist 404, not 409', async () => {
    const before = await everything();
    const promote = await post('/agents/prof-agnet/training/promote', { runId: 'run-1', reason: 'ship it' });
    expect(promote.status).toBe(404);
    expect(await promote.json()).toEqual({ error: 'no agent profile for prof-agnet' });
    expect((await post('/agents/prof-agnet/training/rollback', { reason: 'undo it' })).status).toBe(404);
    expect(await everything()).toEqual(before);
  });

  it.each([
    ['from year 1 to 9999', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59Z', 'to'],
    ['ending in the future', '2023-03-01T00:00:00Z', '2099-01-01T00:00:00Z', 'to'],
    ['starting before any venue had candles', '2016-06-01T00:00:00Z', '2016-07-01T00:00:00Z', 'from'],
    ['longer than a year', '2021-01-01T00:00:00Z', '2023-01-01T00:00:00Z', 'to'],
  ])('refuses a training window %s with 400 before claiming a run', async (_label, from, to, field) => {
    const before = await everything();
    const answer = await post('/agents/prof-agent/training', { reason: 'retrain', from, to });
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { fields: { field: string }[] }).fields.map((f) => f.field)).toContain(field);
    expect(await everything()).toEqual(before);
  });

  it('refuses a profile far larger than any real one with 400, instead of failing in Firestore', async () => {
    const before = await everything();
    const patch = await send('PATCH', '/agents/prof-agent', { changes: { displayName: 'x'.repeat(900_000) }, reason: 'a long name' });
    expect(patch.status).toBe(400);
    expect(await patch.json()).toMatchObject({ fields: [{ field: 'profile' }] });
    const profile = { ...DEFAULT_AGENTS[0], agentId: 'prof-huge', model: 'x'.repeat(100_000) };
    expect((await send('PUT', '/agents/prof-huge', { profile, reason: 'onboarding' })).status).toBe(400);
    expect(await everything()).toEqual(before);
  });
});
