import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { z } from 'zod';
import { AgentProfile, AgentProfileChanges, DEFAULT_AGENTS } from '../../shared/domain/agents.js';
import { IsoTime } from '../../shared/domain/vocabulary.js';
import { seedAgentProfiles } from '../../shared/firestore/agent-profiles.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { COLLECTIONS } from '../../shared/firestore/collections.js';
import {
  type FuzzCase,
  FuzzClient,
  type FuzzResponse,
  type RouteReport,
  badAuthorization,
  badPathParam,
  fuzzRoute,
  getRouteCases,
  expectClean,
  INPUTS_PER_ROUTE,
  jsonRouteCases,
  oneFieldBroken,
  reportTable,
  sampleCases,
  unknownIds,
  unknownRouteCases,
} from '../support/fuzz.js';
import { type ServedFunction, closeInOrder, isolatedProject, serveFunction } from '../support/stack.js';

/**
 * Fuzzing ops-api (issue 12, item 2): every route, 1,000 generated bad requests each through the
 * real server, with and without an operator's token. For each: no 5xx, JSON problems (Prometheus
 * text and the HTML dashboard only where documented), no stack, path or token in the answer or
 * the log, and no Firestore document changed. Ids that name no agent answer 404. Nothing valid
 * is sent to a route that would act on it: bodies are filtered with the routes' own rules.
 */

const projectId = isolatedProject('fuzz-ops');
process.env.SAPPHIRE_QUIET_LOGS = 'false';
const TOKEN = 'fuzz-ops-token-0123456789abcdef';
process.env.OPS_API_TOKENS = `fuzz-operator:${TOKEN}`;
// Training on, so its routes go past "not configured"; nothing valid reaches Cloud Storage or Vertex.
process.env.TRAINING_BUCKET = 'fuzz-training-bucket';
// No market here: a request that wrongly reached it fails at once instead of waiting on the network.
process.env.MARKET_DATA_URL = 'http://127.0.0.1:9';
const SECRETS = [TOKEN];
const db = firestoreFor(projectId);
const INPUTS = INPUTS_PER_ROUTE;
const KNOWN = DEFAULT_AGENTS.map((a) => a.agentId);
const AGENT = 'qwen-7b';
const OPERATOR = { authorization: `Bearer ${TOKEN}` };

let ops: ServedFunction;
let client: FuzzClient;
const reports: RouteReport[] = [];

beforeAll(async () => {
  await seedAgentProfiles(db, DEFAULT_AGENTS);
  ops = await serveFunction(() => import('../../functions/ops-api/index.js'), 'opsApi');
  client = new FuzzClient(ops.url);
});

afterAll(async () => {
  client?.close();
  await closeInOrder(ops);
  if (reports.length > 0) process.stdout.write(`\nfuzz-ops\n${reportTable(reports)}\n`);
});

/** Prometheus text and the dashboard's HTML are the documented answers of those two routes. */
function documentedText(c: FuzzCase, res: FuzzResponse): boolean {
  const path = c.request.path.split('?')[0];
  const type = String(res.headers['content-type'] ?? '');
  if (res.status !== 200 || c.request.method !== 'GET') return false;
  if (path === '/metrics') return /^(text\/plain|application\/openmetrics-text)/.test(type);
  if (path === '/dashboard') return /^text\/html/.test(type);
  return false;
}

async function fuzz(route: string, cases: readonly FuzzCase[]): Promise<void> {
  const report = await fuzzRoute({ route, client, cases, db, secrets: SECRETS, nonJsonAllowed: documentedText });
  reports.push(report);
  expectClean(report);
}

const badOperator = badAuthorization(TOKEN);
const badOperatorHeaders = badOperator.map((authorization) => (): Record<string, string> => (authorization === undefined ? {} : { authorization }));
const Reason = z.string().trim().min(3).max(500);
const ReasonBody = z.object({ reason: Reason }).strict();

/** Agent ids of the right form naming no agent; `portfolio` names the whole portfolio, never an agent. */
const unknownAgent = fc.oneof({ weight: 1, arbitrary: fc.constant('portfolio') }, { weight: 6, arbitrary: unknownIds(KNOWN) });

/** Near-valid bodies of a route whose body is {"reason"}: what `valid` refuses, 400. */
function brokenReasons(template: Record<string, unknown>, valid: (body: unknown) => boolean) {
  return oneFieldBroken(template)
    .filter((body) => !valid(body))
    .map((body) => ({ kind: 'a body with one field broken', body, expect: [400] as const }));
}

/** Paths of an agent route with ids that are none (400 or 404) or name no agent (404, `body` valid). */
function agentPaths(path: (id: string) => string, body: unknown) {
  return fc.oneof(
    unknownAgent.map((id) => ({ kind: 'an agent id that names no agent', path: path(id), body, expect: [404] as const })),
    badPathParam.map((id) => ({ kind: 'an agent id that is none', path: path(id), body, expect: [400, 404] as const })),
  );
}

describe('ops-api reads', () => {
  it('GET /healthz: 1,000 odd requests, no 5xx, JSON, nothing written', async () => {
    // A fresh evaluator heartbeat: the route answers 200 (503 would be its documented "degraded").
    await db.collection(COLLECTIONS.riskState).doc('heartbeat').set({ lastRunAt: new Date().toISOString() });
    await fuzz('ops-api GET /healthz', sampleCases(getRouteCases({ path: '/healthz', auth: {}, okStatus: [200] }), INPUTS, 2101));
  });

  it.each([['/metrics'], ['/dashboard'], ['/dashboard.json'], ['/']])('GET %s: 1,000 odd requests, 401 without a token, nothing written', async (path) => {
    const okStatus = path === '/' ? [302] : [200];
    await fuzz(`ops-api GET ${path}`, sampleCases(getRouteCases({ path, auth: OPERATOR, badAuth: badOperator, okStatus, costly: path !== '/' }), INPUTS, 2102 + path.length));
  });

  it('GET /agents and GET /agents/{id}: unknown ids 404', async () => {
    await fuzz('ops-api GET /agents', sampleCases(getRouteCases({ path: '/agents', auth: OPERATOR, badAuth: badOperator, okStatus: [200] }), INPUTS, 2110));
    const otherPaths = fc.oneof(
      unknownAgent.map((id) => ({ kind: 'an agent id that names no agent', path: `/agents/${id}`, expect: [404] as const })),
      badPathParam.map((id) => ({ kind: 'an agent id that is none', path: `/agents/${id}`, expect: [400, 404] as const })),
    );
    await fuzz('ops-api GET /agents/{id}', sampleCases(getRouteCases({ path: `/agents/${AGENT}`, alsoMethods: ['PATCH', 'PUT'], auth: OPERATOR, badAuth: badOperator, okStatus: [200], otherPaths }), INPUTS, 2111));
  });

  it('GET /signals/{id}, GET /flattens/{id}, GET /training/runs', async () => {
    const ids = (path: string) =>
      fc.oneof(
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,40}$/).map((id) => ({ kind: 'an id that names nothing', path: `${path}/${id}`, expect: [404] as const })),
        badPathParam.map((id) => ({ kind: 'an id that is none', path: `${path}/${id}`, expect: [400, 404] as const })),
      );
    await fuzz('ops-api GET /signals/{signalId}', sampleCases(getRouteCases({ path: '/signals/no-such-signal', auth: OPERATOR, badAuth: badOperator, okStatus: [404], otherPaths: ids('/signals') }), INPUTS, 2112));
    await fuzz('ops-api GET /flattens/{id}', sampleCases(getRouteCases({ path: '/flattens/no-such-flatten', auth: OPERATOR, badAuth: badOperator, okStatus: [404], otherPaths: ids('/flattens') }), INPUTS, 2113));
    await fuzz('ops-api GET /training/runs', sampleCases(getRouteCases({ path: '/training/runs', auth: OPERATOR, badAuth: badOperator, okStatus: [200] }), INPUTS, 2114));
  });
});

describe('ops-api trading state', () => {
  it.each([['halt'], ['resume'], ['reset-peak']])('POST /agents/{id}/%s and /portfolio/… : bad bodies 400, unknown agents 404, nothing written', async (action) => {
    const body = { reason: 'fuzzing the kill switch' };
    const valid = (b: unknown) => ReasonBody.safeParse(b).success;
    await fuzz(
      `ops-api POST /agents/{id}/${action}`,
      sampleCases(
        jsonRouteCases({ method: 'POST', path: `/agents/${AGENT}/${action}`, auth: () => OPERATOR, badAuth: badOperatorHeaders, template: body, nearValid: brokenReasons(body, valid), otherPaths: agentPaths((id) => `/agents/${id}/${action}`, body) }),
        INPUTS,
        2120 + action.length,
      ),
    );
    await fuzz(
      `ops-api POST /portfolio/${action}`,
      sampleCases(jsonRouteCases({ method: 'POST', path: `/portfolio/${action}`, auth: () => OPERATOR, badAuth: badOperatorHeaders, template: body, nearValid: brokenReasons(body, valid) }), INPUTS, 2130 + action.length),
    );
  });
});

describe('ops-api positions', () => {
  const body = { reason: 'fuzzing the flatten' };
  const valid = (b: unknown) => ReasonBody.safeParse(b).success;

  it('POST /agents/{id}/flatten and /portfolio/flatten', async () => {
    const idempotency = fc.constantFrom('', 'k', 'x'.repeat(4_000), '../../etc', '__x__', 'a/b');
    const agentCases = jsonRouteCases({ method: 'POST', path: `/agents/${AGENT}/flatten`, auth: () => OPERATOR, badAuth: badOperatorHeaders, template: body, nearValid: brokenReasons(body, valid), otherPaths: agentPaths((id) => `/agents/${id}/flatten`, body) });
    const withKeys = fc.tuple(agentCases, fc.option(idempotency, { nil: undefined })).map(([c, key]) =>
      key === undefined ? c : { ...c, request: { ...c.request, headers: { ...c.request.headers, 'idempotency-key': key } } },
    );
    await fuzz('ops-api POST /agents/{id}/flatten', sampleCases(withKeys, INPUTS, 2140));
    await fuzz('ops-api POST /portfolio/flatten', sampleCases(jsonRouteCases({ method: 'POST', path: '/portfolio/flatten', auth: () => OPERATOR, badAuth: badOperatorHeaders, template: body, nearValid: brokenReasons(body, valid) }), INPUTS, 2141));
  });

  it('POST /agents/{id}/positions/{symbol}/adopt', async () => {
    const otherPaths = fc.oneof(
      agentPaths((id) => `/agents/${id}/positions/BTCUSDT/adopt`, body),
      badPathParam.map((symbol) => ({ kind: 'a symbol that is none', path: `/agents/${AGENT}/positions/${symbol}/adopt`, body, expect: [400, 404] as const })),
    );
    await fuzz(
      'ops-api POST /agents/{id}/positions/{symbol}/adopt',
      sampleCases(jsonRouteCases({ method: 'POST', path: `/agents/${AGENT}/positions/BTCUSDT/adopt`, auth: () => OPERATOR, badAuth: badOperatorHeaders, template: body, nearValid: brokenReasons(body, valid), otherPaths }), INPUTS, 2142),
    );
  });
});

describe('ops-api training', () => {
  /** A window ops-api may train on: both ends or neither, from before to, none in the future, at most a year. */
  const StartBody = z
    .object({ reason: Reason, from: IsoTime.optional(), to: IsoTime.optional() })
    .strict()
    .refine((b) => (b.from === undefined) === (b.to === undefined))
    .refine((b) => !b.from || !b.to || (Date.parse(b.from) < Date.parse(b.to) && Date.parse(b.to) <= Date.now() && Date.parse(b.to) - Date.parse(b.from) <= 366 * 86_400_000 && Date.parse(b.from) >= Date.parse('2017-01-01T00:00:00Z')));
  const start = { reason: 'fuzzing a retrain', from: '2023-03-01T00:00:00Z', to: '2023-03-08T00:00:00Z' };
  const promote = { runId: 'run-that-is-not', reason: 'fuzzing a promotion' };
  const rollback = { reason: 'fuzzing a rollback' };

  it('POST /agents/{id}/training: bad bodies and windows out of range 400, unknown agents 404', async () => {
    const nearValid = fc
      .oneof(
        oneFieldBroken(start),
        fc.record({ from: fc.constantFrom('0001-01-01T00:00:00Z', '1970-01-01T00:00:00Z', '2016-12-31T00:00:00Z', '2023-01-01T00:00:00Z'), to: fc.constantFrom('9999-12-31T23:59:59Z', '2099-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '2025-01-02T00:00:00+14:00') }).map((w) => ({ ...start, ...w })),
      )
      .filter((b) => !StartBody.safeParse(b).success)
      .map((b) => ({ kind: 'a training request with one field broken', body: b, expect: [400] as const }));
    await fuzz(
      'ops-api POST /agents/{id}/training',
      sampleCases(jsonRouteCases({ method: 'POST', path: `/agents/${AGENT}/training`, auth: () => OPERATOR, badAuth: badOperatorHeaders, template: start, nearValid, otherPaths: agentPaths((id) => `/agents/${id}/training`, start) }), INPUTS, 2150),
    );
  });

  it('POST /agents/{id}/training/promote and /rollback: unknown agents 404', async () => {
    const PromoteBody = z.object({ runId: z.string().min(1).max(200), reason: Reason }).strict();
    await fuzz(
      'ops-api POST /agents/{id}/training/promote',
      sampleCases(
        jsonRouteCases({
          method: 'POST',
          path: `/agents/${AGENT}/training/promote`,
          auth: () => OPERATOR,
          badAuth: badOperatorHeaders,
          template: promote,
          nearValid: brokenReasons(promote, (b) => PromoteBody.safeParse(b).success),
          otherPaths: agentPaths((id) => `/agents/${id}/training/promote`, promote),
        }),
        INPUTS,
        2151,
      ),
    );
    await fuzz(
      'ops-api POST /agents/{id}/training/rollback',
      sampleCases(
        jsonRouteCases({
          method: 'POST',
          path: `/agents/${AGENT}/training/rollback`,
          auth: () => OPERATOR,
          badAuth: badOperatorHeaders,
          template: rollback,
          nearValid: brokenReasons(rollback, (b) => ReasonBody.safeParse(b).success),
          otherPaths: agentPaths((id) => `/agents/${id}/training/rollback`, rollback),
        }),
        INPUTS,
        2152,
      ),
    );
  });
});

describe('ops-api agent profiles', () => {
  const profile = DEFAULT_AGENTS.find((a) => a.agentId === AGENT) as AgentProfile;
  const patch = { changes: { maxLeverage: 4, allowedSymbols: ['BTCUSDT'], displayName: 'Qwen' }, reason: 'fuzzing a profile change' };
  const put = { profile, reason: 'fuzzing a profile replacement' };

  it('PATCH /agents/{id}: changes that leave an invalid profile 400, unknown agents 404', async () => {
    const PatchBody = z.object({ changes: AgentProfileChanges, reason: Reason }).strict();
    const valid = (b: unknown) => {
      const parsed = PatchBody.safeParse(b);
      return parsed.success && AgentProfile.safeParse({ ...profile, ...parsed.data.changes }).success;
    };
    const huge = fc.constantFrom('displayName', 'model').map((field) => ({ kind: `a ${field} of 900 KB`, body: { changes: { [field]: 'x'.repeat(900_000) }, reason: 'fuzzing a profile change' }, expect: [400] as const }));
    await fuzz(
      'ops-api PATCH /agents/{id}',
      sampleCases(
        jsonRouteCases({
          method: 'PATCH',
          alsoMethods: ['GET', 'PUT'],
          path: `/agents/${AGENT}`,
          auth: () => OPERATOR,
          badAuth: badOperatorHeaders,
          template: patch,
          nearValid: fc.oneof({ weight: 30, arbitrary: brokenReasons(patch, valid) }, { weight: 1, arbitrary: huge }),
          otherPaths: agentPaths((id) => `/agents/${id}`, patch),
        }),
        INPUTS,
        2160,
      ),
    );
  });

  it('PUT /agents/{id}: invalid profiles 400, nothing created', async () => {
    const PutBody = z.object({ profile: z.unknown(), reason: Reason }).strict();
    const validFor = (id: string) => (b: unknown) => {
      const parsed = PutBody.safeParse(b);
      if (!parsed.success) return false;
      const p = AgentProfile.safeParse(parsed.data.profile);
      return p.success && p.data.agentId === id;
    };
    const otherPaths = fc.oneof(
      // A new agent's id with a broken profile: refused, nothing created.
      fc.tuple(unknownAgent, oneFieldBroken(put)).map(([id, b]) => ({ kind: 'a new agent with a broken profile', path: `/agents/${id}`, body: b, expect: validFor(id)(b) ? [200, 201] : [400] })).filter((p) => p.expect[0] === 400),
      badPathParam.map((id) => ({ kind: 'an agent id that is none', path: `/agents/${id}`, body: put, expect: [400, 404] as const })),
    );
    await fuzz(
      'ops-api PUT /agents/{id}',
      sampleCases(jsonRouteCases({ method: 'PUT', alsoMethods: ['GET', 'PATCH'], path: `/agents/${AGENT}`, auth: () => OPERATOR, badAuth: badOperatorHeaders, template: put, nearValid: brokenReasons(put, validFor(AGENT)), otherPaths }), INPUTS, 2161),
    );
  });
});

describe('ops-api elsewhere', () => {
  it('unknown routes and methods: 404 JSON', async () => {
    const real = ['/', '/healthz', '/metrics', '/dashboard', '/agents', `/agents/${AGENT}`, `/agents/${AGENT}/halt`, '/portfolio/halt', '/training/runs', '/portfolio/flatten', '/signals/x', '/flattens/x'];
    // Paths of the form of a route with an id (/agents/x) are that route, not unknown.
    const isRoute = (path: string) => /^\/(agents|signals|flattens)\/[^/]+$/.test(path);
    await fuzz('ops-api unknown routes', sampleCases(unknownRouteCases(real, OPERATOR, isRoute), INPUTS, 2199));
  });
});
