import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBinanceOrderTradeUpdate } from '../../shared/domain/binance-order-update.js';
import { VENUE_MADE_ORDER } from '../../shared/domain/exchange.js';
import { TradeSignal } from '../../shared/domain/messages.js';
import { OrderUpdate } from '../../shared/domain/order-updates.js';
import { TradingViewAlert, tradingViewSignal } from '../../shared/domain/tradingview.js';
import { signWebhook } from '../../shared/domain/webhook-signature.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { TradeLedger } from '../../shared/firestore/trade-ledger.js';
import { ATOMS_PER_UNIT } from '../../shared/domain/quantity.js';
import {
  type FuzzCase,
  FuzzClient,
  type RouteReport,
  badAuthorization,
  badPathParam,
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
  unknownRouteCases,
} from '../support/fuzz.js';
import { type ServedFunction, closeInOrder, isolatedProject, serveFunction } from '../support/stack.js';
import { openTestOrder, seedTestAgent } from '../support/trading.js';

/**
 * Fuzzing the outside edges (issue 12, item 2): signal-intake and broker-webhook, every route,
 * 1,000 generated bad requests each through the real server. For each: no 5xx, a JSON answer in
 * the problem shape, no stack, path or secret in the answer or the log, and no Firestore document
 * changed. Nothing valid is sent: a signal that would be accepted is filtered out of the
 * generators (it would be published — not a bad input).
 */

const projectId = isolatedProject('fuzz-edges');
process.env.SAPPHIRE_QUIET_LOGS = 'false';
const SIGNAL_TOKEN = 'fuzz-signal-token-0123456789';
const TV_SECRET = 'fuzz-tradingview-secret-0123';
const BROKER_SECRET = 'fuzz-broker-secret-0123456789';
process.env.SIGNAL_INTAKE_TOKENS = SIGNAL_TOKEN;
process.env.TRADINGVIEW_SOURCE_SECRETS = JSON.stringify({ 'fuzz-tv': TV_SECRET });
process.env.BROKER_WEBHOOK_SECRETS = JSON.stringify({ 'fuzz-broker': BROKER_SECRET });
const SECRETS = [SIGNAL_TOKEN, TV_SECRET, BROKER_SECRET];
const db = firestoreFor(projectId);
const INPUTS = INPUTS_PER_ROUTE;

let intake: ServedFunction;
let webhook: ServedFunction;
let intakeClient: FuzzClient;
let webhookClient: FuzzClient;
let orderId: string;
const reports: RouteReport[] = [];

beforeAll(async () => {
  await seedTestAgent(db, 'fuzz-agent');
  ({ order: { orderId } } = await openTestOrder(db, new TradeLedger(db), { agentId: 'fuzz-agent', signalId: 'fuzz-order-1', quantity: '0.01', quantityAtoms: ATOMS_PER_UNIT / 100, priceUsd: 20_000 }));
  intake = await serveFunction(() => import('../../functions/signal-intake/index.js'), 'signalIntake');
  webhook = await serveFunction(() => import('../../functions/broker-webhook/index.js'), 'brokerWebhook');
  intakeClient = new FuzzClient(intake.url);
  webhookClient = new FuzzClient(webhook.url);
});

afterAll(async () => {
  intakeClient?.close();
  webhookClient?.close();
  await closeInOrder(intake, webhook);
  if (reports.length > 0) process.stdout.write(`\nfuzz-edges\n${reportTable(reports)}\n`);
});

async function fuzz(route: string, client: FuzzClient, cases: readonly FuzzCase[]): Promise<void> {
  const report = await fuzzRoute({ route, client, cases, db, secrets: SECRETS });
  reports.push(report);
  expectClean(report);
}

// ---------------------------------------------------------------------------------------------
// signal-intake
// ---------------------------------------------------------------------------------------------

const SIGNAL = {
  signalId: 'fuzz-signal-1',
  agentId: 'deepseek-v3',
  symbol: 'BTCUSDT',
  side: 'BUY',
  size: { type: 'notional', notionalMicros: 250_000_000 },
  leverage: 5,
  confidence: 0.7,
  source: 'webhook:fuzz',
  reduceOnly: false,
  createdAt: '2026-01-01T00:00:00Z',
  expiresAt: '2026-01-01T00:05:00Z',
};

const ALERT = {
  source: 'fuzz-tv',
  secret: TV_SECRET,
  agentId: 'deepseek-v3',
  ticker: 'BINANCE:BTCUSDT.P',
  action: 'buy',
  contracts: '0.01',
  price: '23000.5',
  leverage: 3,
  time: '2026-01-01T00:00:00Z',
  alertId: 'alert-1',
};

/** What signal-intake answers a TradingView alert: 401 without the source's secret, 202 if it becomes a valid signal, else 400. */
function tradingViewVerdict(body: unknown): 202 | 400 | 401 {
  const { source, secret } = (body ?? {}) as { source?: unknown; secret?: unknown };
  if (source !== 'fuzz-tv' || secret !== TV_SECRET) return 401;
  const alert = TradingViewAlert.safeParse(body);
  if (!alert.success) return 400;
  try {
    return TradeSignal.safeParse(tradingViewSignal(alert.data, 60)).success ? 202 : 400;
  } catch {
    return 400;
  }
}

describe('signal-intake', () => {
  it('POST /signals: 1,000 bad requests, no 5xx, JSON problems, nothing leaked or written', async () => {
    const bearer = { authorization: `Bearer ${SIGNAL_TOKEN}` };
    const cases = jsonRouteCases({
      method: 'POST',
      path: '/signals',
      auth: () => bearer,
      badAuth: badAuthorization(SIGNAL_TOKEN).map((authorization) => (): Record<string, string> => (authorization === undefined ? {} : { authorization })),
      template: SIGNAL,
      textAllowed: true,
      nearValid: fc.oneof(
        oneFieldBroken(SIGNAL),
        oneFieldBroken({ ...SIGNAL, size: { type: 'quantity', quantity: '0.01', priceMicros: 23_000_000_000 } }),
      ).filter((body) => !TradeSignal.safeParse(body).success).map((body) => ({ kind: 'a signal with one field broken', body, expect: [400] })),
    });
    await fuzz('signal-intake POST /signals', intakeClient, sampleCases(cases, INPUTS, 1201));
  });

  it('POST /tradingview: 1,000 bad alerts, no 5xx, JSON problems, the secret never echoed or logged', async () => {
    const misplaced = fc.constantFrom('source', 'agentId', 'ticker', 'alertId', 'action').map((field) => ({
      kind: `the secret in ${field}`,
      body: { ...ALERT, secret: 'not-the-secret', [field]: TV_SECRET },
      expect: [401] as const,
    }));
    const cases = jsonRouteCases({
      method: 'POST',
      path: '/tradingview',
      auth: () => ({}),
      template: ALERT,
      // Without its source and secret an alert cannot be told from a stranger's.
      wrongShapeStatus: [400, 401],
      textAllowed: true,
      nearValid: fc.oneof(
        { weight: 9, arbitrary: fc.oneof(oneFieldBroken(ALERT), oneFieldBroken({ ...ALERT, contracts: undefined, price: undefined, notionalUsd: '250' })).map((body) => ({ kind: 'an alert with one field broken', body, expect: [tradingViewVerdict(body)] })) },
        { weight: 1, arbitrary: misplaced },
      ).filter(({ expect: [verdict] }) => verdict !== 202),
    });
    await fuzz('signal-intake POST /tradingview', intakeClient, sampleCases(cases, INPUTS, 1202));
  });

  it('unknown routes and methods: 404 JSON', async () => {
    await fuzz('signal-intake unknown routes', intakeClient, sampleCases(unknownRouteCases(['/signals', '/tradingview'], { authorization: `Bearer ${SIGNAL_TOKEN}` }), INPUTS, 1203));
  });
});

// ---------------------------------------------------------------------------------------------
// broker-webhook
// ---------------------------------------------------------------------------------------------

const UNKNOWN_ORDER = 'sph-0123456789abcdef0123456789abcdef';

function orderUpdate(order: string): Record<string, unknown> {
  return {
    eventId: 'evt-fuzz-1',
    venue: 'fuzz-broker',
    orderId: order,
    exchangeOrderId: '42',
    symbol: 'BTCUSDT',
    side: 'BUY',
    status: 'PARTIALLY_FILLED',
    orderQuantity: '0.01',
    cumulativeFilledQuantity: '0.004',
    fill: { tradeId: 't-1', quantity: '0.004', priceMicros: 23_142_310_000, feeMicros: 46_285 },
    eventTime: '2026-01-01T00:00:00Z',
  };
}

function binanceEvent(order: string): Record<string, unknown> {
  return {
    e: 'ORDER_TRADE_UPDATE',
    E: 1_678_424_400_123,
    T: 1_678_424_400_120,
    o: { s: 'BTCUSDT', c: order, S: 'BUY', o: 'MARKET', q: '0.045', p: '0', ap: '22088.6', x: 'TRADE', X: 'FILLED', i: 8_886_774, l: '0.045', z: '0.045', L: '22088.6', N: 'USDT', n: '0.49699350', T: 1_678_424_400_120, t: 72_384, R: false },
  };
}

const signed = (body: string, secret = BROKER_SECRET, timestamp = Math.floor(Date.now() / 1000)) => ({
  'x-sapphire-timestamp': String(timestamp),
  'x-sapphire-signature': signWebhook(secret, timestamp, body),
});

/** Signature headers that must be refused. */
const badSignature: fc.Arbitrary<(body: string) => Record<string, string>> = fc.oneof(
  fc.constantFrom<(body: string) => Record<string, string>>(
    () => ({}),
    (body) => ({ 'x-sapphire-signature': signed(body)['x-sapphire-signature'] }),
    (body) => ({ 'x-sapphire-timestamp': signed(body)['x-sapphire-timestamp'] }),
    (body) => signed(body, 'another-secret-0123456789abcdef'),
    (body) => signed(body, BROKER_SECRET, Math.floor(Date.now() / 1000) - 400),
    (body) => signed(body, BROKER_SECRET, Math.floor(Date.now() / 1000) + 400),
    (body) => signed(body, BROKER_SECRET, 0),
    (body) => signed(`${body} `),
    (body) => ({ ...signed(body), 'x-sapphire-signature': signed(body)['x-sapphire-signature'].replace('v1=', 'v2=') }),
    (body) => ({ ...signed(body), 'x-sapphire-signature': `${signed(body)['x-sapphire-signature']}0` }),
    (body) => ({ ...signed(body), 'x-sapphire-signature': signed(body)['x-sapphire-signature'].toUpperCase() }),
    (body) => ({ ...signed(body), 'x-sapphire-signature': `v1=${'0'.repeat(64)}` }),
  ),
  fc.record({ timestamp: fc.constantFrom('1e20', '-1e17', 'NaN', 'Infinity', '', ' ', '9'.repeat(30), '1.5', '0x10', '-1', '+1', '1e3'), signature: fc.constantFrom('v1=', 'v1', '=', ',', 'v1=zz', `v1=${'a'.repeat(64)},`, `${'v1=aa,'.repeat(500)}`, 'sha256=abc') }).map(
    ({ timestamp, signature }) => () => ({ 'x-sapphire-timestamp': timestamp, 'x-sapphire-signature': signature }),
  ),
);

/** 400 for a broken update; a valid one names no order Sapphire knows: 422, or 202 for an order the venue made. */
function webhookVerdict(format: 'order-updates' | 'binance', body: unknown): readonly number[] {
  const update = format === 'order-updates' ? OrderUpdate.safeParse(body) : parseBinanceOrderTradeUpdate(body, 'binance');
  if (!('success' in update ? update.success : update.ok)) return [400];
  const id = 'success' in update ? update.data?.orderId : update.ok ? update.update.orderId : '';
  return VENUE_MADE_ORDER.test(id ?? '') ? [202] : [422];
}

describe('broker-webhook', () => {
  const routes = [
    ['order-updates', orderUpdate] as const,
    ['binance', binanceEvent] as const,
    ['aster', binanceEvent] as const,
  ];
  it.each(routes)('POST /brokers/{broker}/%s: 1,000 bad or unknown updates, no 5xx, nothing applied', async (format, template) => {
    const kind = format === 'order-updates' ? 'order-updates' : 'binance';
    const path = `/brokers/fuzz-broker/${format}`;
    const cases = jsonRouteCases({
      method: 'POST',
      path,
      auth: (body) => signed(body),
      badAuth: badSignature,
      template: template(UNKNOWN_ORDER),
      textAllowed: true,
      nearValid: fc.oneof(
        // Against the real order: one field broken, so never applied.
        { weight: 3, arbitrary: oneFieldBroken(template(orderId)).filter((body) => webhookVerdict(kind, body)[0] === 400).map((body) => ({ kind: 'an update with one field broken', body, expect: [400] })) },
        // Against orders Sapphire does not know: refused or deferred, nothing written.
        { weight: 1, arbitrary: fc.oneof(oneFieldBroken(template(UNKNOWN_ORDER)), oneFieldBroken(template('autoclose-fuzz-1'))).map((body) => ({ kind: 'an update of an unknown order', body, expect: webhookVerdict(kind, body) })) },
      ),
      otherPaths: fc.oneof(
        badPathParam.map((broker) => ({ kind: 'a broker that is no id', path: `/brokers/${broker}/${format}`, body: template(orderId), expect: [400, 401, 404] as const })),
        fc.constantFrom('no-such-broker', 'constructor', 'tostring', 'hasownproperty', '__proto__').map((broker) => ({ kind: 'an unknown broker', path: `/brokers/${broker}/${format}`, body: template(orderId), expect: [401, 404] as const })),
      ),
    });
    await fuzz(`broker-webhook POST /brokers/{broker}/${format}`, webhookClient, sampleCases(cases, INPUTS, 1210 + format.length));
  });

  it('unknown routes and methods: 404 JSON', async () => {
    await fuzz('broker-webhook unknown routes', webhookClient, sampleCases(unknownRouteCases(['/brokers/fuzz-broker/order-updates', '/brokers/fuzz-broker/binance', '/brokers/fuzz-broker/aster']), INPUTS, 1219));
  });
});

describe('oversized bodies', () => {
  it('are refused with 413, by length or as they stream', async () => {
    const big = `{"pad":"${'x'.repeat(1_100_000)}"}`;
    const cases = [
      fuzzCase('oversized body', { method: 'POST', path: '/signals', headers: headers({ authorization: `Bearer ${SIGNAL_TOKEN}` }), body: big }, [413]),
      fuzzCase('oversized body, chunked', { method: 'POST', path: '/signals', headers: headers({ authorization: `Bearer ${SIGNAL_TOKEN}` }), body: big, chunked: true }, [413]),
      fuzzCase('oversized body', { method: 'POST', path: '/tradingview', headers: headers({}, 'text/plain'), body: big }, [413]),
    ];
    const report = await fuzzRoute({ route: 'signal-intake oversized', client: intakeClient, cases, db, secrets: SECRETS, concurrency: 1 });
    expect(report.failures).toEqual([]);
    const hooks = [
      fuzzCase('oversized body', { method: 'POST', path: '/brokers/fuzz-broker/order-updates', headers: { ...headers(), ...signed(big) }, body: big }, [413]),
      fuzzCase('oversized body, chunked', { method: 'POST', path: '/brokers/fuzz-broker/binance', headers: { ...headers(), ...signed(big) }, body: big, chunked: true }, [413]),
    ];
    const hookReport = await fuzzRoute({ route: 'broker-webhook oversized', client: webhookClient, cases: hooks, db, secrets: SECRETS, concurrency: 1 });
    expect(hookReport.failures).toEqual([]);
  });
});

// Keeps the odd-value generator honest: it must reach the numbers and times the issue names.
it('the generators include out-of-range numbers and times', () => {
  const values = fc.sample(oddValue, { numRuns: 2_000, seed: 1 });
  for (const expected of [1e20, -1e17, '9999-12-31T23:59:59Z', '__proto__']) expect(values).toContainEqual(expected);
});
