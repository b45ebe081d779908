import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firestoreFor } from '../../shared/firestore/client.js';
import { COLLECTIONS } from '../../shared/firestore/collections.js';
import { HEARTBEAT_DOC } from '../../shared/risk/evaluate.js';
import { type ServedFunction, closeInOrder, isolatedProject, serveFunction } from '../support/stack.js';

/** /healthz reports real readiness: it turns 503 when the drawdown evaluator stops running. */

const projectId = isolatedProject('health');
const db = firestoreFor(projectId);
let ops: ServedFunction;

const heartbeat = (agoMs: number) => db.collection(COLLECTIONS.riskState).doc(HEARTBEAT_DOC).set({ lastRunAt: new Date(Date.now() - agoMs).toISOString() });
const health = async () => {
  const response = await fetch(`${ops.url}/healthz`);
  return { status: response.status, body: (await response.json()) as { status: string; checks: { evaluator: { ok: boolean; ageSeconds?: number } } } };
};

beforeAll(async () => {
  ops = await serveFunction(() => import('../../functions/ops-api/index.js'), 'opsApi');
});

afterAll(async () => {
  await closeInOrder(ops);
});

describe('/healthz', () => {
  it('is degraded (503) before the evaluator has ever run', async () => {
    expect(await health()).toMatchObject({ status: 503, body: { status: 'degraded', checks: { evaluator: { ok: false } } } });
  });

  it('is ready (200) while the evaluator runs every minute', async () => {
    await heartbeat(30_000);
    expect(await health()).toMatchObject({ status: 200, body: { status: 'ok', checks: { firestore: { ok: true }, evaluator: { ok: true, ageSeconds: 30 }, deadLetters: { count: 0 } } } });
  });

  it('turns 503 when the evaluator has not run for 3 minutes', async () => {
    await heartbeat(181_000);
    expect(await health()).toMatchObject({ status: 503, body: { status: 'degraded', checks: { evaluator: { ok: false, ageSeconds: 181 } } } });
  });
});
