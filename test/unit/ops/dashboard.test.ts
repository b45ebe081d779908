import { describe, expect, it } from 'vitest';
import { type AgentProfile, DEFAULT_AGENTS } from '../../../shared/domain/agents.js';
import { EMPTY_LEDGER, type MarginLedgerState } from '../../../shared/domain/ledger.js';
import { USD } from '../../../shared/domain/money.js';
import type { AlertEpisode, ScopeSnapshot } from '../../../shared/domain/risk.js';
import { PORTFOLIO_SCOPE } from '../../../shared/domain/vocabulary.js';
import type { TradingState } from '../../../shared/firestore/trading-states.js';
import { dashboardJson, renderDashboard } from '../../../shared/ops/dashboard.js';
import { LATENCY_BUCKET_BOUNDS_MS } from '../../../shared/firestore/path-stats.js';
import { EXPORTED_METRICS, MONITORED_METRIC_LABELS, type PathFigures, metricFamilies, renderMetrics } from '../../../shared/ops/metrics.js';
import { EMPTY_PORTFOLIO_VIEW, type PortfolioView } from '../../../shared/ops/portfolio-view.js';

/** Portfolio views built by hand: what readPortfolioView would return, without Firestore. */

const DEEPSEEK = DEFAULT_AGENTS[0] as AgentProfile;
const QWEN = DEFAULT_AGENTS[1] as AgentProfile;
const HOSTILE_NAME = '<script>alert("pwned")</script>';
const HOSTILE_REASON = `drawdown <25%> & "stop" it's over`;
const HOSTILE_DECISION = '<img src=x onerror=alert(1)>';

const busyLedger: MarginLedgerState = {
  ...EMPTY_LEDGER,
  reservedMicros: 150 * USD,
  inUseMicros: 250_500_000,
  openSymbols: { BTCUSDT: 1 },
  positionSymbols: { ETHUSDT: true },
  realizedPnlMicros: 12_340_000,
  breaches: { agent_margin_exceeded: 2, leverage_exceeded: 1 },
};

const halted = (reason: string): TradingState => ({ state: 'halted', reason, changedBy: 'drawdown-evaluator', changedAt: '2026-01-02T03:04:05.000Z' });

function snapshot(scope: string, overrides: Partial<ScopeSnapshot> = {}): ScopeSnapshot {
  return {
    scope,
    equityMicros: 1_012_340_000,
    peakEquityMicros: 1_100 * USD,
    drawdownFraction: 0.1234,
    utilizationFraction: 0.4005,
    dailyLossFraction: 0,
    allocationMicros: 1_000 * USD,
    ...overrides,
  };
}

function view(overrides: Partial<PortfolioView> = {}): PortfolioView {
  return {
    ...EMPTY_PORTFOLIO_VIEW,
    agents: [
      { profile: { ...DEEPSEEK, displayName: HOSTILE_NAME }, ledger: busyLedger, state: halted(HOSTILE_REASON), snapshot: snapshot(DEEPSEEK.agentId) },
      { profile: QWEN, ledger: EMPTY_LEDGER, state: undefined, snapshot: undefined },
    ],
    ...overrides,
  };
}

const MODE = { paper: true, vertex: false };
/** The agent cards, one string each, in order. */
const cards = (html: string) => html.split('<section class="card">').slice(1);

describe('renderDashboard', () => {
  it('titles and badges the page HALTED while the portfolio is halted', () => {
    const html = renderDashboard(view({ portfolio: { state: halted('portfolio drawdown 26%'), snapshot: undefined, evaluatedAt: undefined } }), MODE);
    expect(html).toContain('<title>Sapphire · HALTED</title>');
    expect(html).toContain('<div class="sub">Paper trading · local baseline models · evaluated —</div></div><span class="badge halted">HALTED</span></div>');
  });

  it('titles the page HALTED when the drawdown is past 25%, even before the halt is recorded', () => {
    const html = renderDashboard(view({ portfolio: { state: undefined, snapshot: snapshot(PORTFOLIO_SCOPE, { drawdownFraction: 0.2501 }), evaluatedAt: '2026-01-02T03:04:05.123Z' } }), MODE);
    expect(html).toContain('<title>Sapphire · HALTED</title>');
    expect(html).toContain('<div class="v down">25.01%</div>');
    expect(html).toContain('evaluated 2026-01-02 03:04:05Z');
  });

  it('titles an active portfolio trading, with an ACTIVE badge, whatever one agent’s state', () => {
    const html = renderDashboard(view({ portfolio: { state: { ...halted('resumed'), state: 'active' }, snapshot: snapshot(PORTFOLIO_SCOPE, { drawdownFraction: 0.1 }), evaluatedAt: undefined } }), {
      paper: false,
      vertex: true,
    });
    expect(html).toContain('<title>Sapphire · trading</title>');
    expect(html).toContain('<div class="sub">LIVE trading · Vertex AI models · evaluated —</div></div><span class="badge active">ACTIVE</span></div>');
    expect(html).toContain('<div class="v up">10.00%</div>');
  });

  it('shows the portfolio KPIs in exact USD', () => {
    const html = renderDashboard(view({ portfolio: { state: undefined, snapshot: snapshot(PORTFOLIO_SCOPE, { drawdownFraction: 0.2 }), evaluatedAt: undefined } }), MODE);
    expect(html).toContain('<div class="l">Portfolio equity</div><div class="v">$1,012.34</div>');
    expect(html).toContain('<div class="l">Peak equity</div><div class="v">$1,100.00</div>');
    expect(html).toContain('<div class="v warn">20.00%</div>');
    // Committed across agents: 150 + 250.50 of 2 × 1,000.
    expect(html).toContain('<div class="l">Margin committed</div><div class="v">$400.50 <small>of $2,000.00</small></div>');
  });

  it('renders one card per agent with its margin, PnL and drawdown in exact USD', () => {
    const [busy, idle] = cards(renderDashboard(view(), MODE));
    expect(busy).toContain('<div class="sub">deepseek-v3 · momentum</div></div><span class="badge halted">HALTED</span>');
    expect(busy).toContain('title="reserved $150.00, in use $250.50"><span class="inuse" style="width:25.1%"></span><span class="reserved" style="width:15.0%"></span>');
    expect(busy).toContain('<div><dt>Free margin</dt><dd>$599.50 <small>of $1,000.00</small></dd></div>');
    expect(busy).toContain('<div><dt>In use / reserved</dt><dd>$250.50 / $150.00</dd></div>');
    expect(busy).toContain('<div><dt>Realized PnL</dt><dd><span class="up">+$12.34</span></dd></div>');
    expect(busy).toContain('<div><dt>Drawdown</dt><dd>12.34%</dd></div>');
    expect(busy).toContain('Holding BTCUSDT, ETHUSDT · halted: ');

    expect(idle).toContain('<h3>Qwen</h3><div class="sub">qwen-7b · mean reversion</div></div><span class="badge active">ACTIVE</span>');
    expect(idle).toContain('<div><dt>Free margin</dt><dd>$1,000.00 <small>of $1,000.00</small></dd></div>');
    expect(idle).toContain('<div><dt>In use / reserved</dt><dd>$0.00 / $0.00</dd></div>');
    expect(idle).toContain('<div><dt>Realized PnL</dt><dd><span class="">$0.00</span></dd></div>');
    expect(idle).toContain('<div><dt>Drawdown</dt><dd>—</dd></div>');
    expect(idle).toContain('<div class="sub">No exposure</div>');
  });

  it('shows a loss with a minus sign and the down colour', () => {
    const [card] = cards(renderDashboard(view({ agents: [{ profile: QWEN, ledger: { ...EMPTY_LEDGER, realizedPnlMicros: -1_234_567_890 }, state: undefined, snapshot: undefined }] }), MODE));
    expect(card).toContain('<dt>Realized PnL</dt><dd><span class="down">−$1,234.57</span></dd>');
  });

  it('escapes a hostile agent display name and halt reason', () => {
    const html = renderDashboard(view(), MODE);
    expect(html).not.toContain('<script');
    expect(html).toContain('<h3>&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;</h3>');
    expect(html).toContain('halted: drawdown &lt;25%&gt; &amp; &quot;stop&quot; it&#39;s over</div>');
  });

  it('escapes hostile text from models, orders, positions and alerts', () => {
    const html = renderDashboard(
      view({
        recentDecisions: [{ agentId: 'deepseek-v3', action: 'BUY', reason: HOSTILE_DECISION, decidedFor: '2026-01-02T03:04:00.000Z', source: 'model' }],
        recentOrders: [{ orderId: '"><b>x</b>', agentId: 'qwen-7b', symbol: 'BTCUSDT', side: 'SELL', status: '<i>filled</i>', updatedAt: '2026-01-02T03:04:05.678Z' }],
        openEpisodes: [
          {
            episodeId: 'e-1',
            key: 'portfolio_drawdown:portfolio',
            limitType: 'portfolio_drawdown',
            scope: PORTFOLIO_SCOPE,
            severity: 'critical',
            state: 'open',
            openedAt: '2026-01-02T03:00:00.000Z',
            message: 'drawdown <b>26%</b> > 25%',
            value: 0.26,
            threshold: 0.25,
          } satisfies AlertEpisode,
        ],
      }),
      MODE,
    );
    expect(html).not.toContain(HOSTILE_DECISION);
    expect(html).toContain('<td>2026-01-02 03:04:00Z</td><td>deepseek-v3</td><td><b class="up">BUY</b></td><td>&lt;img src=x onerror=alert(1)&gt;</td>');
    expect(html).toContain('<td>2026-01-02 03:04:05Z</td><td>qwen-7b</td><td>SELL BTCUSDT <small>&quot;&gt;&lt;b&gt;x&lt;/b&gt;</small></td><td>&lt;i&gt;filled&lt;/i&gt;</td>');
    expect(html).toContain('<td><span class="sev critical">critical</span></td><td>drawdown &lt;b&gt;26%&lt;/b&gt; &gt; 25%</td><td>2026-01-02 03:00:00Z</td>');
    expect(html).toContain('<div class="v down">1 <small>(1 critical)</small></div>');
  });

  it('lists an open position with its side, quantity, entry and margin', () => {
    const html = renderDashboard(
      view({
        positions: [
          {
            agentId: 'deepseek-v3',
            symbol: 'ETHUSDT',
            position: {
              quantityAtoms: -50_000_000,
              costBasis: String(50_000_000n * BigInt(1_600 * USD)),
              marginInUseMicros: 160 * USD,
              realizedPnlMicros: -1_500_000,
              feesMicros: 400_000,
              lastFillKey: 'k',
              fillCount: 1,
            },
          },
        ],
      }),
      MODE,
    );
    expect(html).toContain(
      '<tr><td>deepseek-v3</td><td>ETHUSDT</td><td><span class="down">short</span></td><td>0.5</td><td>$1,600.00</td><td>$160.00</td><td><span class="down">−$1.50</span></td></tr>',
    );
  });

  it('says so, rather than drawing anything, for an empty history and empty lists', () => {
    const html = renderDashboard(view(), MODE);
    expect(html).toContain('<div class="panel"><div class="empty">The equity curve appears after two evaluations.</div></div>');
    expect(html).not.toContain('<svg');
    expect(html).toContain('<div class="empty">No open positions.</div>');
    expect(html).toContain('<div class="empty">No open alerts.</div>');
    expect(html).toContain('<div class="empty">No decisions yet.</div>');
    expect(html).toContain('<div class="empty">No orders yet.</div>');
    expect(html).toContain('<div class="l">Portfolio equity</div><div class="v">—</div>');
    expect(html).toContain('<div class="v up">0</div>'); // no open alerts
  });

  it('still shows no curve for a single evaluation, and draws one from two, scaled to their range', () => {
    const one = renderDashboard(view({ equityHistory: [{ at: '2026-01-02T03:00:00Z', equityMicros: 4_000 * USD, drawdownFraction: 0 }] }), MODE);
    expect(one).toContain('The equity curve appears after two evaluations.');
    const two = renderDashboard(
      view({
        equityHistory: [
          { at: '2026-01-02T03:00:00Z', equityMicros: 4_000 * USD, drawdownFraction: 0 },
          { at: '2026-01-02T03:01:00Z', equityMicros: 3_900 * USD, drawdownFraction: 0.025 },
        ],
      }),
      MODE,
    );
    expect(two).toContain('<polyline points="0.0,10.0 1000.0,110.0" class="line"/>');
    expect(two).toContain('<div class="axis"><span>$3,900.00</span><span>$4,000.00</span></div>');
  });
});

const EMPTY_DISTRIBUTION = { atOrUnder: LATENCY_BUCKET_BOUNDS_MS.map(() => 0), count: 0, sumMs: 0 };
/** A path that has seen nothing yet, and an evaluator that never ran. */
const QUIET_PATH: PathFigures = {
  latencies: { decision: EMPTY_DISTRIBUTION, placement: EMPTY_DISTRIBUTION, venueRequest: EMPTY_DISTRIBUTION, fill: EMPTY_DISTRIBUTION },
  venueRefusals: 0,
  deadLetters: new Map(),
};
const metricsText = async (v: PortfolioView, path: PathFigures = QUIET_PATH) => (await renderMetrics(v, path)).text;

describe('dashboardJson', () => {
  it('gives what the page shows with the derived figures, money in integer micro-USD', () => {
    const json = dashboardJson(
      view({ agents: [{ profile: DEEPSEEK, ledger: busyLedger, state: halted('agent drawdown'), snapshot: snapshot(DEEPSEEK.agentId) }] }),
      MODE,
    );
    expect(json.mode).toEqual(MODE);
    expect(json.agents).toEqual([
      expect.objectContaining({
        agentId: 'deepseek-v3',
        state: 'halted',
        stateReason: 'agent drawdown',
        allocationMicros: 1_000 * USD,
        reservedMicros: busyLedger.reservedMicros,
        inUseMicros: busyLedger.inUseMicros,
        freeMicros: 1_000 * USD - busyLedger.reservedMicros - busyLedger.inUseMicros,
        utilization: (busyLedger.reservedMicros + busyLedger.inUseMicros) / (1_000 * USD),
      }),
    ]);
    for (const agent of json.agents) for (const key of ['allocationMicros', 'reservedMicros', 'inUseMicros', 'freeMicros']) expect(Number.isInteger(agent[key as keyof typeof agent])).toBe(true);
    expect(json.portfolio).toMatchObject({ allocationMicros: 1_000 * USD, committedMicros: busyLedger.reservedMicros + busyLedger.inUseMicros });
    // It is JSON: nothing a serializer would drop or mangle.
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});

describe('renderMetrics', () => {
  const small = view({
    agents: [{ profile: DEEPSEEK, ledger: busyLedger, state: halted('agent drawdown'), snapshot: snapshot(DEEPSEEK.agentId) }],
    portfolio: { state: undefined, snapshot: snapshot(PORTFOLIO_SCOPE, { drawdownFraction: 0.125 }), evaluatedAt: '2026-01-02T03:04:05.000Z' },
    unknownAgentBreaches: 3,
    openEpisodes: [
      {
        episodeId: 'e-1',
        key: 'margin_utilization:deepseek-v3',
        limitType: 'margin_utilization',
        scope: 'deepseek-v3',
        severity: 'warning',
        state: 'open',
        openedAt: '2026-01-02T03:00:00.000Z',
        message: 'utilization high',
        value: 0.85,
        threshold: 0.8,
      },
    ],
  });

  it('renders the exact Prometheus text for a one-agent view', async () => {
    expect((await metricsText(small)).split('# HELP signal_decision_latency_seconds')[0]).toBe(
      [
        "# HELP agent_margin_allocation_usd The agent's margin budget.",
        '# TYPE agent_margin_allocation_usd gauge',
        'agent_margin_allocation_usd{agent_id="deepseek-v3"} 1000',
        '',
        '# HELP agent_margin_reserved_usd Margin reserved for signals and open orders.',
        '# TYPE agent_margin_reserved_usd gauge',
        'agent_margin_reserved_usd{agent_id="deepseek-v3"} 150',
        '',
        '# HELP agent_margin_in_use_usd Margin held by open positions.',
        '# TYPE agent_margin_in_use_usd gauge',
        'agent_margin_in_use_usd{agent_id="deepseek-v3"} 250.5',
        '',
        '# HELP agent_margin_remaining_usd Margin the agent can still commit.',
        '# TYPE agent_margin_remaining_usd gauge',
        'agent_margin_remaining_usd{agent_id="deepseek-v3"} 599.5',
        '',
        '# HELP agent_margin_utilization_ratio (reserved + in use) / allocation.',
        '# TYPE agent_margin_utilization_ratio gauge',
        'agent_margin_utilization_ratio{agent_id="deepseek-v3"} 0.4005',
        '',
        '# HELP agent_realized_pnl_usd Realized PnL, net of fees.',
        '# TYPE agent_realized_pnl_usd gauge',
        'agent_realized_pnl_usd{agent_id="deepseek-v3"} 12.34',
        '',
        '# HELP agent_drawdown_ratio Drawdown from the persisted peak, as a fraction.',
        '# TYPE agent_drawdown_ratio gauge',
        'agent_drawdown_ratio{agent_id="deepseek-v3"} 0.1234',
        '',
        '# HELP agent_trading_halted 1 while the agent is halted.',
        '# TYPE agent_trading_halted gauge',
        'agent_trading_halted{agent_id="deepseek-v3"} 1',
        '',
        '# HELP risk_limits_breached_total Signals rejected, by limit type.',
        '# TYPE risk_limits_breached_total counter',
        'risk_limits_breached_total{limit_type="agent_margin"} 2',
        'risk_limits_breached_total{limit_type="leverage_exceeded"} 1',
        'risk_limits_breached_total{limit_type="unknown_agent"} 3',
        '',
        '# HELP portfolio_equity_usd Allocation + realized + unrealized PnL, all agents.',
        '# TYPE portfolio_equity_usd gauge',
        'portfolio_equity_usd 1012.34',
        '',
        '# HELP portfolio_peak_equity_usd The persisted peak of portfolio equity.',
        '# TYPE portfolio_peak_equity_usd gauge',
        'portfolio_peak_equity_usd 1100',
        '',
        '# HELP portfolio_drawdown_pct Portfolio drawdown from its peak, in percent.',
        '# TYPE portfolio_drawdown_pct gauge',
        'portfolio_drawdown_pct 12.5',
        '',
        '# HELP portfolio_trading_halted 1 while the whole portfolio is halted.',
        '# TYPE portfolio_trading_halted gauge',
        'portfolio_trading_halted 0',
        '',
        '# HELP alert_episodes_open Alert episodes open now.',
        '# TYPE alert_episodes_open gauge',
        'alert_episodes_open{severity="warning"} 1',
        'alert_episodes_open{severity="critical"} 0',
        '',
        '',
      ].join('\n'),
    );
  });

  it('adds the signal path: latency histograms Firestore counted, venue refusals, dead letters, the guardrail’s age', async () => {
    // 3 decisions: 8 ms, 40 ms and 700 ms, 748 ms in all.
    const decisions = { atOrUnder: LATENCY_BUCKET_BOUNDS_MS.map((bound) => [8, 40, 700].filter((ms) => ms <= bound).length), count: 3, sumMs: 748 };
    const text = await metricsText(view({ agents: [] }), {
      ...QUIET_PATH,
      latencies: { ...QUIET_PATH.latencies, decision: decisions },
      venueRefusals: 2,
      deadLetters: new Map([['margin-reservation', 1], ['order-router', 0]]),
      evaluatorAgeSeconds: 42,
      priceFeedAgeSeconds: 7,
    });
    expect(text).toContain(
      [
        '# TYPE signal_decision_latency_seconds histogram',
        'signal_decision_latency_seconds_bucket{le="0.01"} 1',
        'signal_decision_latency_seconds_bucket{le="0.025"} 1',
        'signal_decision_latency_seconds_bucket{le="0.05"} 2',
        'signal_decision_latency_seconds_bucket{le="0.1"} 2',
        'signal_decision_latency_seconds_bucket{le="0.25"} 2',
        'signal_decision_latency_seconds_bucket{le="0.5"} 2',
        'signal_decision_latency_seconds_bucket{le="1"} 3',
        'signal_decision_latency_seconds_bucket{le="2.5"} 3',
        'signal_decision_latency_seconds_bucket{le="5"} 3',
        'signal_decision_latency_seconds_bucket{le="10"} 3',
        'signal_decision_latency_seconds_bucket{le="30"} 3',
        'signal_decision_latency_seconds_bucket{le="60"} 3',
        'signal_decision_latency_seconds_bucket{le="+Inf"} 3',
        'signal_decision_latency_seconds_sum 0.748',
        'signal_decision_latency_seconds_count 3',
      ].join('\n'),
    );
    expect(text).toContain('venue_request_duration_seconds_count{operation="place_order"} 0\n');
    expect(text).toContain('\nvenue_request_errors_total 2\n');
    expect(text).toContain('\ndead_letter_messages{subscription="margin-reservation"} 1\ndead_letter_messages{subscription="order-router"} 0\n');
    expect(text).toContain('\ndrawdown_evaluator_last_run_age_seconds 42\n');
    expect(text).toContain('\nprice_feed_age_seconds 7\n');
  });

  it('leaves the evaluator’s age out when it never ran, so absent() alerts on it', async () => {
    expect(await metricsText(view({ agents: [] }))).not.toContain('drawdown_evaluator_last_run_age_seconds');
  });

  it('exports exactly the families EXPORTED_METRICS declares, each of its declared type', async () => {
    const text = await metricsText(view({ agents: [{ profile: QWEN, ledger: EMPTY_LEDGER, state: undefined, snapshot: undefined }] }), { ...QUIET_PATH, evaluatorAgeSeconds: 1, priceFeedAgeSeconds: 1 });
    const types = Object.fromEntries([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
    expect(types).toEqual(EXPORTED_METRICS);
  });

  it('writes each family with exactly the labels its Cloud Monitoring descriptor declares', () => {
    const families = metricFamilies(small);
    expect(families.map((f) => f.name).sort()).toEqual(Object.keys(MONITORED_METRIC_LABELS).sort());
    for (const family of families) {
      for (const sample of family.samples) expect(Object.keys(sample.labels).sort(), family.name).toEqual([...(MONITORED_METRIC_LABELS[family.name] ?? [])].sort());
      expect(family.samples.length, family.name).toBeGreaterThan(0);
    }
  });

  it('sums breaches of one limit type across agents', () => {
    const two = view({
      agents: [
        { profile: DEEPSEEK, ledger: busyLedger, state: undefined, snapshot: undefined },
        { profile: QWEN, ledger: { ...EMPTY_LEDGER, breaches: { agent_margin_exceeded: 5, trading_halted: 4 } }, state: undefined, snapshot: undefined },
      ],
    });
    const breaches = metricFamilies(two).find((f) => f.name === 'risk_limits_breached_total');
    expect(breaches?.samples).toEqual([
      // Margin rejections under the seed system's label; the reason code stays in logs and the audit trail.
      { labels: { limit_type: 'agent_margin' }, value: 7 },
      { labels: { limit_type: 'leverage_exceeded' }, value: 1 },
      { labels: { limit_type: 'trading_halted' }, value: 4 },
    ]);
  });

  it('writes zeros, not blanks, for a portfolio never evaluated', async () => {
    const text = await metricsText(view({ agents: [] }));
    expect(text).toContain('\nportfolio_equity_usd 0\n');
    expect(text).toContain('\nportfolio_peak_equity_usd 0\n');
    expect(text).toContain('\nportfolio_drawdown_pct 0\n');
    expect(text).not.toContain('agent_id=');
    expect(text).not.toContain('risk_limits_breached_total{');
  });

  it('escapes backslashes, quotes and newlines in label values', async () => {
    const text = await metricsText(view({ agents: [{ profile: { ...QWEN, agentId: 'a"b\\c\nd' }, ledger: EMPTY_LEDGER, state: undefined, snapshot: undefined }] }));
    expect(text).toContain('agent_margin_allocation_usd{agent_id="a\\"b\\\\c\\nd"} 1000\n');
  });
});
