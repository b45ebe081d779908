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
