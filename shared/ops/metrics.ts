import { committedMicros, freeMarginMicros } from '../domain/ledger.js';
import { AlertSeverity } from '../domain/messages.js';
import { USD } from '../domain/money.js';
import type { Firestore } from '@google-cloud/firestore';
import { FUNCTIONS, pushTriggers } from '../../triggers/manifest.js';
import {
  LATENCY_BUCKET_BOUNDS_MS,
  type LatencyDistribution,
  RECORDED_LATENCIES,
  type RecordedLatency,
  deadLettersBySource,
  latencyDistribution,
  venueRefusals,
} from '../firestore/path-stats.js';
import type { Health } from './health.js';
import { EMPTY_PORTFOLIO_VIEW, type PortfolioView } from './portfolio-view.js';

/**
 * The portfolio as metrics, with the names operators know from the seed system
 * (agent_margin_remaining_usd, agent_margin_utilization_ratio, risk_limits_breached_total,
 * portfolio_drawdown_pct). One list serves the Prometheus endpoint and Cloud Monitoring; the
 * endpoint adds the signal path's latencies and failures.
 */

/**
 * Every metric family `/metrics` exports, by name: the contract the Prometheus rules and the
 * Grafana dashboard in terraform/monitoring/ are checked against. Histograms add the usual
 * `_bucket`, `_sum` and `_count` series.
 */
export const EXPORTED_METRICS = {
  agent_margin_allocation_usd: 'gauge',
  agent_margin_reserved_usd: 'gauge',
  agent_margin_in_use_usd: 'gauge',
  agent_margin_remaining_usd: 'gauge',
  agent_margin_utilization_ratio: 'gauge',
  agent_realized_pnl_usd: 'gauge',
  agent_drawdown_ratio: 'gauge',
  agent_trading_halted: 'gauge',
  risk_limits_breached_total: 'counter',
  portfolio_equity_usd: 'gauge',
  portfolio_peak_equity_usd: 'gauge',
  portfolio_drawdown_pct: 'gauge',
  portfolio_trading_halted: 'gauge',
  alert_episodes_open: 'gauge',
  signal_decision_latency_seconds: 'histogram',
  order_placement_latency_seconds: 'histogram',
  order_fill_latency_seconds: 'histogram',
  venue_request_duration_seconds: 'histogram',
  venue_request_errors_total: 'counter',
  dead_letter_messages: 'gauge',
  drawdown_evaluator_last_run_age_seconds: 'gauge',
  price_feed_age_seconds: 'gauge',
} as const satisfies Record<string, 'gauge' | 'counter' | 'histogram'>;

/**
 * The label keys of each family metricFamilies() gives, which the drawdown evaluator writes to
 * Cloud Monitoring: Terraform creates a metric descriptor with exactly these labels for each
 * before any alert policy watches it (a policy on a metric without one cannot be created).
 */
export const MONITORED_METRIC_LABELS: Readonly<Record<string, readonly string[]>> = {
  agent_margin_allocation_usd: ['agent_id'],
  agent_margin_reserved_usd: ['agent_id'],
  agent_margin_in_use_usd: ['agent_id'],
  agent_margin_remaining_usd: ['agent_id'],
  agent_margin_utilization_ratio: ['agent_id'],
  agent_realized_pnl_usd: ['agent_id'],
  agent_drawdown_ratio: ['agent_id'],
  agent_trading_halted: ['agent_id'],
  risk_limits_breached_total: ['limit_type'],
  portfolio_equity_usd: [],
  portfolio_peak_equity_usd: [],
  portfolio_drawdown_pct: [],
  portfolio_trading_halted: [],
  alert_episodes_open: ['severity'],
};

/** The custom metric descriptors Terraform creates (via terraform/triggers.json). */
export function monitoredMetricDescriptors(): { name: string; description: string; labels: readonly string[] }[] {
  return metricFamilies(EMPTY_PORTFOLIO_VIEW).map((f) => ({ name: f.name, description: f.help, labels: MONITORED_METRIC_LABELS[f.name] ?? [] }));
}

export interface MetricFamily {
  readonly name: string;
  readonly kind: 'gauge' | 'counter';
  readonly help: string;
  readonly samples: readonly { readonly labels: Readonly<Record<string, string>>; readonly value: number }[];
}

/**
 * The `limit_type` label of a rejection: the seed system's name where it had one (operators'
 * alerts and dashboards use it), else the rejection's reason code. The detailed reason stays in
 * the logs and the audit trail.
 */
const SEED_LIMIT_TYPES: Readonly<Record<string, string>> = { agent_margin_exceeded: 'agent_margin' };
export const limitTypeOf = (reason: string): string => SEED_LIMIT_TYPES[reason] ?? reason;

/** Prometheus values are floats: USD for people's dashboards, exact amounts stay in the ledgers. */
const usd = (micros: number) => micros / USD;

export function metricFamilies(view: PortfolioView): MetricFamily[] {
  const perAgent = (f: (a: PortfolioView['agents'][number]) => number) => view.agents.map((a) => ({ labels: { agent_id: a.profile.agentId }, value: f(a) }));
  const breaches = new Map<string, number>();
  for (const a of view.agents) {
    for (const [reason, n] of Object.entries(a.ledger.breaches)) breaches.set(limitTypeOf(reason), (breaches.get(limitTypeOf(reason)) ?? 0) + (n ?? 0));
  }
  if (view.unknownAgentBreaches > 0) breaches.set('unknown_agent', (breaches.get('unknown_agent') ?? 0) + view.unknownAgentBreaches);
  const p = view.portfolio.snapshot;
  const open = (severity: string) => view.openEpisodes.filter((e) => e.severity === severity).length;
  return [
    { name: 'agent_margin_allocation_usd', kind: 'gauge', help: "The agent's margin budget.", samples: perAgent((a) => usd(a.profile.marginAllocationMicros)) },
    { name: 'agent_margin_reserved_usd', kind: 'gauge', help: 'Margin reserved for signals and open orders.', samples: perAgent((a) => usd(a.ledger.reservedMicros)) },
    { name: 'agent_margin_in_use_usd', kind: 'gauge', help: 'Margin held by open positions.', samples: perAgent((a) => usd(a.ledger.inUseMicros)) },
    { name: 'agent_margin_remaining_usd', kind: 'gauge', help: 'Margin the agent can still commit.', samples: perAgent((a) => usd(freeMarginMicros(a.ledger, a.profile.marginAllocationMicros))) },
    {
      name: 'agent_margin_utilization_ratio',
      kind: 'gauge',
      help: '(reserved + in use) / allocation.',
      samples: perAgent((a) => (a.profile.marginAllocationMicros > 0 ? committedMicros(a.ledger) / a.profile.marginAllocationMicros : 0)),
    },
    { name: 'agent_realized_pnl_usd', kind: 'gauge', help: 'Realized PnL, net of fees.', samples: perAgent((a) => usd(a.ledger.realizedPnlMicros)) },
    { name: 'agent_drawdown_ratio', kind: 'gauge', help: 'Drawdown from the persisted peak, as a fraction.', samples: perAgent((a) => a.snapshot?.drawdownFraction ?? 0) },
    { name: 'agent_trading_halted', kind: 'gauge', help: '1 while the agent is halted.', samples: perAgent((a) => (a.state?.state === 'halted' ? 1 : 0)) },
    {
      name: 'risk_limits_breached_total',
      kind: 'counter',
      help: 'Signals rejected, by limit type.',
      samples: [...breaches.entries()].sort().map(([type, n]) => ({ labels: { limit_type: type }, value: n })),
    },
    { name: 'portfolio_equity_usd', kind: 'gauge', help: 'Allocation + realized + unrealized PnL, all agents.', samples: [{ labels: {}, value: usd(p?.equityMicros ?? 0) }] },
    { name: 'portfolio_peak_equity_usd', kind: 'gauge', help: 'The persisted peak of portfolio equity.', samples: [{ labels: {}, value: usd(p?.peakEquityMicros ?? 0) }] },
    { name: 'portfolio_drawdown_pct', kind: 'gauge', help: 'Portfolio drawdown from its peak, in percent.', samples: [{ labels: {}, value: (p?.drawdownFraction ?? 0) * 100 }] },
    { name: 'portfolio_trading_halted', kind: 'gauge', help: '1 while the whole portfolio is halted.', samples: [{ labels: {}, value: view.portfolio.state?.state === 'halted' ? 1 : 0 }] },
    {
      name: 'alert_episodes_open',
      kind: 'gauge',
      help: 'Alert episodes open now.',
      samples: AlertSeverity.options.map((severity) => ({ labels: { severity }, value: open(severity) })),
    },
  ];
}

/** The signal path's figures /metrics adds to the portfolio's (see firestore/path-stats.ts and health.ts). */
export interface PathFigures {
  readonly latencies: Readonly<Record<RecordedLatency, LatencyDistribution>>;
  readonly venueRefusals: number;
  readonly deadLetters: ReadonlyMap<string, number>;
  /** Undefined when the evaluator never ran: the series is then absent, which an alert watches. */
  readonly evaluatorAgeSeconds?: number;
  readonly priceFeedAgeSeconds?: number;
}

/** Reads the path's figures; `health` gives the evaluator's and the price feed's ages. */
export async function readPathFigures(db: Firestore, health: Health): Promise<PathFigures> {
  const kinds = Object.keys(RECORDED_LATENCIES) as RecordedLatency[];
  const subscriptions = FUNCTIONS.flatMap((spec) => pushTriggers(spec).map((t) => t.subscription));
  const [distributions, refusals, deadLetters] = await Promise.all([
    Promise.all(kinds.map((kind) => latencyDistribution(db, kind))),
    venueRefusals(db),
    deadLettersBySource(db, subscriptions),
  ]);
  const { evaluator, prices } = health.checks;
  return {
    latencies: Object.fromEntries(kinds.map((kind, i) => [kind, distributions[i]])) as Record<RecordedLatency, LatencyDistribution>,
    venueRefusals: refusals,
    deadLetters,
    ...(evaluator.ageSeconds !== undefined ? { evaluatorAgeSeconds: evaluator.ageSeconds } : {}),
    ...(prices.newestAgeSeconds !== undefined ? { priceFeedAgeSeconds: prices.newestAgeSeconds } : {}),
  };
}

const LATENCY_HISTOGRAMS: readonly { readonly name: keyof typeof EXPORTED_METRICS; readonly latency: RecordedLatency; readonly help: string; readonly labels?: Record<string, string> }[] = [
  { name: 'signal_decision_latency_seconds', latency: 'decision', help: 'From intake accepting a signal to its reservation or rejection.' },
  { name: 'order_placement_latency_seconds', latency: 'placement', help: "From a reservation's decision to the venue acknowledging its order." },
  { name: 'order_fill_latency_seconds', latency: 'fill', help: 'From an order being created to each of its fills being booked.' },
  { name: 'venue_request_duration_seconds', latency: 'venueRequest', help: 'Order placement requests to the venue.', labels: { operation: 'place_order' } },
];

/**
 * A histogram whose buckets Firestore already counted. prom-client's own Histogram only counts
 * what it observes in this process, and every instance of a function sees a fraction of the
 * traffic; the registry asks a metric for its values (get()), which this answers as a histogram's.
 */
function countedHistogram(name: string, help: string, labels: Record<string, string>, counted: LatencyDistribution) {
  const values = [
    ...LATENCY_BUCKET_BOUNDS_MS.map((bound, i) => ({ metricName: `${name}_bucket`, labels: { ...labels, le: bound / 1000 }, value: counted.atOrUnder[i] ?? 0 })),
    { metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: counted.count },
    { metricName: `${name}_sum`, labels, value: counted.sumMs / 1000 },
    { metricName: `${name}_count`, labels, value: counted.count },
  ];
  const metric = { name, help, type: 'histogram', aggregator: 'sum' } as const;
  return { ...metric, get: async () => ({ ...metric, values }) };
}

/** The Prometheus text exposition (0.0.4) of the portfolio and the signal path, written by prom-client. */
export async function renderMetrics(view: PortfolioView, path: PathFigures): Promise<{ readonly contentType: string; readonly text: string }> {
  // Loaded here: the drawdown evaluator shares this module for metricFamilies and never renders.
  const { Counter, Gauge, Registry } = await import('prom-client');
  const registry = new Registry();
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [registry] });
  for (const family of metricFamilies(view)) {
    const labelNames = [...new Set(family.samples.flatMap((s) => Object.keys(s.labels)))];
    if (family.kind === 'counter') {
      const counter = new Counter({ name: family.name, help: family.help, labelNames, registers: [registry] });
      for (const sample of family.samples) counter.inc(sample.labels, sample.value);
    } else {
      const metric = gauge(family.name, family.help, labelNames);
      for (const sample of family.samples) metric.set(sample.labels, sample.value);
    }
  }
  for (const h of LATENCY_HISTOGRAMS) {
    registry.registerMetric(countedHistogram(h.name, h.help, h.labels ?? {}, path.latencies[h.latency]) as unknown as Parameters<typeof registry.registerMetric>[0]);
  }
  new Counter({ name: 'venue_request_errors_total', help: 'Orders the venue refused.', registers: [registry] }).inc(path.venueRefusals);
  const deadLetters = gauge('dead_letter_messages', 'Messages kept as dead letters, by the subscription they arrived on.', ['subscription']);
  for (const [subscription, n] of path.deadLetters) deadLetters.set({ subscription }, n);
  if (path.evaluatorAgeSeconds !== undefined) gauge('drawdown_evaluator_last_run_age_seconds', 'Seconds since the drawdown evaluator last ran.').set(path.evaluatorAgeSeconds);
  if (path.priceFeedAgeSeconds !== undefined) gauge('price_feed_age_seconds', 'Age of the newest mark price the evaluator read.').set(path.priceFeedAgeSeconds);
  return { contentType: registry.contentType, text: await registry.metrics() };
}
