import { createSign, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import { z } from 'zod';
import { DEFAULT_AGENTS } from '../../shared/domain/agents.js';
import { AlertMessage, OrderRequest, TradeSignal } from '../../shared/domain/messages.js';
import { MonitoringNotification } from '../../shared/domain/monitoring.js';
import { AgentId, IsoTime } from '../../shared/domain/vocabulary.js';
import { seedAgentProfiles } from '../../shared/firestore/agent-profiles.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { COLLECTIONS } from '../../shared/firestore/collections.js';
import { PushEnvelope, decodePushData } from '../../shared/pubsub/push-envelope.js';
import {
  ENCODING_CASES,
  type FuzzCase,
  FuzzClient,
  type FuzzRequest,
  type RouteReport,
  WRONG_CONTENT_TYPES,
  brokenJson,
  fuzzCase,
  fuzzRoute,
  expectClean,
  INPUTS_PER_ROUTE,
  headers,
  jsonRouteCases,
  oddValue,
  oneFieldBroken,
  reportTable,
  sampleCases,
  unknownIds,
  unknownPaths,
  wrongJson,
} from '../support/fuzz.js';
import { type ServedFunction, closeInOrder, isolatedProject, serveFunction } from '../support/stack.js';

/**
 * Fuzzing the Pub/Sub push and Cloud Scheduler endpoints (issue 12, item 2), deployed as they are:
 * INVOKER_SERVICE_ACCOUNT set, so every call must carry a Google-signed OIDC token for the
 * function's URL from the invoker account. Google's signing certificates are replaced by a local
 * key (the only stand-in); the functions' own verification code checks every token. Each route
 * gets 1,000 generated bad requests: bad or missing tokens, and, with a valid token, malformed
 * envelopes and payloads, wrong content types, methods and paths.
 *
 * What a push endpoint may write: a message whose payload cannot be understood is acknowledged
 * (204) and kept as a dead letter, deadLetters/{subscription}:{messageId}, by design
 * (shared/pubsub/push-handler.ts, shared/firestore/dead-letters.ts; README "Bad input changes
 * nothing": "a malformed Pub/Sub message is acknowledged, logged with its message id and kept in
 * deadLetters"). So the no-change check leaves out exactly that collection on the push routes,
 * and every dead letter written meanwhile must instead be well-formed and bounded in size. An
 * envelope that is not one (400) writes nothing at all.
 *
 * drawdown-evaluator and reconciler read no body: any authenticated POST runs an evaluation or a
 * reconciliation, as documented. Their valid-token inputs are therefore only those refused
 * before the run (methods, paths, content types, unparseable bodies); everything else is sent
 * without a valid token.
 */

const projectId = isolatedProject('fuzz-push');
process.env.SAPPHIRE_QUIET_LOGS = 'false';
const INVOKER = 'fuzz-invoker@sapphire-fuzz.iam.gserviceaccount.com';
const MONITORING_TOKEN = 'fuzz-monitoring-token-0123456789';
process.env.INVOKER_SERVICE_ACCOUNT = INVOKER;
process.env.MONITORING_WEBHOOK_TOKEN = MONITORING_TOKEN;
process.env.TRAINING_BUCKET = 'fuzz-training-bucket';
process.env.MARKET_DATA_URL = 'http://127.0.0.1:9';
const db = firestoreFor(projectId);
const INPUTS = INPUTS_PER_ROUTE;
const KNOWN = DEFAULT_AGENTS.map((a) => a.agentId);

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const KID = 'fuzz-google-key';
const b64url = (value: object | Buffer) => (Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value))).toString('base64url');

function oidc(audience: string, claims: Record<string, unknown> = {}, key = privateKey, header: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url({ alg: 'RS256', typ: 'JWT', kid: KID, ...header });
  const payload = b64url({ iss: 'https://accounts.google.com', aud: audience, email: INVOKER, email_verified: true, sub: '1', iat: now, exp: now + 3_600, ...claims });
  return `${head}.${payload}.${b64url(createSign('RSA-SHA256').update(`${head}.${payload}`).sign(key))}`;
}

const served: Record<string, ServedFunction> = {};
const clients: Record<string, FuzzClient> = {};
const valid: Record<string, Record<string, string>> = {};
const SECRETS: string[] = [MONITORING_TOKEN];
const reports: RouteReport[] = [];

const FUNCTIONS = [
  ['margin-reservation', 'marginReservation', () => import('../../functions/margin-reservation/index.js')],
  ['order-router', 'orderRouter', () => import('../../functions/order-router/index.js')],
  ['alert-publisher', 'alertPublisher', () => import('../../functions/alert-publisher/index.js')],
  ['monitoring-incidents', 'monitoringIncidents', () => import('../../functions/monitoring-incidents/index.js')],
  ['drawdown-evaluator', 'drawdownEvaluator', () => import('../../functions/drawdown-evaluator/index.js')],
  ['reconciler', 'reconciler', () => import('../../functions/reconciler/index.js')],
  ['agent-inference', 'agentInference', () => import('../../functions/agent-inference/index.js')],
  ['training-kickoff', 'trainingKickoff', () => import('../../functions/training-kickoff/index.js')],
] as const;

beforeAll(async () => {
  // Google's certificates, as the library fetches them, are the local key's.
  vi.spyOn(OAuth2Client.prototype, 'getFederatedSignonCertsAsync').mockResolvedValue({ certs: { [KID]: publicKey.export({ type: 'spki', format: 'pem' }).toString() }, format: 'PEM' } as never);
  await seedAgentProfiles(db, DEFAULT_AGENTS);
  for (const [name, entryPoint, load] of FUNCTIONS) {
    served[name] = await serveFunction(load, entryPoint);
    clients[name] = new FuzzClient(served[name].url);
    const token = oidc(`https://${new URL(served[name].url).host}`);
    valid[name] = { authorization: `Bearer ${token}` };
    SECRETS.push(token);
  }
});

afterAll(async () => {
  for (const client of Object.values(clients)) client.close();
  await closeInOrder(...Object.values(served));
  vi.restoreAllMocks();
  if (reports.length > 0) process.stdout.write(`\nfuzz-push\n${reportTable(reports)}\n`);
});

/**
 * Authorization headers a function must refuse: none, malformed, or a token not for it. (A token
 * Google signed for the invoker and this URL is accepted whatever its header's `alg` or an
 * `iat` in the distant past: the library checks the RSA signature and the expiry, which only
 * Google can produce. Those are valid credentials, so not sent here.)
 */
function badInvoker(name: string): fc.Arbitrary<Record<string, string>> {
  const audience = () => `https://${new URL(served[name]?.url as string).host}`;
  return fc
    .constantFrom<() => string | undefined>(
      () => undefined,
      () => '',
      () => 'Bearer',
      () => 'Bearer not-a-jwt',
      () => 'Bearer a.b.c',
      () => `Basic ${Buffer.from(`${INVOKER}:x`).toString('base64')}`,
      () => `Bearer ${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ aud: audience(), email: INVOKER, email_verified: true, iss: 'https://accounts.google.com' })}.`,
      () => `Bearer ${oidc('https://someone-else.run.app')}`,
      () => `Bearer ${oidc(audience(), { email: 'intruder@example.com' })}`,
      () => `Bearer ${oidc(audience(), { email_verified: false })}`,
      () => `Bearer ${oidc(audience(), { iat: 1_600_000_000, exp: 1_600_000_600 })}`,
      () => `Bearer ${oidc(audience(), { iss: 'https://evil.example.com' })}`,
      () => `Bearer ${oidc(audience(), { exp: 1e20 })}`,
      () => `Bearer ${oidc(audience(), {}, stranger)}`,
      () => `Bearer ${oidc(audience(), {}, privateKey, { kid: 'unknown-kid' })}`,
      () => `Bearer ${oidc(audience()).split('.').slice(0, 2).join('.')}.`,
      () => `Bearer ${oidc(audience())}x`,
      () => `Bearer ${'e'.repeat(6_000)}`,
    )
    .map((make): Record<string, string> => {
      const authorization = make();
      return authorization === undefined ? {} : { authorization };
    });
}

async function fuzz(route: string, name: string, cases: readonly FuzzCase[], deadLetters: boolean): Promise<void> {
  const since = new Date().toISOString();
  const report = await fuzzRoute({ route, client: clients[name] as FuzzClient, cases, db, secrets: SECRETS, ...(deadLetters ? { mayWrite: [COLLECTIONS.deadLetters] } : {}) });
  const letters = deadLetters ? await deadLettersSince(since) : [];
  reports.push({ ...report, route: deadLetters ? `${route} (${letters.length} dead letters)` : route });
  expectClean(report, letters.flatMap(malformedDeadLetter));
}

// ---------------------------------------------------------------------------------------------
// Dead letters: well-formed and bounded
// ---------------------------------------------------------------------------------------------

/** What a dead letter may hold: the payload cut to 64 KiB, and everything else far below 1 MiB. */
const StoredDeadLetter = z
  .object({
    source: z.string().max(256),
    messageId: z.string().min(1).max(1_024),
    reason: z.string().min(1).max(2_000),
    data: z.string().max(64 * 1024),
    attributes: z.record(z.string().max(256), z.string().max(1_024)).refine((a) => Object.keys(a).length <= 100, 'at most 100 attributes'),
    truncated: z.boolean(),
    recordedAt: IsoTime,
  })
  .strict();
const MAX_DEAD_LETTER_BYTES = 200 * 1024;

async function deadLettersSince(since: string): Promise<{ id: string; data: unknown }[]> {
  const snap = await db.collection(COLLECTIONS.deadLetters).where('recordedAt', '>=', since).get();
  return snap.docs.map((d) => ({ id: d.id, data: d.data() }));
}

function malformedDeadLetter(letter: { id: string; data: unknown }): string[] {
  const problems: string[] = [];
  const parsed = StoredDeadLetter.safeParse(letter.data);
  if (!parsed.success) problems.push(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const size = Buffer.byteLength(JSON.stringify(letter.data));
  if (size > MAX_DEAD_LETTER_BYTES) problems.push(`${size} bytes`);
  return problems.length > 0 ? [`[dead letter] malformed: ${problems.join('; ')}: deadLetters/${letter.id.slice(0, 120)}`] : [];
}

// ---------------------------------------------------------------------------------------------
// Push envelopes
// ---------------------------------------------------------------------------------------------

const base64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64');

function envelope(subscription: string, payload: unknown, message: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    message: { data: base64(payload), messageId: '4242424242424242', attributes: { agentId: 'qwen-7b' }, publishTime: '2026-01-01T00:00:00Z', ...message },
    subscription: `projects/${projectId}/subscriptions/${subscription}`,
    deliveryAttempt: 1,
  };
}

/** 400 for what is not an envelope, 204 (and a dead letter) for one whose payload `schema` refuses. */
function pushVerdict(body: unknown, schema: z.ZodType): readonly number[] | undefined {
  const parsed = PushEnvelope.safeParse(body);
  if (!parsed.success) return [400];
  return decodePushData(parsed.data, schema).ok ? undefined : [204];
}

const RESERVED_IDS = ['__x__', '__.*__', '__proto__', '.', '..', '/', 'a/b', '../../etc', '%', '~', 'x'.repeat(2_000), 'é'.repeat(900), '\u0000', ' ', 'constructor'];
const ODD_SUBSCRIPTIONS = ['', '/', 'projects/p/subscriptions/', 'projects/p/subscriptions/__y__', 'projects/p/subscriptions/a/b', '..', 's'.repeat(5_000), 'projects/p/subscriptions/.', 'π'];
const NOT_BASE64 = ['!!!', '%%%', '====', '💥', ' ', 'e30', 'AAAA', '-_-_', `${'x'.repeat(100_000)}!`, 'eyJhIjo='];

/** Bodies of a push endpoint whose messages `schema` reads, each with its verdict. */
function envelopes(subscription: string, payload: Record<string, unknown>, schema: z.ZodType) {
  const brokenPayload = oneFieldBroken(payload).filter((p) => !schema.safeParse(p).success);
  const withVerdict = (kind: string) => (body: unknown) => ({ kind, body, expect: pushVerdict(body, schema) });
  const arbitraries = [
    { weight: 6, arbitrary: brokenPayload.map((p) => envelope(subscription, p)).map(withVerdict('a payload with one field broken')) },
    { weight: 2, arbitrary: fc.oneof(brokenJson(payload), fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1'))).map((p) => envelope(subscription, p)).map(withVerdict('a payload that is not JSON')) },
    { weight: 2, arbitrary: wrongJson.map((p) => envelope(subscription, p)).map(withVerdict('JSON of the wrong schema')) },
    { weight: 1, arbitrary: fc.constantFrom(...NOT_BASE64).map((data) => envelope(subscription, payload, { data })).map(withVerdict('data that is not base64')) },
    {
      weight: 3,
      arbitrary: fc.tuple(brokenPayload, fc.nat()).chain(([p]) => oneFieldBroken(envelope(subscription, p))).map(withVerdict('an envelope with one field broken')),
    },
    { weight: 2, arbitrary: fc.tuple(brokenPayload, fc.constantFrom(...RESERVED_IDS)).map(([p, messageId]) => envelope(subscription, p, { messageId })).map(withVerdict('a message id that is no document id')) },
    { weight: 1, arbitrary: fc.tuple(brokenPayload, fc.constantFrom(...ODD_SUBSCRIPTIONS)).map(([p, sub]) => ({ ...envelope(subscription, p), subscription: sub })).map(withVerdict('an odd subscription name')) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(brokenPayload, fc.oneof(fc.constantFrom<unknown>({ a: 1 }, [], 'str', { a: null }, { a: ['x'] }, null, { ['__proto__']: 'x' }), fc.dictionary(fc.string({ maxLength: 300 }), fc.string({ maxLength: 1_200 }), { maxKeys: 300 })))
        .map(([p, attributes]) => envelope(subscription, p, { attributes }))
        .map(withVerdict('odd attributes')),
    },
    { weight: 1, arbitrary: fc.tuple(brokenPayload, oddValue).map(([p, deliveryAttempt]) => ({ ...envelope(subscription, p), deliveryAttempt })).map(withVerdict('deliveryAttempt garbage')) },
  ];
  // Each its own message id (where the kind left the usual one), so each leaves its own dead letter.
  const ids = fc.stringMatching(/^[1-9][0-9]{9,17}$/);
  return fc
    .tuple(fc.oneof(...arbitraries), ids)
    .map(([c, id]) => {
      const message = (c.body as { message?: { messageId?: unknown } } | null)?.message;
      if (message && typeof message === 'object' && message.messageId === '4242424242424242') message.messageId = id;
      return c;
    })
    .filter((c): c is { kind: string; body: unknown; expect: readonly number[] } => c.expect !== undefined);
}

/** A few large envelopes per push route (not a thousand: memory): huge attributes, ids, reasons. */
function largeEnvelopes(name: string, path: string, subscription: string, payload: Record<string, unknown>): FuzzCase[] {
  const send = (kind: string, body: unknown, expect: readonly number[] = [204]): FuzzCase =>
    fuzzCase(kind, { method: 'POST', path, headers: { ...headers(), ...valid[name] }, body: JSON.stringify(body) }, expect);
  const bigAttributes = Object.fromEntries(Array.from({ length: 1_500 }, (_, i) => [`attribute-${i}`, 'v'.repeat(1_000)]));
  const manyKeys = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`unknown-key-${i}`, i]));
  return [
    send('1.5 MB of attributes', envelope(subscription, { broken: true }, { attributes: bigAttributes, messageId: 'big-attributes-1' })),
    send('one attribute of 1.5 MB', envelope(subscription, { broken: true }, { attributes: { huge: 'h'.repeat(1_500_000) }, messageId: 'big-attributes-2' })),
    send('lone surrogates in ids and attributes', { ...envelope(subscription, { broken: true }, { attributes: { '\ud800': '\udc00x' }, messageId: 'm\ud800' }), subscription: 'projects/p/subscriptions/s\udfff' }),
    // Only unknown keys: refused by strict and lenient schemas alike, the strict ones listing all 50,000.
    send('a payload with 50,000 unknown keys', envelope(subscription, manyKeys, { messageId: 'many-keys-1' })),
    send('a message id of 1 MB', envelope(subscription, { broken: true }, { messageId: 'm'.repeat(1_000_000) })),
    send('a subscription name of 1 MB', { ...envelope(subscription, { broken: true }, { messageId: 'long-subscription-1' }), subscription: `projects/p/subscriptions/${'s'.repeat(1_000_000)}` }),
    send('a payload of 9 MB', envelope(subscription, { pad: 'p'.repeat(9_000_000) }, { messageId: 'nine-megabytes-1' })),
  ];
}

/** Requests to a push or scheduler function at paths it does not answer: 404 with a valid token. */
function wrongPaths(name: string, real: readonly string[], body: string): fc.Arbitrary<FuzzCase> {
  return unknownPaths(real).map(({ path, expect }) => fuzzCase('a path the function does not answer', { method: 'POST', path, headers: { ...headers(), ...valid[name] }, body }, expect));
}

/** What a signal asks for and its order carries on. */
const TERMS = { signalId: 'fuzz-push-1', agentId: 'qwen-7b', symbol: 'BTCUSDT', side: 'BUY', size: { type: 'notional', notionalMicros: 100_000_000 }, leverage: 2 };
const SIGNAL = {
  ...TERMS,
  confidence: 0.8,
  source: 'fuzz',
  reduceOnly: false,
  createdAt: '2026-01-01T00:00:00Z',
  expiresAt: '2026-01-01T00:10:00Z',
};
const ORDER = {
  orderId: 'sph-0123456789abcdef0123456789abcdef',
  ...TERMS,
  type: 'MARKET',
  reduceOnly: false,
  notionalMicros: 100_000_000,
  marginMicros: 50_000_000,
  createdAt: '2026-01-01T00:00:00Z',
};
const ALERT = {
  episodeId: 'fuzz-episode-1',
  transition: 'open',
  key: 'fuzz:key',
  limitType: 'portfolio_drawdown',
  scope: 'portfolio',
  severity: 'critical',
  message: 'fuzzing',
  source: 'drawdown-evaluator',
  openedAt: '2026-01-01T00:00:00Z',
};
const NOTIFICATION = {
  version: '1.2',
  incident: {
    incident_id: 'fuzz-incident-1',
    policy_name: 'fuzz policy',
    condition_name: 'fuzz condition',
    state: 'closed',
    started_at: 1_767_225_600,
    ended_at: 1_767_229_200,
    summary: 'fuzzing',
    policy_user_labels: { team: 'fuzz' },
  },
};

const PUSH_ROUTES = [
  ['margin-reservation', '/', 'margin-reservation', SIGNAL, TradeSignal],
  ['order-router', '/', 'order-router', ORDER, OrderRequest],
  ['alert-publisher', '/', 'alert-publisher', ALERT, AlertMessage],
  ['monitoring-incidents', '/pubsub', 'monitoring-incidents', NOTIFICATION, MonitoringNotification],
] as const;

describe('Pub/Sub push endpoints', () => {
  it.each(PUSH_ROUTES)('%s POST %s: 1,000 bad envelopes and credentials; bad payloads dead-lettered, bounded; nothing else written', async (name, path, subscription, payload, schema) => {
    // The template is a valid message: sent only where it must be refused (no token, wrong type, …).
    const cases = jsonRouteCases({
      method: 'POST',
      path,
      auth: () => valid[name] as Record<string, string>,
      badAuth: badInvoker(name).map((h) => () => h),
      template: envelope(subscription, payload),
      refusedBody: { message: 'not an envelope' },
      nearValid: envelopes(subscription, payload as Record<string, unknown>, schema as z.ZodType),
      otherPaths: unknownPaths(path === '/' ? ['/'] : ['/pubsub', '/webhook']).map(({ path: p, expect }) => ({ kind: 'a path the function does not answer', path: p, body: envelope(subscription, { broken: true }), expect })),
    });
    const generated = sampleCases(cases, INPUTS, 3100 + name.length);
    await fuzz(`${name} POST ${path}`, name, [...generated, ...largeEnvelopes(name, path, subscription, payload as Record<string, unknown>)], true);
  });
});

describe('monitoring-incidents webhook', () => {
  it('POST /webhook?token=…: bad tokens 401, bad notifications 400, nothing written', async () => {
    const tokens = fc.constantFrom('', '?token=', '?token=wrong-token-0123456789', `?token=${MONITORING_TOKEN}x`, `?token=${MONITORING_TOKEN.slice(0, -1)}`, `?token=${MONITORING_TOKEN}&token=${MONITORING_TOKEN}`, `?token[]=${MONITORING_TOKEN}`, `?token[a]=${MONITORING_TOKEN}`, `?TOKEN=${MONITORING_TOKEN}`, `?token=${MONITORING_TOKEN}%00`, '?token=%zz');
    const cases = jsonRouteCases({
      method: 'POST',
      path: `/webhook?token=${MONITORING_TOKEN}`,
      auth: () => ({}),
      template: NOTIFICATION,
      refusedBody: { unexpected: true },
      nearValid: oneFieldBroken(NOTIFICATION)
        .filter((n) => !MonitoringNotification.safeParse(n).success)
        .map((body) => ({ kind: 'a notification with one field broken', body, expect: [400] as const })),
      otherPaths: fc.oneof(
        { weight: 3, arbitrary: tokens.map((q) => ({ kind: 'a bad token', path: `/webhook${q}`, body: NOTIFICATION, expect: [401] as const })) },
        { weight: 1, arbitrary: unknownPaths(['/webhook', '/pubsub']).map(({ path, expect }) => ({ kind: 'a path the function does not answer', path, body: NOTIFICATION, expect })) },
      ),
    });
    await fuzz('monitoring-incidents POST /webhook?token={token}', 'monitoring-incidents', sampleCases(cases, INPUTS, 3201), false);
  });
});

describe('Cloud Scheduler endpoints', () => {
  it.each([
    ['agent-inference', z.object({ agentId: AgentId.optional() }).strict(), { agentId: 'qwen-7b' }],
    ['training-kickoff', z.union([z.object({ agentId: AgentId }).strict(), z.object({ action: z.literal('check') }).strict()]), { agentId: 'qwen-7b' }],
  ] as const)('%s POST /: bad bodies 400, unknown agents 404, no token 401, nothing written', async (name, Body, template) => {
    const isValid = (text: string) => {
      try {
        return Body.safeParse(JSON.parse(text)).success;
      } catch {
        return false;
      }
    };
    const cases = jsonRouteCases({
      method: 'POST',
      path: '/',
      auth: () => valid[name] as Record<string, string>,
      badAuth: badInvoker(name).map((h) => () => h),
      template,
      nearValid: fc.oneof(
        { weight: 3, arbitrary: fc.oneof(oneFieldBroken(template), oneFieldBroken({ action: 'check' })).filter((b) => !Body.safeParse(b).success).map((body) => ({ kind: 'a body with one field broken', body, expect: [400] as const })) },
        { weight: 1, arbitrary: unknownIds(KNOWN).map((agentId) => ({ kind: 'an agent that does not exist', body: { agentId }, expect: [404] as const })) },
      ),
      wrongShape: wrongJson.filter((text) => !isValid(text)),
      otherPaths: unknownPaths(['/']).map(({ path, expect }) => ({ kind: 'a path the function does not answer', path, body: template, expect })),
    });
    await fuzz(`${name} POST /`, name, sampleCases(cases, INPUTS, 3300 + name.length), false);
  });

  it.each([['drawdown-evaluator'], ['reconciler']])('%s POST /: without a token 401; with one, refused before it runs', async (name) => {
    const post = (kind: string, request: Omit<FuzzRequest, 'method'> & { method?: string }, expect: readonly number[]) => fuzzCase(kind, { method: 'POST', ...request }, expect);
    const auth = valid[name] as Record<string, string>;
    const cases = fc.oneof(
      { weight: 10, arbitrary: fc.tuple(badInvoker(name), fc.constantFrom('{}', '{"agentId":"qwen-7b"}', JSON.stringify(envelope('drawdown-evaluator', { orderId: 'x' })))).map(([h, body]) => post('bad credentials', { path: '/', headers: { ...headers(), ...h }, body }, [401])) },
      { weight: 2, arbitrary: fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS').map((method) => post(`method ${method}`, { method, path: '/', headers: { ...headers(), ...auth }, body: '{}' }, [404, 405])) },
      { weight: 2, arbitrary: wrongPaths(name, ['/'], '{}') },
      { weight: 1, arbitrary: fc.constantFrom(...WRONG_CONTENT_TYPES).map((type) => post(`Content-Type ${type}`, { path: '/', headers: { ...headers({}, type), ...auth }, body: '{}' }, [415])) },
      { weight: 1, arbitrary: fc.constant(post('text/plain', { path: '/', headers: { ...headers({}, 'text/plain'), ...auth }, body: '{}' }, [415])) },
      { weight: 1, arbitrary: fc.constantFrom(...ENCODING_CASES.filter((e) => e.expect)).map(({ headers: h, expect }) => post(`encoding ${JSON.stringify(h)}`, { path: '/', headers: { ...h, ...auth }, body: '{}' }, expect as readonly number[])) },
      { weight: 2, arbitrary: brokenJson({ message: { data: '', messageId: '1' }, subscription: 's' }).map((body) => post('malformed JSON', { path: '/', headers: { ...headers(), ...auth }, body }, [400])) },
    );
    await fuzz(`${name} POST /`, name, sampleCases(cases, INPUTS, 3400 + name.length), false);
  });
});
