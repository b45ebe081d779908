import { committedMicros, freeMarginMicros } from '../domain/margin.js';
import type { PortfolioView } from './portfolio-view.js';

/**
 * Prometheus text exposition of the portfolio, with the metric names operators know from the
 * seed system: agent_margin_remaining_usd, agent_margin_utilization_ratio,
 * risk_limits_breached_total, portfolio_drawdown_pct.
 */

const usd = (micros: number) => (micros / 1_000_000).toFixed(6);
const label = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export function renderMetrics(view: PortfolioView): string {
  const lines: string[] = [];
  const family = (name: string, type: 'gauge' | 'counter', help: string, samples: [string, string | number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  const perAgent = (f: (a: PortfolioView['agents'][number]) => string | number): [string, string | number][] =>
    view.agents.map((a) => [`{agent_id="${label(a.profile.agentId)}"}`, f(a)]);

  family('agent_margin_allocation_usd', 'gauge', "The agent's margin budget.", perAgent((a) => usd(a.profile.marginAllocationMicros)));
  family('agent_margin_reserved_usd', 'gauge', 'Margin reserved for signals and open orders.', perAgent((a) => usd(a.ledger.reservedMicros)));
  family('agent_margin_in_use_usd', 'gauge', 'Margin held by open positions.', perAgent((a) => usd(a.ledger.inUseMicros)));
  family('agent_margin_remaining_usd', 'gauge', 'Margin the agent can still commit.', perAgent((a) => usd(freeMarginMicros(a.ledger, a.profile.marginAllocationMicros))));
  family('agent_margin_utilization_ratio', 'gauge', '(reserved + in use) / allocation.', perAgent((a) => (a.profile.marginAllocationMicros > 0 ? committedMicros(a.ledger) / a.profile.marginAllocationMicros : 0)));
  family('agent_realized_pnl_usd', 'gauge', 'Realized PnL, net of fees.', perAgent((a) => usd(a.ledger.realizedPnlMicros)));
  family('agent_drawdown_ratio', 'gauge', 'Drawdown from the persisted peak, as a fraction.', perAgent((a) => a.snapshot?.drawdownFraction ?? 0));
  family('agent_trading_halted', 'gauge', '1 while the agent is halted.', perAgent((a) => (a.state?.state === 'halted' ? 1 : 0)));

  const breaches = new Map<string, number>();
  for (const a of view.agents) for (const [type, n] of Object.entries(a.ledger.breaches)) breaches.set(type, (breaches.get(type) ?? 0) + (n ?? 0));
  if (view.unknownAgentBreaches > 0) breaches.set('unknown_agent', (breaches.get('unknown_agent') ?? 0) + view.unknownAgentBreaches);
  family('risk_limits_breached_total', 'counter', 'Signals rejected, by limit type.', [...breaches.entries()].sort().map(([type, n]) => [`{limit_type="${label(type)}"}`, n]));

  const p = view.portfolio.snapshot;
  family('portfolio_equity_usd', 'gauge', 'Allocation + realized + unrealized PnL, all agents.', [['', usd(p?.equityMicros ?? 0)]]);
  family('portfolio_peak_equity_usd', 'gauge', 'The persisted peak of portfolio equity.', [['', usd(p?.peakEquityMicros ?? 0)]]);
  family('portfolio_drawdown_pct', 'gauge', 'Portfolio drawdown from its peak, in percent.', [['', ((p?.drawdownFraction ?? 0) * 100).toFixed(4)]]);
  family('portfolio_trading_halted', 'gauge', '1 while the whole portfolio is halted.', [['', view.portfolio.state?.state === 'halted' ? 1 : 0]]);
  const bySeverity = (s: string) => view.openEpisodes.filter((e) => e.severity === s).length;
  family('alert_episodes_open', 'gauge', 'Alert episodes open now.', [['{severity="warning"}', bySeverity('warning')], ['{severity="critical"}', bySeverity('critical')]]);
  return `${lines.join('\n')}\n`;
}
