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
import { loadConfig } from '../../shared/config.js';
import { FlattenBook } from '../../shared/firestore/flattens.js';
import { flattenProgress } from '../../shared/trading/flatten.js';
import { tradingDepsFromConfig } from '../../shared/trading/runtime.js';
import type { MarketStandIn } from '../../scripts/lib/market-standin.js';
import type { LocalPushDelivery } from '../../scripts/lib/provision.js';
import { bearer, postJson } from '../support/http.js';
import { startReplayAt } from '../support/market.js';
import { makeSignal } from '../support/signals.js';
import { type RecordingServer, startRecordingServer } from '../support/recording-server.js';
import { type ServedFunction, TopicTap, closeInOrder, deliverPushTo, isolatedProject, serveFunction, settle, waitUntil } from '../support/stack.js';
import { USD } from '../../shared/domain/money.js';

/**
 * March 2023 replayed: a 10× long of 0.452 BTC opened by lagllama-degen on 2023-03-08 12:01,
 * evaluated hourly while BTC falls from 22,100 to 19,600. Its profile keeps the position on its
 * own halt (the default would flatten it there, and the portfolio would never fall 25%) and
 * flattens it on the portfolio's: the agent is flat by the end of the window.
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
let slack: RecordingServer;
const fns: Partial<Record<'reservation' | 'router' | 'evaluator' | 'ops' | 'alerts', ServedFunction>> = {};

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

/** An operator's audited action on ops-api (`/portfolio/resume`, `/portfolio/reset-peak`), with its reason. */
function postOperatorAction(path: string, token?: string): Promise<Response> {
  return postJson(`${fns.ops?.url}${path}`, { reason: 'drawdown reviewed, position closed' }, token ? bearer(token) : {});
}

async function episodes(): Promise<AlertEpisode[]> {
  return (await db.collection('alertEpisodes').get()).docs.map((d) => AlertEpisode.parse(d.data()));
}

let delivery: LocalPushDelivery | undefined;
let tradingDeps: ReturnType<typeof tradingDepsFromConfig>;

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
  await seedAgentProfiles(db, DEFAULT_AGENTS.map((p) => (p.agentId === 'lagllama-degen' ? { ...p, flatten: { onAgentHalt: false, onPortfolioHalt: true } } : p)));
  fns.reservation = await serveFunction(() => import('../../functions/margin-reservation/index.js'), 'marginReservation');
  fns.router = await serveFunction(() => import('../../functions/order-router/index.js'), 'orderRouter');
  fns.evaluator = await serveFunction(() => import('../../functions/drawdown-evaluator/index.js'), 'drawdownEvaluator');
  fns.ops = await serveFunction(() => import('../../functions/ops-api/index.js'), 'opsApi');
  fns.alerts = await serveFunction(() => import('../../functions/alert-publisher/index.js'), 'alertPublisher');
  delivery = await deliverPushTo(pubsub, { 'margin-reservation': fns.reservation, 'order-router': fns.router, 'alert-publisher': fns.alerts });
  alerts = await TopicTap.open(pubsub, TOPICS.alerts);
  tradingDeps = tradingDepsFromConfig(loadConfig());
});

afterAll(async () => {
  await closeInOrder(delivery, alerts, ...Object.values(fns), venue, slack);
});

/**
 * Hand-computed: equity = 4,000 − 4.992024 (fee) + 0.452 × (close − 22,088.60), rounded down to
 * the micro; the peak is the highest equity evaluated so far.
 */
const REFERENCE = [
  { at: '2023-03-08T12:02:00.000Z', close: '22,072.90', equity: 3_987_911_576, peak: 3_987_911_576, drawdown: 0 },
  { at: '2023-03-08T17:00:00.000Z', close: '22,141.63', equity: 4_018_977_536, peak: 4_018_977_536, drawdown: 0 }, // the peak
  { at: '2023-03-09T19:00:00.000Z', close: '21,016.54', equity: 3_510_436_856, peak: 4_018_977_536, drawdown: 0.12653484012904917 },
  { at: '2023-03-10T01:00:00.000Z', close: '20,121.80', equity: 3_106_014_376, peak: 4_018_977_536, drawdown: 0.22716304130145804 },
  { at: '2023-03-10T05:00:00.000Z', close: '19,876.01', equity: 2_994_917_296, peak: 4_018_977_536, drawdown: 0.25480616172321896 },
];

// The cases run in order, each from where the one before left the market, the ledgers and the halts.
describe('drawdown, kill switch and resume on replayed prices', () => {
  const portfolioAt = new Map<string, ScopeSnapshot>();
  let haltedAt: string | undefined;
  let expectedTransitions: string[] = [];

  it('accepts a 10× open of 0.452 BTC that commits all of lagllama-degen’s budget', async () => {
    // 10,000 USD at 10×: 1,000 USD margin, all of lagllama-degen's budget. 0.452 BTC filled at 22,088.60.
    expect(await signal('dd-open', { agentId: 'lagllama-degen', size: { type: 'notional', notionalMicros: 10_000 * USD }, leverage: 10 })).toBe('accepted');
    await waitUntil('the position', async () => (await trades.position('lagllama-degen', 'BTCUSDT')).quantityAtoms === 45_200_000);
  });

  it('answers every evaluation with 200, at 12:02 and then hourly until 05:00 on 2023-03-10', async () => {
    const hours = Array.from({ length: 41 }, (_, h) => new Date(Date.parse('2023-03-08T13:00:00Z') + h * 3_600_000).toISOString());
    for (const at of ['2023-03-08T12:02:00.000Z', ...hours]) {
      const { snapshots } = await evaluateAt(at);
      portfolioAt.set(at, snapshots.find((s) => s.scope === 'portfolio') as ScopeSnapshot);
      if (!haltedAt && (await tradingStateOf(db, 'portfolio'))?.state === 'halted') haltedAt = at;
    }
  });

  it.each(REFERENCE.map((r) => [r.at, r.close, r] as const))('values the portfolio at %s (BTC %s) to the micro, its drawdown from the persisted peak', (at, _close, { equity, peak, drawdown }) => {
    const portfolio = portfolioAt.get(at) as ScopeSnapshot;
    expect(portfolio.equityMicros).toBe(equity);
    expect(portfolio.peakEquityMicros).toBe(peak);
    expect(portfolio.drawdownFraction).toBeCloseTo(drawdown, 12);
  });

  it('halts all trading at the first evaluated hour past 25% portfolio drawdown', () => {
    expect(haltedAt).toBe('2023-03-10T05:00:00.000Z');
  });

  it('opens one critical portfolio drawdown episode, at the halt', async () => {
    const critical = (await episodes()).filter((e) => e.key === 'portfolio_drawdown:portfolio');
    expect(critical).toHaveLength(1); // opened once, at the first evaluated minute past 25%
    expect(critical[0]).toMatchObject({ state: 'open', openedAt: '2023-03-10T05:00:00.000Z', severity: 'critical' });
  });

  it("flattens lagllama-degen on the portfolio halt, as its profile asks: flat by the end of the window", async () => {
    const halt = (await episodes()).find((e) => e.key === 'portfolio_drawdown:portfolio') as AlertEpisode;
    const flattenId = `halt-${halt.episodeId}`;
    await waitUntil('the halt flattened', async () => (await flattenProgress(tradingDeps, new FlattenBook(db), flattenId))?.done === true);
    const progress = await flattenProgress(tradingDeps, new FlattenBook(db), flattenId);
    expect(progress).toMatchObject({ requestedBy: 'drawdown-evaluator', positions: [{ agentId: 'lagllama-degen', plannedAtoms: 45_200_000, remainingAtoms: 0 }] });
    expect(await trades.position('lagllama-degen', 'BTCUSDT')).toMatchObject({ quantityAtoms: 0, marginInUseMicros: 0 });
  });

  it('halted lagllama-degen earlier, when its own drawdown passed the agent limit', async () => {
    // 49.9% drawdown and 31% of its budget lost that day.
    expect((await episodes()).find((e) => e.key === 'agent_drawdown:lagllama-degen')?.openedAt).toBe('2023-03-09T19:00:00.000Z');
    expect(await tradingStateOf(db, 'lagllama-degen')).toMatchObject({ state: 'halted', changedBy: 'drawdown-evaluator' });
  });

  it('warned of lagllama-degen’s margin utilization from the first evaluation after its open', async () => {
    expect((await episodes()).find((e) => e.key === 'margin_utilization:lagllama-degen')?.openedAt).toBe('2023-03-08T12:02:00.000Z');
  });

  it('refuses new risk while halted: another agent’s signal is rejected as trading_halted', async () => {
    expect(await signal('dd-new', { agentId: 'qwen-7b', size: { type: 'notional', notionalMicros: 100 * USD } })).toBe('rejected');
    expect(await margins.reservationOf('dd-new')).toMatchObject({ reason: 'trading_halted' });
  });

  it('lets a reduce-only order through while halted; the router sends nothing, the flatten having closed it all', async () => {
    await signal('dd-reduce', { agentId: 'lagllama-degen', side: 'SELL', reduceOnly: true, size: { type: 'quantity', quantity: '0.452', priceMicros: 19_876_010_000 }, leverage: 10 });
    await waitUntil('the close decided and refused', async () => (await margins.reservationOf('dd-reduce'))?.status === 'released');
    // Reserved through the halt, then refused before the venue: nothing left to close there.
    expect(await margins.reservationOf('dd-reduce')).toMatchObject({ marginMicros: 0, releaseReason: 'nothing_to_close' });
    expect(await trades.position('lagllama-degen', 'BTCUSDT')).toMatchObject({ quantityAtoms: 0 });
  });

  it('opens no second portfolio episode when one minute is evaluated ten times at once', async () => {
    await Promise.all(Array.from({ length: 10 }, () => evaluateAt('2023-03-10T06:00:00.000Z')));
    expect((await episodes()).filter((e) => e.key === 'portfolio_drawdown:portfolio')).toHaveLength(1);
  });

  it('resume needs an authenticated operator: without a token or with a wrong one it is refused (401) and the portfolio stays halted', async () => {
    expect((await postOperatorAction('/portfolio/resume')).status).toBe(401);
    expect((await postOperatorAction('/portfolio/resume', 'wrong-token-0123456789')).status).toBe(401);
    expect(await tradingStateOf(db, 'portfolio')).toMatchObject({ state: 'halted' });
  });

  it('an operator’s resume reactivates the portfolio, recording who and why, and signals pass again', async () => {
    const resumed = await postOperatorAction('/portfolio/resume', OPS_TOKEN);
    expect(resumed.status).toBe(200);
    expect(await tradingStateOf(db, 'portfolio')).toMatchObject({ state: 'active', changedBy: 'operator:alice', reason: 'drawdown reviewed, position closed' });
    expect(await signal('dd-after', { agentId: 'qwen-7b', size: { type: 'notional', notionalMicros: 250 * USD } })).toBe('accepted');
  });

  it('keeps lagllama-degen halted after the portfolio resumes, until its own resume', async () => {
    expect(await signal('dd-lag', { agentId: 'lagllama-degen', size: { type: 'notional', notionalMicros: 100 * USD } })).toBe('rejected');
    expect(await margins.reservationOf('dd-lag')).toMatchObject({ reason: 'trading_halted' });
  });

  it('records each portfolio state change once: halted by the evaluator, active by the operator', async () => {
    const changes = await db.collection('tradingStateChanges').where('scope', '==', 'portfolio').get();
    expect(changes.docs.map((d) => `${d.get('state')} by ${d.get('changedBy')}`).sort()).toEqual(['active by operator:alice', 'halted by drawdown-evaluator']);
  });

  it('peak reset needs an authenticated operator: without a token it is refused (401)', async () => {
    expect((await postOperatorAction('/portfolio/reset-peak')).status).toBe(401);
  });

  it('after an operator’s peak reset, drawdown is measured from the new peak and the portfolio episode resolves', async () => {
    // An audited peak reset is the only way down for a peak.
    const reset = await postOperatorAction('/portfolio/reset-peak', OPS_TOKEN);
    expect(reset.status).toBe(200);
    const { snapshots } = await evaluateAt('2023-03-10T07:00:00.000Z');
    // Measured from the new peak: only qwen-7b's small new position moves it.
    expect(snapshots.find((s) => s.scope === 'portfolio')?.drawdownFraction).toBeLessThan(0.001);
    expect((await episodes()).find((e) => e.key === 'portfolio_drawdown:portfolio')).toMatchObject({ state: 'resolved', resolvedAt: '2023-03-10T07:00:00.000Z' });
  });

  it('publishes every episode’s opening, and its resolution if any, to alerts', async () => {
    await settle(() => alerts.messages.length);
    const published = alerts.messages.map((m) => `${m.data.episodeId}:${m.data.transition}`);
    const stored = await episodes();
    expectedTransitions = stored.flatMap((e) => [`${e.episodeId}:open`, ...(e.state === 'resolved' ? [`${e.episodeId}:resolve`] : [])]);
    expect(new Set(published)).toEqual(new Set(expectedTransitions));
  });

  it('serves metrics only to an operator: without a token it answers 401', async () => {
    expect((await fetch(`${fns.ops?.url}/metrics`)).status).toBe(401);
  });

  it('serves the metrics under the seed system’s names, with the halt and the breaches counted', async () => {
    const metrics = await (await fetch(`${fns.ops?.url}/metrics`, { headers: bearer(OPS_TOKEN) })).text();
    expect(metrics).toContain('agent_margin_remaining_usd{agent_id="lagllama-degen"}');
    expect(metrics).toMatch(/agent_margin_utilization_ratio\{agent_id="qwen-7b"\} 0\.\d+/);
    expect(metrics).toContain('risk_limits_breached_total{limit_type="trading_halted"} 2');
    expect(metrics).toContain('agent_trading_halted{agent_id="lagllama-degen"} 1');
    expect(metrics).toMatch(/^portfolio_drawdown_pct \d+(\.\d+)?$/m); // exactly 0 when nothing moved since the peak reset
  });

  it('serves the dashboard as HTML with the halted agent, the portfolio equity and the latest decisions', async () => {
    const dashboard = await fetch(`${fns.ops?.url}/dashboard`, { headers: bearer(OPS_TOKEN) });
    expect(dashboard.headers.get('content-type')).toMatch(/text\/html/);
    const page = await dashboard.text();
    for (const text of ['Lag-Llama', 'HALTED', 'Portfolio equity', 'Latest decisions', 'qwen-7b']) expect(page).toContain(text);
  });

  it('sends people one Slack message per transition even when every alert is delivered twice', async () => {
    for (const m of [...alerts.messages]) await publisher.publish(TOPICS.alerts, m.data);
    await waitUntil('every notification', () => slack.requests.length >= expectedTransitions.length);
    await settle(() => slack.requests.length, 1_500);
    expect(slack.requests).toHaveLength(expectedTransitions.length);
  });

  it('sends the portfolio drawdown to Slack twice: once critical, once resolved', () => {
    expect(slack.requests.filter((r) => r.body.includes('portfolio drawdown')).map((r) => (JSON.parse(r.body) as { text: string }).text.split(' ')[1])).toEqual(
      expect.arrayContaining(['*CRITICAL*', '*RESOLVED*']),
    );
    expect(slack.requests.filter((r) => r.body.includes('portfolio drawdown'))).toHaveLength(2);
  });
});
