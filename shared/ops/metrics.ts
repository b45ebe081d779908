import { committedMicros, freeMarginMicros } from '../domain/ledger.js';
import { AlertSeverity } from '../domain/messages.js';
import { USD } from '../domain/money.js';
import type { PortfolioView } from './portfolio-view.js';

/**
 * The portfolio as metrics, with the names operators know from the seed system
 * (agent_margin_remaining_usd, agent_margin_utilization_ratio, risk_limits_breached_total,
 * portfolio_drawdown_pct). One list serves the Prometheus endpoint and Cloud Monitoring.
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

export interface MetricFamily {
  readonly name: string;
  readonly kind: 'gauge' | 'counter';
  readonly help: string;
  readonly samples: readonly { readonly labels: Readonly<Record<string, string>>; readonly value: number }[];
}

/** Prometheus values are floats: USD for people's dashboards, exact amounts stay in the ledgers. */
const usd = (micros: number) => micros / USD;

export function metricFamilies(view: PortfolioView): MetricFamily[] {
  const perAgent = (f: (a: PortfolioView['agents'][number]) => number) => view.agents.map((a) => ({ labels: { agent_id: a.profile.agentId }, value: f(a) }));
  const breaches = new Map<string, number>();
  for (const a of view.agents) for (const [type, n] of Object.entries(a.ledger.breaches)) breaches.set(type, (breaches.get(type) ?? 0) + (n ?? 0));
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

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Prometheus text exposition format 0.0.4. */
export function renderMetrics(view: PortfolioView): string {
  const lines: string[] = [];
  for (const family of metricFamilies(view)) {
    lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.kind}`);
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
      const value = Number.isInteger(sample.value) ? String(sample.value) : sample.value.toFixed(6);
      lines.push(`${family.name}${labels.length ? `{${labels.join(',')}}` : ''} ${value}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
