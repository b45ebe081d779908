import { Agent, type IncomingHttpHeaders, request } from 'node:http';
import type { DocumentReference, Firestore } from '@google-cloud/firestore';
import fc from 'fast-check';
import { expect } from 'vitest';

/**
 * Helpers of the fuzz suites (test/integration/fuzz-*.test.ts): generated bad requests sent to
 * a served function over keep-alive connections, and what must hold for every one of them — no
 * 5xx, a JSON body, no stack trace, path or secret in the answer or in what the function logged,
 * and no Firestore document changed.
 */

export interface FuzzRequest {
  readonly method: string;
  /** Path and query, already percent-encoded where it has to be. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** Send the body with Transfer-Encoding: chunked instead of a Content-Length. */
  readonly chunked?: boolean;
}

/** One generated input: the request, what kind of bad input it is, and what it must be answered. */
export interface FuzzCase {
  readonly kind: string;
  readonly request: FuzzRequest;
  /** The statuses this kind of input must get; undefined: any status below 500. */
  readonly expect?: readonly number[];
}

export interface FuzzResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** node:http with keep-alive: far cheaper per request than fetch. */
export class FuzzClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });
  private readonly host: string;
  private readonly port: number;

  constructor(baseUrl: string) {
    const url = new URL(baseUrl);
    this.host = url.hostname;
    this.port = Number(url.port);
  }

  send(req: FuzzRequest): Promise<FuzzResponse> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...req.headers };
      const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8');
      if (body && !req.chunked) headers['content-length'] = String(body.length);
      if (req.chunked) headers['transfer-encoding'] = 'chunked';
      const outgoing = request({ host: this.host, port: this.port, method: req.method, path: req.path, headers, agent: this.agent, timeout: 20_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within 20 s to ${req.method} ${req.path}`)));
      outgoing.on('error', reject);
      if (body && req.chunked) {
        // Several chunks, as a streaming client sends them.
        for (let at = 0; at < body.length; at += 256 * 1024) outgoing.write(body.subarray(at, at + 256 * 1024));
        outgoing.end();
      } else {
        outgoing.end(body);
      }
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * Everything written to stdout and stderr (and through console) while capturing; nothing reaches
 * the terminal meanwhile. Functions log JSON lines to stdout (shared/log.ts); functions-framework
 * and libraries use console.
 */
export class OutputCapture {
  private chunks: string[] = [];
  private restore: (() => void) | undefined;

  start(): void {
    this.chunks = [];
    const stdout = process.stdout.write;
    const stderr = process.stderr.write;
    const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
    const consoleBefore = methods.map((m) => console[m]);
    const keep = (chunk: unknown): true => {
      this.chunks.push(typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
      return true;
    };
    process.stdout.write = keep as typeof process.stdout.write;
    process.stderr.write = keep as typeof process.stderr.write;
    for (const m of methods) console[m] = (...args: unknown[]) => keep(`${args.map((a) => (a instanceof Error ? (a.stack ?? a.message) : typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}\n`);
    this.restore = () => {
      process.stdout.write = stdout;
      process.stderr.write = stderr;
      methods.forEach((m, i) => (console[m] = consoleBefore[i] as (typeof console)[typeof m]));
    };
  }

  stop(): string {
    this.restore?.();
    this.restore = undefined;
    return this.chunks.join('');
  }
}

/** Signs of internals in an answer or a log line: stack frames, the server's paths, HTML error pages. */
const INTERNALS: readonly [string, RegExp][] = [
  ['a stack frame', /\bat (?:async )?[^\s()]+ \([^()]*:\d+(?::\d+)?\)/],
  ['a stack trace', /(?:\n|\\n)\s+at \S/],
  ['a server path', /\/work\/|node_modules|file:\/\//],
  ['an HTML page', /<html|<!doctype|<pre>/i],
];

/** What in `text` must not be there: internals, or one of `secrets` (an HTML page too, unless `html` is its format). */
export function leaksIn(text: string, secrets: readonly string[], html = false): string[] {
  const found = INTERNALS.filter(([what, pattern]) => !(html && what === 'an HTML page') && pattern.test(text)).map(([what]) => what);
  for (const secret of secrets) if (text.includes(secret)) found.push(`the secret ${secret.slice(0, 4)}…`);
  return found;
}

/** The lines of `log` with a leak, each with what leaked. */
export function leakingLines(log: string, secrets: readonly string[]): string[] {
  return log
    .split('\n')
    .flatMap((line) => {
      const leaks = leaksIn(line, secrets);
      return leaks.length > 0 ? [`${leaks.join(', ')}: ${line.slice(0, 300)}`] : [];
    });
}

function stable(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(stable);
  const maybeTimestamp = value as { toDate?: () => Date };
  if (typeof maybeTimestamp.toDate === 'function') return { timestamp: maybeTimestamp.toDate().toISOString() };
  if (Buffer.isBuffer(value)) return { bytes: value.toString('base64') };
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, stable((value as Record<string, unknown>)[k])]),
  );
}

/**
 * Every document of the project (every collection, recursively through subcollections) as
 * path → canonical JSON; documents that only hold subcollections show as missing. Collections
 * named in `except` are left out.
 */
export async function firestoreSnapshot(db: Firestore, except: readonly string[] = []): Promise<Map<string, string>> {
  const documents = new Map<string, string>();
  const walk = async (refs: readonly DocumentReference[]): Promise<void> => {
    if (refs.length === 0) return;
    for (let at = 0; at < refs.length; at += 300) {
      const snaps = await db.getAll(...refs.slice(at, at + 300));
      for (const snap of snaps) documents.set(snap.ref.path, snap.exists ? JSON.stringify(stable(snap.data())) : '(missing)');
    }
    const nested = await Promise.all(refs.map((ref) => ref.listCollections()));
    await Promise.all(nested.flat().map(async (collection) => walk(await collection.listDocuments())));
  };
  const top = (await db.listCollections()).filter((c) => !except.includes(c.id));
  await Promise.all(top.map(async (collection) => walk(await collection.listDocuments())));
  return documents;
}

/** What differs between two snapshots, one line per document. */
export function snapshotDiff(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string[] {
  const changes: string[] = [];
  for (const [path, value] of after) {
    const was = before.get(path);
    if (was === undefined) changes.push(`created ${path}: ${value.slice(0, 300)}`);
    else if (was !== value) changes.push(`changed ${path}: ${was.slice(0, 200)} → ${value.slice(0, 200)}`);
  }
  for (const path of before.keys()) if (!after.has(path)) changes.push(`deleted ${path}`);
  return changes;
}

const JSON_TYPE = /^application\/(?:problem\+)?json(?:;|$)/;

export interface RouteFuzz {
  /** e.g. "ops-api POST /agents/{id}/halt". */
  readonly route: string;
  readonly client: FuzzClient;
  readonly cases: readonly FuzzCase[];
  readonly db: Firestore;
  readonly secrets: readonly string[];
  /** Collections the route may write to; `checkWritten` judges what it wrote there. */
  readonly mayWrite?: readonly string[];
  /** Answers whose body may be other than JSON (the documented text formats): true to allow. */
  readonly nonJsonAllowed?: (fuzzCase: FuzzCase, response: FuzzResponse) => boolean;
  /** Requests in flight at once. */
  readonly concurrency?: number;
}

export interface RouteReport {
  readonly route: string;
  readonly inputs: number;
  readonly statuses: Readonly<Record<string, number>>;
  readonly kinds: number;
  readonly ms: number;
  readonly failures: readonly string[];
}

function describeCase(c: FuzzCase): string {
  const body = c.request.body === undefined ? '' : ` body ${JSON.stringify(String(c.request.body).slice(0, 160))}${String(c.request.body).length > 160 ? `… (${String(c.request.body).length} chars)` : ''}`;
  const headers = Object.entries(c.request.headers ?? {})
    .map(([k, v]) => `${k}: ${v.length > 60 ? `${v.slice(0, 60)}…` : v}`)
    .join('; ');
  return `[${c.kind}] ${c.request.method} ${c.request.path.slice(0, 160)}${headers ? ` {${headers}}` : ''}${body}`;
}

/** What is wrong with one answer, if anything. */
function judge(c: FuzzCase, res: FuzzResponse, secrets: readonly string[], nonJsonAllowed: RouteFuzz['nonJsonAllowed']): string[] {
  const problems: string[] = [];
  if (res.status >= 500) problems.push(`answered ${res.status}`);
  if (c.expect && !c.expect.includes(res.status)) problems.push(`answered ${res.status}, expected ${c.expect.join(' or ')}`);
  const type = String(res.headers['content-type'] ?? '');
  const allowed = nonJsonAllowed?.(c, res) ?? false;
  if (res.body.length > 0 && !allowed) {
    if (!JSON_TYPE.test(type)) problems.push(`answered Content-Type ${type || '(none)'}`);
    else {
      try {
        const parsed = JSON.parse(res.body) as { error?: unknown };
        if (res.status >= 400 && typeof parsed?.error !== 'string') problems.push('an error without the problem shape {"error": …}');
      } catch {
        problems.push('a body that is not JSON');
      }
    }
  }
  if (res.status >= 400 && res.body.length === 0 && c.request.method !== 'HEAD') problems.push('an error with an empty body');
  const leaks = leaksIn(`${res.body}\n${JSON.stringify(res.headers)}`, secrets, allowed);
  if (leaks.length > 0) problems.push(`leaked ${leaks.join(', ')}`);
  return problems.length > 0 ? [`${describeCase(c)} → ${problems.join('; ')}: ${res.body.slice(0, 200)}`] : [];
}

/**
 * Sends every case to the route, `concurrency` at a time, and checks each answer, the log written
 * meanwhile, Object.prototype, and every Firestore document before against after.
 */
export async function fuzzRoute(run: RouteFuzz): Promise<RouteReport> {
  const started = Date.now();
  const before = await firestoreSnapshot(run.db, run.mayWrite ?? []);
  const capture = new OutputCapture();
  const failures: string[] = [];
  const statuses: Record<string, number> = {};
  capture.start();
  let log: string;
  try {
    let next = 0;
    const worker = async () => {
      while (next < run.cases.length) {
        const c = run.cases[next++] as FuzzCase;
        let res: FuzzResponse;
        try {
          res = await run.client.send(c.request);
        } catch (error) {
          failures.push(`${describeCase(c)} → no answer: ${(error as Error).message}`);
          continue;
        }
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        failures.push(...judge(c, res, run.secrets, run.nonJsonAllowed));
      }
    };
    await Promise.all(Array.from({ length: run.concurrency ?? 8 }, worker));
  } finally {
    log = capture.stop();
  }
  // What the function said about its own failures helps read a 5xx.
  if (Object.keys(statuses).some((status) => Number(status) >= 500)) {
    const errors = log.split('\n').filter((line) => line.includes('"severity":"ERROR"') || line.startsWith('Exception'));
    failures.push(`the log of the 5xx: ${errors.slice(0, 3).map((line) => line.slice(0, 400)).join(' | ')}`);
  }
  const leaking = leakingLines(log, run.secrets);
  if (leaking.length > 0) failures.push(`the log during the run: ${leaking.length} lines leak, e.g. ${leaking.slice(0, 3).join(' | ')}`);
  const polluted = Object.keys(Object.prototype).concat(Object.keys(Array.prototype));
  if (polluted.length > 0) failures.push(`prototype polluted with ${polluted.join(', ')}`);
  const after = await firestoreSnapshot(run.db, run.mayWrite ?? []);
  failures.push(...snapshotDiff(before, after).map((change) => `Firestore ${change}`));
  return { route: run.route, inputs: run.cases.length, statuses, kinds: new Set(run.cases.map((c) => c.kind)).size, ms: Date.now() - started, failures };
}

/**
 * Failures grouped by kind of input and what went wrong, most frequent first, each with a count
 * and its first example: what a failing run prints.
 */
export function groupedFailures(failures: readonly string[]): string[] {
  const groups = new Map<string, { count: number; example: string }>();
  for (const failure of failures) {
    const kind = /^\[([^\]]*)\]/.exec(failure)?.[1] ?? '';
    const problem = (/ → (.*?): /.exec(failure)?.[1] ?? failure.slice(0, 80)).replace(/\d{3}/g, (s) => s);
    const key = `[${kind.replace(/\d+/g, 'N')}] ${problem}`;
    const group = groups.get(key) ?? { count: 0, example: failure };
    group.count += 1;
    groups.set(key, group);
  }
  return [...groups.entries()].sort((a, b) => b[1].count - a[1].count).map(([key, { count, example }]) => `${count}× ${key} — e.g. ${example.slice(0, 700)}`);
}

/** Generated inputs per route: the issue asks for at least 1,000. */
export const INPUTS_PER_ROUTE = 1_000;

/** A route's run passed: enough inputs, and no failure (`more`: the suite's own checks). */
export function expectClean(report: RouteReport, more: readonly string[] = []): void {
  expect(report.inputs).toBeGreaterThanOrEqual(INPUTS_PER_ROUTE);
  const failures = [...report.failures, ...more];
  expect(groupedFailures(failures), `${failures.length} failures`).toEqual([]);
}

/** One line per route for the summary the suites print. */
export function reportTable(reports: readonly RouteReport[]): string {
  const lines = reports.map((r) => {
    const statuses = Object.entries(r.statuses)
      .map(([s, n]) => `${s}×${n}`)
      .join(' ');
    return `${r.route.padEnd(58)} ${String(r.inputs).padStart(5)} inputs ${String(r.kinds).padStart(3)} kinds ${String(r.ms).padStart(6)} ms  ${statuses}`;
  });
  const total = reports.reduce((n, r) => n + r.inputs, 0);
  return [...lines, `${reports.length} routes, ${total} inputs`].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

/** Numbers and times from outside that no range check may let through, and other odd values. */
export const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<unknown>(
    null, true, false, 0, -0, -1, 1e20, -1e17, 1e308, -1e308, 5e-324, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 0.5, 1.5, 126, 1e-7,
    '', ' ', 'NaN', 'Infinity', '-Infinity', '1e20', '-1e17', '0x10', '1_000', '9'.repeat(400), '１２３', '-0', '+1', '.5', '5.',
    '\u0000', '\u202e\u0041', '\ud800', '💥', 'ǅ', '__proto__', 'constructor', 'prototype', '../../etc/passwd', '..\\..\\boot.ini', '%2e%2e%2f',
    '1970-01-01T00:00:00Z', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '+275760-09-13T00:00:00Z', '-271821-04-20T00:00:00Z',
    '2026-02-30T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T00:00:00+25:00', '2026-01-01', '1e20', 'now', '{{timenow}}',
    [], {}, [[]], [null], { __proto__: null }, { constructor: { prototype: { polluted: true } } },
  ) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** An object with one leaf changed, removed, or given an unknown sibling. */
export function oneFieldBroken(template: Record<string, unknown>): fc.Arbitrary<unknown> {
  const paths: string[][] = [];
  const collect = (value: unknown, path: string[]) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) {
        paths.push([...path, k]);
        collect(v, [...path, k]);
      }
    }
  };
  collect(template, []);
  return fc.record({
    path: fc.constantFrom(...paths),
    how: fc.constantFrom('replace', 'replace', 'replace', 'delete', 'sibling', 'proto'),
    value: oddValue,
    key: fc.constantFrom('__proto__', 'constructor', 'extra', 'x'.repeat(300), ''),
  }).map(({ path, how, value, key }) => {
    const copy = JSON.parse(JSON.stringify(template)) as Record<string, unknown>;
    let parent: Record<string, unknown> = copy;
    for (const k of path.slice(0, -1)) parent = parent[k] as Record<string, unknown>;
    const leaf = path[path.length - 1] as string;
    if (how === 'replace') parent[leaf] = value;
    else if (how === 'delete') delete parent[leaf];
    else if (how === 'sibling') Object.defineProperty(parent, key, { value, enumerable: true, configurable: true, writable: true });
    else Object.defineProperty(parent, '__proto__', { value: { polluted: true, [leaf]: value }, enumerable: true, configurable: true, writable: true });
    return copy;
  });
}

/** Text that is not JSON: truncated documents, near-misses, random strings. */
export function brokenJson(template: unknown): fc.Arbitrary<string> {
  const whole = JSON.stringify(template);
  return fc.oneof(
    fc.integer({ min: 1, max: Math.max(1, whole.length - 1) }).map((n) => whole.slice(0, n)),
    fc.constantFrom(
      '{', '[', '{"a":', '{"a":1,}', "{'a':1}", 'NaN', 'undefined', '01', '{"a":01}', '{"a":1}{', '{"a":"\u0001"}', '{"a":"\\ud800"', '[1,2', ',',
      '{"__proto__":', `{"a":${'['.repeat(50)}`, '['.repeat(20_000), `${'{"a":'.repeat(3_000)}1`, 'null null', '"\\x41"', '/* */{}',
    ),
    // An empty body is no body (the framework reads it as {}), not a malformed one.
    fc.string({ minLength: 1, maxLength: 80 }).filter((s) => {
      try {
        JSON.parse(s);
        return false;
      } catch {
        return true;
      }
    }),
  );
}

/** JSON that parses but is the wrong shape: scalars, arrays, deep nesting, prototype keys, huge numbers. */
export const wrongJson: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'null', 'true', '0', '-1', '"text"', '1e20', '-1e17', '[]', '[{}]', '{}', '{"":""}', '[null]', '\ufeff{}',
    '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}', '{"a":1e309}', '{"a":-1e309}', '{"a":1e999999999999}', '{"a":"\\u0000"}',
  ),
  fc.integer({ min: 64, max: 20_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.integer({ min: 64, max: 5_000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
);

/** Content types a JSON route must refuse with 415 (and JSON-looking bodies to send with them). */
export const WRONG_CONTENT_TYPES: readonly (string | null)[] = [
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=sapphire',
  'application/octet-stream',
  'application/xml',
  'text/html',
  'image/png',
  'text/csv',
];

/** Charsets and encodings no route understands: 415. */
export const BAD_ENCODINGS: readonly Readonly<Record<string, string>>[] = [
  { 'content-type': 'application/json; charset=klingon' },
  { 'content-type': 'application/json; charset=utf-7' },
  { 'content-type': 'application/json', 'content-encoding': 'bogus' },
  { 'content-type': 'application/json', 'content-encoding': 'gzip' },
  { 'content-type': 'application/json', 'content-encoding': 'deflate' },
  { 'content-type': 'application/json', 'content-encoding': 'br' },
  { 'content-type': 'application/json', 'content-encoding': 'gzip, identity' },
];

/** Path parameters that are no id: traversal, encoded separators, broken escapes, odd characters. */
export const badPathParam: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '..', '.', '%2e%2e', '..%2F..%2Fetc%2Fpasswd', '..%2f', '%2F', '%00', 'a%00b', '%E0%A4%A', '%zz', '%', '%%', 'UPPER', '-leading', 'x',
    'a'.repeat(64), 'a'.repeat(2_000), '__x__', '__proto__', '%5F_x__', 'deepseek-v3%20', 'deepseek-v3%2F..', '%C0%AE%C0%AE', '%F0%9F%92%A5', 'a;b', 'a,b', 'a+b',
    '..%5C..%5Cboot.ini', '%252e%252e', '~', '%7E', 'a%0Ab', 'a%0D%0Ab',
  ),
  fc.string({ minLength: 1, maxLength: 40 }).map(encodeURIComponent),
);

/** Ids of the right form that name nothing stored (JS's own property names among them). */
export function unknownIds(known: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom('constructor', 'prototype', 'tostring', 'valueof', 'hasownproperty', 'no-such-agent', 'deepseek-v4', 'qwen-7b-', 'a-', 'ab'),
    fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,62}$/),
  ).filter((id) => !known.includes(id) && id !== 'portfolio');
}

/** Authorization headers that are not a valid bearer token for `valid`. */
export function badAuthorization(valid: string): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    fc.constantFrom<string | undefined>(
      undefined, '', 'Bearer', 'Bearer ', 'bearer', 'Basic dXNlcjpwYXNz', `Token ${valid}`, valid, `Bearer ${valid}x`, `Bearer ${valid.slice(0, -1)}`,
      `Bearer ${valid} ${valid}`, `Bearer "${valid}"`, `Bearer ${valid.toUpperCase()}`, `Bearer ${'a'.repeat(4_000)}`, 'Bearer null', 'Bearer undefined',
      `Bearer\t${valid}x`, 'Bearer a.b.c', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.',
    ),
    fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-._~+/= '.split('')), maxLength: 60 }).map((s) => `Bearer ${s}`),
  ).filter((header) => header === undefined || !new RegExp(`^Bearer\\s+${valid.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`, 'i').test(header));
}

/** Methods other than `method` (HEAD answers have no body). */
export function otherMethods(...methods: string[]): fc.Arbitrary<string> {
  return fc.constantFrom(...['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'].filter((m) => !methods.includes(m)));
}

/** Draws `n` cases from `arbitrary`, reproducibly. */
export function sampleCases(arbitrary: fc.Arbitrary<FuzzCase>, n: number, seed: number): FuzzCase[] {
  return fc.sample(arbitrary, { numRuns: n, seed });
}

/** Builds a case. */
export function fuzzCase(kind: string, request: FuzzRequest, expect?: readonly number[]): FuzzCase {
  return expect ? { kind, request, expect } : { kind, request };
}

/** JSON headers plus `extra`, leaving out headers whose value is undefined. */
export function headers(extra: Readonly<Record<string, string | undefined>> = {}, contentType: string | null = 'application/json'): Record<string, string> {
  const all: Record<string, string | undefined> = { ...(contentType === null ? {} : { 'content-type': contentType }), ...extra };
  return Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Headers with a charset or Content-Encoding, and what a JSON route must answer them. */
export const ENCODING_CASES: readonly { readonly headers: Readonly<Record<string, string>>; readonly expect?: readonly number[] }[] = [
  { headers: { 'content-type': 'application/json; charset=klingon' }, expect: [415] },
  { headers: { 'content-type': 'application/json; charset=ebcdic' }, expect: [415] },
  { headers: { 'content-type': 'application/json; charset=utf-7' } },
  { headers: { 'content-type': 'application/json; charset=utf-16' } },
  { headers: { 'content-type': 'application/json; charset=latin1' } },
  { headers: { 'content-type': 'application/json', 'content-encoding': 'bogus' }, expect: [415] },
  { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, expect: [400, 415] },
  { headers: { 'content-type': 'application/json', 'content-encoding': 'deflate' }, expect: [400, 415] },
  { headers: { 'content-type': 'application/json', 'content-encoding': 'br' }, expect: [400, 415] },
  { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip, identity' }, expect: [400, 415] },
];

/** A route that takes a JSON body, and how to make good and bad requests to it. */
export interface JsonRoute {
  readonly method: string;
  /** Other methods the same path answers (GET, PATCH and PUT /agents/{id}): not wrong ones. */
  readonly alsoMethods?: readonly string[];
  /** A path the route answers (its ids those of something stored). */
  readonly path: string;
  /** Headers that authenticate `body` (broker signatures depend on it). */
  readonly auth: (body: string) => Record<string, string>;
  /** Ways to fail authentication: headers for `body`, and the status that must follow. */
  readonly badAuth?: fc.Arbitrary<(body: string) => Record<string, string>>;
  readonly badAuthStatus?: readonly number[];
  /**
   * A body the route would take, sent with a wrong content type, encoding, method or credentials:
   * never one that would change anything if it were wrongly let through (an unknown order, say).
   */
  readonly template: Record<string, unknown>;
  /** A body the route refuses (sent in charsets it may read); default the template with an unknown field. */
  readonly refusedBody?: unknown;
  /** What JSON of the wrong shape gets; default 400. */
  readonly wrongShapeStatus?: readonly number[];
  /** JSON of the wrong shape for this route (default `wrongJson`): none the route would take. */
  readonly wrongShape?: fc.Arbitrary<string>;
  /** Bodies with something broken, each with the statuses it must get. */
  readonly nearValid: fc.Arbitrary<{ readonly kind: string; readonly body: unknown; readonly expect: readonly number[] }>;
  /** The route also reads text/plain bodies as JSON (TradingView sends them). */
  readonly textAllowed?: boolean;
  /** Other paths of this route: ids that are none, ids that name nothing, with a body and the statuses. */
  readonly otherPaths?: fc.Arbitrary<{ readonly kind: string; readonly path: string; readonly body: unknown; readonly expect: readonly number[] }>;
}

/** Content types a JSON route must refuse, `null` for none at all. */
const CONTENT_TYPE_CASES: readonly (string | null)[] = [...WRONG_CONTENT_TYPES, null];

/** Every kind of bad request to a JSON route, weighted towards near-valid bodies. */
export function jsonRouteCases(route: JsonRoute): fc.Arbitrary<FuzzCase> {
  const send = (kind: string, body: string, extra: Record<string, string>, expect: readonly number[] | undefined, method = route.method, path = route.path): FuzzCase =>
    fuzzCase(kind, { method, path, headers: { ...extra, ...route.auth(body) }, body }, expect);
  const template = JSON.stringify(route.template);
  const arbitraries: { weight: number; arbitrary: fc.Arbitrary<FuzzCase> }[] = [
    { weight: 6, arbitrary: route.nearValid.map(({ kind, body, expect }) => send(kind, JSON.stringify(body), headers(), expect)) },
    { weight: 2, arbitrary: brokenJson(route.template).map((body) => send('malformed JSON', body, headers(), [400])) },
    { weight: 2, arbitrary: (route.wrongShape ?? wrongJson).map((body) => send('JSON of the wrong shape', body, headers(), route.wrongShapeStatus ?? [400])) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...CONTENT_TYPE_CASES).map((type) => send(`Content-Type ${type ?? '(none)'}`, template, headers({}, type), [415])),
    },
    {
      weight: 1,
      // A body the route refuses (an unknown field) where the charset may be one it reads.
      arbitrary: fc.constantFrom(...ENCODING_CASES).map(({ headers: h, expect }) =>
        send(`${h['content-encoding'] ? `Content-Encoding ${h['content-encoding']}` : h['content-type']}`, expect ? template : JSON.stringify(route.refusedBody ?? { ...route.template, unexpected: true }), { ...h }, expect),
      ),
    },
    {
      weight: 1,
      arbitrary: route.textAllowed
        ? fc.oneof(
            route.nearValid.map(({ kind, body, expect }) => send(`${kind} as text/plain`, JSON.stringify(body), headers({}, 'text/plain; charset=utf-8'), expect)),
            brokenJson(route.template).map((body) => send('malformed JSON as text/plain', body, headers({}, 'text/plain'), [400])),
          )
        : fc.constant(send('text/plain', template, headers({}, 'text/plain'), [415])),
    },
    {
      weight: 1,
      arbitrary: otherMethods(route.method, ...(route.alsoMethods ?? [])).map((method) => send(`method ${method}`, template, headers(), [404, 405], method)),
    },
  ];
  if (route.badAuth) {
    const badAuth = route.badAuth;
    arbitraries.push({
      weight: 2,
      arbitrary: badAuth.map((authFor) => fuzzCase('bad credentials', { method: route.method, path: route.path, headers: { ...headers(), ...authFor(template) }, body: template }, route.badAuthStatus ?? [401])),
    });
  }
  if (route.otherPaths) {
    arbitraries.push({
      weight: 2,
      arbitrary: route.otherPaths.map(({ kind, path, body, expect }) => send(kind, JSON.stringify(body), headers(), expect, route.method, path)),
    });
  }
  return fc.oneof(...arbitraries);
}

/** Paths no function answers, and broken ones. */
export function unknownPaths(real: readonly string[], isRoute: (path: string) => boolean = () => false): fc.Arbitrary<{ readonly path: string; readonly expect: readonly number[] }> {
  const constants = fc.constantFrom(
    '/favicon.ico', '/robots.txt', '/.env', '/.git/config', '/admin', '/index.html', '/api', '/v1', '/*', '/%00', '/%2e%2e/%2e%2e/etc/passwd',
    '/../../etc/passwd', `/${'a'.repeat(4_000)}`, '/%F0%9F%92%A5', '/~', '/;', '/.', '/..', '//', '///x', '/%20',
    ...real.flatMap((p) => [`${p}/`, `${p}/x`, p.toUpperCase(), `/${p}`, `${p}.json`, `${p};x`, `${p}%2F`, `${p}/..`, `${p}%00`]),
  );
  const random = fc.array(fc.webSegment(), { minLength: 1, maxLength: 5 }).map((segments) => `/${segments.join('/')}`);
  return fc.oneof(
    { weight: 3, arbitrary: fc.oneof(constants, random).filter((p) => !real.includes(p) && !isRoute(p)).map((path) => ({ path, expect: [404] as const })) },
    { weight: 1, arbitrary: fc.constantFrom('/%E0%A4%A', '/%zz', '/%', '/a%', '/%C0').map((path) => ({ path, expect: [400, 404] as const })) },
  );
}

/** Requests to paths no function answers, with any method, headers and body. */
export function unknownRouteCases(real: readonly string[], extraHeaders: Record<string, string> = {}, isRoute?: (path: string) => boolean): fc.Arbitrary<FuzzCase> {
  return fc
    .record({
      target: unknownPaths(real, isRoute),
      method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
      body: fc.option(fc.oneof(wrongJson, fc.constant('{}')), { nil: undefined }),
      query: fc.option(fc.constantFrom('?x=1', '?token=', '?__proto__[polluted]=1', '?a[b][c]=d', '?%zz'), { nil: undefined }),
    })
    .map(({ target, method, body, query }) => {
      const sent = body === undefined || method === 'GET' || method === 'HEAD' ? undefined : body;
      // The body is parsed before any route is found: one that does not parse may be answered 400.
      const expect = sent === undefined || sent === '{}' ? target.expect : [...new Set([400, ...target.expect])];
      return fuzzCase('unknown route', { method, path: `${target.path}${query ?? ''}`, headers: { ...headers(), ...extraHeaders }, ...(sent === undefined ? {} : { body: sent }) }, expect);
    });
}

/** Bad requests to a GET route: credentials, query strings, bodies on GET, other methods, other paths. */
export interface GetRoute {
  readonly path: string;
  readonly auth: Record<string, string>;
  /** Undefined: the route is public. */
  readonly badAuth?: fc.Arbitrary<string | undefined>;
  /** Other paths of this route with the statuses they must get (ids that are none or name nothing). */
  readonly otherPaths?: fc.Arbitrary<{ readonly kind: string; readonly path: string; readonly expect: readonly number[] }>;
  /** What a good GET of `path` answers. */
  readonly okStatus: readonly number[];
  /** Each good GET is costly (the whole portfolio read): mostly send the cheap bad ones. */
  readonly costly?: boolean;
  /** Other methods the same path answers: not wrong ones. */
  readonly alsoMethods?: readonly string[];
}

export function getRouteCases(route: GetRoute): fc.Arbitrary<FuzzCase> {
  const query = fc.oneof(
    fc.constantFrom('', '?', '?agent=', '?agent=UPPER', '?agent=deepseek-v3&agent=qwen-7b', '?agent[]=x', '?agent[__proto__]=x', '?__proto__[polluted]=1', '?constructor[prototype][polluted]=1', `?agent=${'a'.repeat(3_000)}`, '?%zz=1', '?a=%zz', '?limit=-1', '?limit=1e20', '?from=0001-01-01T00:00:00Z'),
    fc.dictionary(fc.webSegment(), fc.webSegment(), { maxKeys: 4 }).map((q) => `?${new URLSearchParams(q).toString()}`),
  );
  const arbitraries: { weight: number; arbitrary: fc.Arbitrary<FuzzCase> }[] = [
    { weight: route.costly ? 1 : 4, arbitrary: query.map((q) => fuzzCase('query string', { method: 'GET', path: `${route.path}${q}`, headers: route.auth }, route.okStatus)) },
    {
      weight: 1,
      arbitrary: fc.record({ type: fc.constantFrom(...CONTENT_TYPE_CASES, 'application/json', 'text/plain'), body: fc.oneof(wrongJson, fc.constant('{"a":')) }).map(({ type, body }) =>
        fuzzCase(`GET with a ${type ?? 'typeless'} body`, { method: 'GET', path: route.path, headers: headers(route.auth, type), body }),
      ),
    },
    { weight: route.costly ? 3 : 1, arbitrary: otherMethods('GET', 'HEAD', ...(route.alsoMethods ?? [])).map((method) => fuzzCase(`method ${method}`, { method, path: route.path, headers: headers(route.auth), ...(method === 'OPTIONS' ? {} : { body: '{"reason":"fuzzing the route"}' }) }, [404, 405])) },
    {
      weight: route.costly ? 0 : 1,
      arbitrary: fc.constantFrom('text/html', '*/*', 'application/xml', 'application/json', 'image/png', '', 'text/plain;q=0.1, */*;q=0').map((accept) =>
        fuzzCase(`Accept ${accept}`, { method: 'GET', path: route.path, headers: { ...route.auth, accept } }, route.okStatus),
      ),
    },
  ];
  if (route.badAuth) {
    arbitraries.push({
      weight: route.costly ? 12 : 3,
      arbitrary: route.badAuth.map((authorization) => fuzzCase('bad credentials', { method: 'GET', path: route.path, headers: authorization === undefined ? {} : { authorization } }, [401])),
    });
  }
  if (route.otherPaths) {
    arbitraries.push({ weight: 3, arbitrary: route.otherPaths.map(({ kind, path, expect }) => fuzzCase(kind, { method: 'GET', path, headers: route.auth }, expect)) });
  }
  return fc.oneof(...arbitraries.filter((a) => a.weight > 0));
}
