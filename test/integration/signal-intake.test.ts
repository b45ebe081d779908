import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TradeSignal } from '../../shared/domain/messages.js';
import { USD } from '../../shared/domain/money.js';
import { pubsubFor } from '../../shared/pubsub/client.js';
import { TOPICS } from '../../triggers/manifest.js';
import { bearer, postJson } from '../support/http.js';
import { makeSignal } from '../support/signals.js';
import { type ServedFunction, TopicTap, closeInOrder, isolatedProject, serveFunction, settle } from '../support/stack.js';

const projectId = isolatedProject('intake');
const TOKEN = 'test-intake-token-0123456789';
const TV_SECRET = 'tv-secret-0123456789abcdef';
process.env.SIGNAL_INTAKE_TOKENS = TOKEN;
process.env.TRADINGVIEW_SOURCE_SECRETS = JSON.stringify({ 'tv-main': TV_SECRET });

const pubsub = pubsubFor(projectId);
let fn: ServedFunction;
let signals: TopicTap<TradeSignal>;

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return postJson(`${fn.url}${path}`, body, headers);
}
const authorized = bearer(TOKEN);

beforeAll(async () => {
  await pubsub.createTopic(TOPICS.signals);
  signals = await TopicTap.open(pubsub, TOPICS.signals);
  fn = await serveFunction(() => import('../../functions/signal-intake/index.js'), 'signalIntake');
});

afterAll(async () => {
  await closeInOrder(signals, fn);
});

describe('signal-intake POST /signals', () => {
  it('answers 202 with the signalId once the signal is on the topic, stamped with when it arrived and its trace', async () => {
    // A producer's own receivedAt is not believed: intake stamps its own.
    const signal = { ...makeSignal(), receivedAt: '2020-01-01T00:00:00.000Z' };
    const before = Date.now();
    const response = await post('/signals', signal, authorized);
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ signalId: signal.signalId });
    const message = await signals.waitForMessage('the signal on the topic', (s) => s.signalId === signal.signalId);
    expect(message.data).toEqual({ ...signal, receivedAt: expect.any(String) });
    const receivedAt = Date.parse((message.data as { receivedAt: string }).receivedAt);
    expect(receivedAt).toBeGreaterThanOrEqual(before);
    expect(receivedAt).toBeLessThanOrEqual(Date.now());
    // The message continues the request's trace, which the answer names.
    const traceId = /^00-([0-9a-f]{32})-/.exec(response.headers.get('traceparent') ?? '')?.[1];
    expect(message.attributes).toMatchObject({ agentId: signal.agentId, traceparent: expect.stringMatching(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`)) });
  });

  it('refuses a missing or wrong token with 401 and publishes nothing', async () => {
    const before = signals.messages.length;
    expect((await post('/signals', makeSignal())).status).toBe(401);
    expect((await post('/signals', makeSignal(), { authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
    expect((await post('/signals', makeSignal(), { authorization: `Basic ${TOKEN}` })).status).toBe(401);
    await settle(() => signals.messages.length, 500);
    expect(signals.messages.length).toBe(before);
  });

  it('answers 400 naming the failing fields and publishes nothing', async () => {
    const before = signals.messages.length;
    const { leverage: _l, ...noLeverage } = makeSignal();
    const response = await post('/signals', { ...noLeverage, side: 'LONG', size: { type: 'notional', notionalMicros: -5 } }, authorized);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { fields: { field: string }[] };
    expect(body.fields.map((f) => f.field).sort()).toEqual(['leverage', 'side', 'size.notionalMicros']);
    expect((await post('/signals', '{"not json', authorized)).status).toBe(400);
    await settle(() => signals.messages.length, 500);
    expect(signals.messages.length).toBe(before);
  });

  it('range-checks times from outside: no signal from the future or living longer than a day, nothing published', async () => {
    const before = signals.messages.length;
    const now = Date.now();
    const future = { ...makeSignal(), createdAt: new Date(now + 3_600_000).toISOString(), expiresAt: new Date(now + 7_200_000).toISOString() };
    const ancient = { ...makeSignal(), createdAt: '1999-12-31T23:59:00.000Z', expiresAt: '2000-01-01T00:00:00.000Z' };
    const immortal = { ...makeSignal(), createdAt: new Date(now).toISOString(), expiresAt: '9999-12-31T00:00:00.000Z' };
    const fieldsOf = async (body: unknown) => {
      const response = await post('/signals', body, authorized);
      expect(response.status).toBe(400);
      return ((await response.json()) as { fields: { field: string }[] }).fields.map((f) => f.field);
    };
    expect(await fieldsOf(future)).toEqual(['createdAt']);
    expect(await fieldsOf(ancient)).toEqual(['createdAt']);
    expect(await fieldsOf(immortal)).toEqual(['expiresAt']);
    await settle(() => signals.messages.length, 500);
    expect(signals.messages.length).toBe(before);
  });

  it('answers 404 elsewhere', async () => {
    expect((await post('/elsewhere', {}, authorized)).status).toBe(404);
  });
});

describe('signal-intake POST /tradingview', () => {
  const alert = {
    source: 'tv-main',
    secret: TV_SECRET,
    agentId: 'qwen-7b',
    ticker: 'BINANCE:ETHUSDT.P',
    action: 'sell',
    notionalUsd: '150',
    leverage: 2,
    time: new Date().toISOString(),
    alertId: 'short-1',
  };

  it('maps an alert sent as text/plain, as TradingView does, and answers well inside 3 s', async () => {
    const started = Date.now();
    const response = await fetch(`${fn.url}/tradingview`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: JSON.stringify(alert),
    });
    const elapsed = Date.now() - started;
    expect(response.status).toBe(202);
    expect(elapsed).toBeLessThan(3_000);
    const { signalId } = (await response.json()) as { signalId: string };
    const mapped = await signals.waitForMessage('the alert as a signal', (s) => s.signalId === signalId);
    expect(mapped.data).toMatchObject({
      agentId: 'qwen-7b',
      symbol: 'ETHUSDT',
      side: 'SELL',
      size: { type: 'notional', notionalMicros: 150 * USD },
      source: 'tradingview:tv-main',
    });
    // The same alert again maps to the same signalId (reserved once downstream).
    const again = await post('/tradingview', alert);
    expect(((await again.json()) as { signalId: string }).signalId).toBe(signalId);
  });

  it('refuses a wrong secret or an unknown source with 401, before looking at the rest', async () => {
    expect((await post('/tradingview', { ...alert, secret: 'wrong' })).status).toBe(401);
    expect((await post('/tradingview', { ...alert, source: 'tv-other' })).status).toBe(401);
    expect((await post('/tradingview', { ticker: 'BTCUSDT' })).status).toBe(401);
  });

  it('answers a body that is not JSON with 400, not as a stranger with 401', async () => {
    const response = await fetch(`${fn.url}/tradingview`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"source": "tv-main", "secret": ' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'body must be JSON' });
  });

  it('never logs a secret sent in the source field', async () => {
    const lines: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => lines.push(String(chunk))) as unknown as typeof process.stdout.write;
    const quiet = process.env.SAPPHIRE_QUIET_LOGS;
    process.env.SAPPHIRE_QUIET_LOGS = 'false';
    try {
      expect((await post('/tradingview', { ...alert, source: TV_SECRET, secret: 'tv-main' })).status).toBe(401);
    } finally {
      process.stdout.write = write;
      process.env.SAPPHIRE_QUIET_LOGS = quiet;
    }
    const refused = lines.filter((line) => line.includes('tradingview alert refused'));
    expect(refused).toHaveLength(1);
    expect(refused.join('')).not.toContain(TV_SECRET);
  });

  it('answers 400 with the fields of an authentic but malformed alert', async () => {
    const response = await post('/tradingview', { ...alert, action: 'hold', notionalUsd: 'lots' });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { fields: { field: string }[] };
    expect(body.fields.map((f) => f.field)).toEqual(expect.arrayContaining(['action', 'notionalUsd']));
  });
});
