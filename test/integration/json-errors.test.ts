import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '../support/http.js';
import { type ServedFunction, closeInOrder, isolatedProject, serveFunction } from '../support/stack.js';

/**
 * Bodies functions-framework cannot parse never reach a function: before, Express answered them
 * with an HTML page carrying a stack trace and the server's file paths. Every HTTP function now
 * answers them with a JSON problem.
 */

isolatedProject('json-errors');
process.env.OPS_API_TOKENS = 'alice:json-errors-ops-token-0123';
process.env.SIGNAL_INTAKE_TOKENS = 'json-errors-signal-token-0123';
let served: Record<string, ServedFunction> = {};
const ROUTES: readonly [string, string][] = [
  ['signal-intake', '/signals'],
  ['ops-api', '/agents/qwen-7b/halt'],
  ['broker-webhook', '/brokers/test/order-updates'],
  ['margin-reservation', '/'],
];

beforeAll(async () => {
  served = {
    'signal-intake': await serveFunction(() => import('../../functions/signal-intake/index.js'), 'signalIntake'),
    'ops-api': await serveFunction(() => import('../../functions/ops-api/index.js'), 'opsApi'),
    'broker-webhook': await serveFunction(() => import('../../functions/broker-webhook/index.js'), 'brokerWebhook'),
    'margin-reservation': await serveFunction(() => import('../../functions/margin-reservation/index.js'), 'marginReservation'),
  };
});

afterAll(async () => {
  await closeInOrder(...Object.values(served));
});

async function expectJsonProblem(response: Response, status: number): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const text = await response.text();
  expect(text).not.toMatch(/<html|<pre>|at .*\(|\/work\/|node_modules/i);
  expect(JSON.parse(text)).toMatchObject({ error: expect.any(String) });
}

describe('bodies that cannot be parsed', () => {
  it.each(ROUTES)('%s answers malformed JSON with a JSON 400, no stack, no paths', async (name, path) => {
    const response = await fetch(`${served[name]?.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer('json-errors-signal-token-0123') }, body: '{"truncated": ' });
    await expectJsonProblem(response, 400);
  });

  it.each(ROUTES)('%s answers an unknown charset or Content-Encoding with a JSON 415', async (name, path) => {
    await expectJsonProblem(await fetch(`${served[name]?.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json; charset=klingon' }, body: '{}' }), 415);
    await expectJsonProblem(await fetch(`${served[name]?.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'bogus' }, body: '{}' }), 415);
  });

  it('answers hundreds of generated broken JSON bodies on every route without a 5xx or an HTML page', async () => {
    const broken = fc.string({ maxLength: 60 }).filter((s) => {
      try {
        JSON.parse(s);
        return false;
      } catch {
        return true;
      }
    });
    for (const body of fc.sample(broken, { numRuns: 60, seed: 7 })) {
      for (const [name, path] of ROUTES) {
        const response = await fetch(`${served[name]?.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        expect(response.status, `${name} ${JSON.stringify(body)}`).toBeLessThan(500);
        expect(response.headers.get('content-type'), `${name} ${JSON.stringify(body)}`).toMatch(/^application\/json/);
      }
    }
  });
});

describe('bodies no route takes are refused before they are read', () => {
  const signals = () => `${served['signal-intake']?.url}/signals`;

  it('answers a body over 1 MiB with 413, not 400, on every route but a push endpoint', async () => {
    const big = `{"pad":"${'x'.repeat(1024 * 1024)}"}`;
    for (const [name, path] of ROUTES.filter(([n]) => n !== 'margin-reservation')) {
      await expectJsonProblem(await fetch(`${served[name]?.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer('json-errors-signal-token-0123') }, body: big }), 413);
    }
  });

  it('counts a chunked body as it arrives and answers 413 past the limit', async () => {
    const { hostname, port } = new URL(signals());
    const answer = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const req = request({ hostname, port, path: '/signals', method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
      });
      req.on('error', reject);
      for (let i = 0; i < 20; i++) req.write(`${i === 0 ? '{"pad":"' : ''}${'x'.repeat(64 * 1024)}`);
      req.end('"}');
    });
    expect(answer.status).toBe(413);
    expect(answer.type).toMatch(/^application\/json/);
    expect(JSON.parse(answer.body)).toEqual({ error: 'the request body is too large' });
  });

  it('takes a push envelope over 1 MiB: Pub/Sub messages reach 10 MB', async () => {
    const envelope = { message: { messageId: 'big-1', data: Buffer.from(JSON.stringify({ pad: 'x'.repeat(1_500_000) })).toString('base64') }, subscription: 'projects/p/subscriptions/margin-reservation' };
    const response = await fetch(`${served['margin-reservation']?.url}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(envelope) });
    expect(response.status).toBe(204);
  });

  it.each([['application/x-www-form-urlencoded'], ['multipart/form-data; boundary=x'], ['application/octet-stream'], ['application/xml'], [undefined]])(
    'answers a body of type %s with 415 on every route',
    async (type) => {
      for (const [name, path] of ROUTES) {
        const response = await fetch(`${served[name]?.url}${path}`, { method: 'POST', headers: { ...(type ? { 'content-type': type } : {}), ...bearer('json-errors-signal-token-0123') }, body: Buffer.from('reason=because') });
        await expectJsonProblem(response, 415);
      }
    },
  );

  it('answers a compressed body with 415: a few kilobytes of gzip could inflate to a gigabyte', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(100_000);
    for (const [name, path] of ROUTES) {
      await expectJsonProblem(await fetch(`${served[name]?.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: bomb }), 415);
    }
  });

  it('answers /favicon.ico and /robots.txt with a JSON 404, not an empty one', async () => {
    for (const [name] of ROUTES) {
      for (const path of ['/favicon.ico', '/robots.txt']) await expectJsonProblem(await fetch(`${served[name]?.url}${path}`), 404);
    }
  });
});

describe('answers are JSON, or have no body', () => {
  const ops = () => served['ops-api']?.url as string;

  it('ops-api answers a JSON route a text/plain body with 415, not a 400 about a string', async () => {
    for (const [method, path] of [['POST', '/agents/qwen-7b/halt'], ['POST', '/portfolio/flatten'], ['PATCH', '/agents/qwen-7b'], ['POST', '/agents/qwen-7b/training']]) {
      const response = await fetch(`${ops()}${path}`, { method, headers: { 'content-type': 'text/plain', ...bearer('json-errors-ops-token-0123') }, body: '{"reason":"typed as text"}' });
      await expectJsonProblem(response, 415);
    }
  });

  it("ops-api's redirect from / to the dashboard has no HTML body", async () => {
    const response = await fetch(`${ops()}/`, { headers: { accept: 'text/html', ...bearer('json-errors-ops-token-0123') }, redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('dashboard');
    expect(await response.text()).toBe('');
  });
});

describe('push and scheduler endpoints answer POST / with JSON, and nothing else', () => {
  let more: Record<string, ServedFunction> = {};
  beforeAll(async () => {
    more = {
      reconciler: await serveFunction(() => import('../../functions/reconciler/index.js'), 'reconciler'),
      'agent-inference': await serveFunction(() => import('../../functions/agent-inference/index.js'), 'agentInference'),
    };
  });
  afterAll(async () => {
    await closeInOrder(...Object.values(more));
  });

  it('answers another path 404 and a text body 415, instead of handling them as a push or a run', async () => {
    for (const url of [served['margin-reservation']?.url, more.reconciler?.url]) {
      await expectJsonProblem(await fetch(`${url}/elsewhere`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }), 404);
      await expectJsonProblem(await fetch(`${url}/`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }), 415);
      await expectJsonProblem(await fetch(`${url}/`, { method: 'GET' }), 405);
    }
  });

  it('agent-inference answers a run of an agent that does not exist 404, not 200 with nothing run', async () => {
    const response = await fetch(`${more['agent-inference']?.url}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"agentId":"no-such-agent"}' });
    await expectJsonProblem(response.clone(), 404);
    expect(await response.json()).toEqual({ error: 'no agent profile for no-such-agent' });
  });
});
