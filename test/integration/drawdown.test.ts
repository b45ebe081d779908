import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AGENTS } from '../../shared/domain/agents.js';
import type { AlertMessage } from '../../shared/domain/messages.js';
import { AlertEpisode, type ScopeSnapshot } from '../../shared/domain/risk.js';
import { seedAgentProfiles } from '../../shared/firestore/agent-profiles.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { MarginLedger } from '../../shared/firestore/margin-ledger.js';
import { TradeLedger } from '../../shared/firestore/trade-ledger.js';
import { tradingStateOf } from '../../shared/firestore/trading-states.js';
import { pubsubFor } from '../../shared/pubsub/client.js';
import { JsonPublisher } from '../../shared/pubsub/publisher.js';
import { TOPICS } from '../../triggers/manifest.js';
import type { MarketStandIn } from '../../scripts/lib/market-standin.js';
import { type LocalPushDelivery, provisionPubSub } from '../../scripts/lib/provision.js';
import { startReplayAt } from '../support/market.js';
import { makeSignal } from '../support/signals.js';
import { startRecordingServer } from '../support/recording-server.js';
import { type ServedFunction, TopicTap, isolatedProject, serveFunction, settle, waitUntil } from '../support/stack.js';
import { USD } from '../../shared/domain/money.js';

/**
 * March 2023 replayed: a 10× long of 0.452 BTC opened by lagllama-degen on 2023-03-08 12:01,
 * evaluated hourly while BTC falls from 22,100 to 19,600.
 */

const projectId = isolatedProject('drawdown');
const OPS_TOKEN = 'ops-token-0123456789abcdef';
process.env.OPS_API_TOKENS = `alice:${OPS_TOKEN}`;
const db = firestoreFor(projectId);
const pubsub = pubsubFor(projectId);
const publisher = new JsonPublisher(pubsub);
const margins = new MarginLedger(db, { maxSymbolsPerAgent: 50 });
const trades = new TradeLedger(db);
let venue: MarketStandIn;
let alerts: TopicTap<AlertMessage>;
let slack: Awaited<ReturnType<typeof startRecordingServer>>;
const fns: Record<string, ServedFunction> = {};

async function evaluateAt(iso: string): Promise<{ evaluated: boolean; snapshots: ScopeSnapshot[] }> {
  venue.clock.set(Date.parse(iso), 0); // the price is the close of the minute that just ended
  const response = await fetch(`${fns.evaluator?.url}/`, { method: 'POST' });
  expect(response.status).toBe(200);
  return (await response.json()) as { evaluated: boolean; snapshots: ScopeSnapshot[] };
}

async function signal(id: string, overrides: Parameters<typeof makeSignal>[0]): Promise<string> {
  const s = makeSignal({ signalId: id, ...overrides });
  await publisher.publish(TOPICS.signals, s);
  await waitUntil(`outcome of ${id}`, async () => (await margins.reservationOf(id)) !== undefined);
  // Accepted is `reserved`, or already `ordered` once order-router has claimed it.
  const status = (await margins.reservationOf(id))?.status;
  return status === 'reserved' || status === 'ordered' ? 'accepted' : (status ?? 'missing');
}

function resume(path: string, token?: string): Promise<Response> {
  return fetch(`${fns.ops?.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ reason: 'drawdown reviewed, position closed' }),
  });
}

async function episodes(): Promise<AlertEpisode[]> {
  return (await db.collection('alertEpisodes').get()).docs.map((d) => AlertEpisode.parse(d.data()));
}

let delivery: LocalPushDelivery | undefined;

beforeAll(async () => {
  venue = await startReplayAt('2023-03-08T12:01:00Z');
  slack = await startRecordingServer();
  Object.assign(process.env, {
    MARKET_DATA_URL: venue.url,
    PAPER_SLIPPAGE_BPS: '5',
    PAPER_TAKER_FEE_PPM: '500',
    ALERT_DESTINATIONS: JSON.stringify([{ name: 'ops-slack', type: 'slack', url: `${slack.url}/services/T0/B0/X` }]),
    ALERT_RATE_PER_SECOND: '50',
  });
  await seedAgentProfiles(db, DEFAULT_AGENTS);
  fns.reservation = await serveFunction(() => import('../../functions/margin-reservation/index.js'), 'marginReservation');
  fns.router = await serveFunction(() => import('../../functions/order-router/index.js'), 'orderRouter');
  fns.evaluator = await serveFunction(() => import('../../functions/drawdown-evaluator/index.js'), 'drawdownEvaluator');
  fns.ops = await serveFunction(() => import('../../functions/ops-api/index.js'), 'opsApi');
  fns.alerts = await serveFunction(() => import('../../functions/alert-publisher/index.js'), 'alertPublisher');
  delivery = await provisionPubSub(pubsub, (name) => ({ 'margin-reservation': `${fns.reservation?.url}/`, 'order-router': `${fns.router?.url}/`, 'alert-publisher': `${fns.alerts?.url}/` })[name]);
  alerts = await TopicTap.open(pubsub, TOPICS.alerts);
});

afterAll(async () => {
  await delivery?.stop();
  await alerts?.close();
  for (const fn of Object.values(fns)) await fn.close();
  await venue?.close();
  await slack?.close();
});

describe('drawdown, kill switch and resume on replayed prices', () => {
  it('tracks drawdown from the persisted peak, halts at 25%, lets reductions through, and resumes only for an operator', async () => {
    // 10,000 USD at 10×: 1,000 USD margin, all of lagllama-degen's budget. 0.452 BTC filled at 22,088.60.
    expect(await signal('dd-open', { agentId: 'lagllama-degen', size: { type: 'notional', notionalMicros: 10_000 * USD }, leverage: 10 })).toBe('accepted');
    await waitUntil('the position', async () => (await trades.position('lagllama-degen', 'BTCUSDT')).quantityAtoms === 45_200_000);

    // Hand-computed: equity = 4,000 − 4.992024 (fee) + 0.452 × (close − 22,088.60), rounded down to the micro.
    const reference: Record<string, { equity: number; peak: number; drawdown: number }> = {
      '2023-03-08T12:02:00.000Z': { equity: 3_987_911_576, peak: 3_987_911_576, drawdown: 0 }, // close 22,072.90
      '2023-03-08T17:00:00.000Z': { equity: 4_018_977_536, peak: 4_018_977_536, drawdown: 0 }, // close 22,141.63: the peak
      '2023-03-09T19:00:00.000Z': { equity: 3_510_436_856, peak: 4_018_977_536, drawdown: 0.12653484012904917 }, // 21,016.54
      '2023-03-10T01:00:00.000Z': { equity: 3_106_014_376, peak: 4_018_977_536, drawdown: 0.22716304130145804 }, // 20,121.80
      '2023-03-10T05:00:00.000Z': { equity: 2_994_917_296, peak: 4_018_977_536, drawdown: 0.25480616172321896 }, // 19,876.01
    };
    const hours = Array.from({ length: 41 }, (_, h) => new Date(Date.parse('2023-03-08T13:00:00Z') + h * 3_600_000).toISOString());
    let haltedAt: string | undefined;
    for (const at of ['2023-03-08T12:02:00.000Z', ...hours]) {
      const { snapshots } = await evaluateAt(at);
      const portfolio = snapshots.find((s) => s.scope === 'portfolio') as ScopeSnapshot;
      const expected = reference[at];
      if (expected) {
        expect(portfolio.equityMicros).toBe(expected.equity);
        expect(portfolio.peakEquityMicros).toBe(expected.peak);
        expect(portfolio.drawdownFraction).toBeCloseTo(expected.drawdown, 12);
      }
      if (!haltedAt && (await tradingStateOf(db, 'portfolio'))?.state === 'halted') haltedAt = at;
    }
    expect(haltedAt).toBe('2023-03-10T05:00:00.000Z');

    const all = await episodes();
    const critical = all.filter((e) => e.key === 'portfolio_drawdown:portfolio');
    expect(critical).toHaveLength(1); // opened once, at the first evaluated minute past 25%
    expect(critical[0]).toMatchObject({ state: 'open', openedAt: '2023-03-10T05:00:00.000Z', severity: 'critical' });
    // lagllama-degen itself halted earlier: 49.9% drawdown and 31% of its budget lost that day.
    expect(all.find((e) => e.key === 'agent_drawdown:lagllama-degen')?.openedAt).toBe('2023-03-09T19:00:00.000Z');
    expect(await tradingStateOf(db, 'lagllama-degen')).toMatchObject({ state: 'halted', changedBy: 'drawdown-evaluator' });
    expect(all.find((e) => e.key === 'margin_utilization:lagllama-degen')?.openedAt).toBe('2023-03-08T12:02:00.000Z');

    // Halted: new risk is refused, a reducing order passes and closes the position.
    expect(await signal('dd-new', { agentId: 'qwen-7b', size: { type: 'notional', notionalMicros: 100 * USD } })).toBe('rejected');
    expect(await margins.reservationOf('dd-new')).toMatchObject({ reason: 'trading_halted' });
    expect(await signal('dd-reduce', { agentId: 'lagllama-degen', side: 'SELL', reduceOnly: true, size: { type: 'quantity', quantity: '0.452', priceMicros: 19_876_010_000 }, leverage: 10 })).toBe('accepted');
    await waitUntil('the closed position', async () => (await trades.position('lagllama-degen', 'BTCUSDT')).quantityAtoms === 0);

    // Evaluated again, fired ten times for one minute: no second episode, no second halt record.
    await Promise.all(Array.from({ length: 10 }, () => evaluateAt('2023-03-10T06:00:00.000Z')));
    expect((await episodes()).filter((e) => e.key === 'portfolio_drawdown:portfolio')).toHaveLength(1);

    // Resume: refused without a token, and nothing changes; an operator's resume lets signals through.
    expect((await resume('/portfolio/resume')).status).toBe(401);
    expect((await resume('/portfolio/resume', 'wrong-token-0123456789')).status).toBe(401);
    expect(await tradingStateOf(db, 'portfolio')).toMatchObject({ state: 'halted' });
    const resumed = await resume('/portfolio/resume', OPS_TOKEN);
    expect(resumed.status).toBe(200);
    expect(await tradingStateOf(db, 'portfolio')).toMatchObject({ state: 'active', changedBy: 'operator:alice', reason: 'drawdown reviewed, position closed' });
    expect(await signal('dd-after', { agentId: 'qwen-7b', size: { type: 'notional', notionalMicros: 250 * USD } })).toBe('accepted');
    // lagllama-degen stays halted until its own resume.
    expect(await signal('dd-lag', { agentId: 'lagllama-degen', size: { type: 'notional', notionalMicros: 100 * USD } })).toBe('rejected');
    const changes = await db.collection('tradingStateChanges').where('scope', '==', 'portfolio').get();
    expect(changes.docs.map((d) => `${d.get('state')} by ${d.get('changedBy')}`).sort()).toEqual(['active by operator:alice', 'halted by drawdown-evaluator']);

    // An audited peak reset is the only way down for a peak: the drawdown episode then resolves.
    expect((await resume('/portfolio/reset-peak')).status).toBe(401);
    const reset = await resume('/portfolio/reset-peak', OPS_TOKEN);
    expect(reset.status).toBe(200);
    const { snapshots } = await evaluateAt('2023-03-10T07:00:00.000Z');
    // Measured from the new peak: only qwen-7b's small new position moves it.
    expect(snapshots.find((s) => s.scope === 'portfolio')?.drawdownFraction).toBeLessThan(0.001);
    expect((await episodes()).find((e) => e.key === 'portfolio_drawdown:portfolio')).toMatchObject({ state: 'resolved', resolvedAt: '2023-03-10T07:00:00.000Z' });

    // Every transition went to `alerts`, and none twice.
    await settle(() => alerts.messages.length);
    const published = alerts.messages.map((m) => `${m.data.episodeId}:${m.data.transition}`);
    const stored = await episodes();
    const expectedTransitions = stored.flatMap((e) => [`${e.episodeId}:open`, ...(e.state === 'resolved' ? [`${e.episodeId}:resolve`] : [])]);
    expect(new Set(published)).toEqual(new Set(expectedTransitions));

    // What operators read: the metrics with the seed system's names, and the dashboard.
    expect((await fetch(`${fns.ops?.url}/metrics`)).status).toBe(401);
    const metrics = await (await fetch(`${fns.ops?.url}/metrics`, { headers: { authorization: `Bearer ${OPS_TOKEN}` } })).text();
    expect(metrics).toContain('agent_margin_remaining_usd{agent_id="lagllama-degen"}');
    expect(metrics).toMatch(/agent_margin_utilization_ratio\{agent_id="qwen-7b"\} 0\.\d+/);
    expect(metrics).toContain('risk_limits_breached_total{limit_type="trading_halted"} 2');
    expect(metrics).toContain('agent_trading_halted{agent_id="lagllama-degen"} 1');
    expect(metrics).toMatch(/^portfolio_drawdown_pct \d+(\.\d{6})?$/m); // exactly 0 when nothing moved since the peak reset
    const dashboard = await fetch(`${fns.ops?.url}/dashboard`, { headers: { authorization: `Bearer ${OPS_TOKEN}` } });
    expect(dashboard.headers.get('content-type')).toMatch(/text\/html/);
    const page = await dashboard.text();
    for (const text of ['Lag-Llama', 'HALTED', 'Portfolio equity', 'Latest decisions', 'qwen-7b']) expect(page).toContain(text);

    // Every alert redelivered once more: people still get one message per transition.
    for (const m of [...alerts.messages]) await publisher.publish(TOPICS.alerts, m.data);
    await waitUntil('every notification', () => slack.requests.length >= expectedTransitions.length);
    await settle(() => slack.requests.length, 1_500);
    expect(slack.requests).toHaveLength(expectedTransitions.length);
    expect(slack.requests.filter((r) => r.body.includes('portfolio drawdown')).map((r) => (JSON.parse(r.body) as { text: string }).text.split(' ')[1])).toEqual(
      expect.arrayContaining(['*CRITICAL*', '*RESOLVED*']),
    );
    expect(slack.requests.filter((r) => r.body.includes('portfolio drawdown'))).toHaveLength(2);
  }, 120_000);
});
