import { committedMicros, freeMarginMicros } from '../domain/ledger.js';
import { USD } from '../domain/money.js';
import { averageEntryMicros } from '../domain/positions.js';
import { atomsToQuantity } from '../domain/quantity.js';
import type { PortfolioView } from './portfolio-view.js';

/** The operator's page: one glance says whether money is safe, then the detail below. */

const esc = (value: unknown) =>
  String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
const usd = (micros: number) => `${micros < 0 ? '−' : ''}$${(Math.abs(micros) / USD).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const pct = (fraction: number) => `${(fraction * 100).toFixed(2)}%`;
const signed = (micros: number) => `<span class="${micros > 0 ? 'up' : micros < 0 ? 'down' : ''}">${micros > 0 ? '+' : ''}${usd(micros)}</span>`;
const time = (iso: string | undefined) => (iso ? esc(iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')) : '—');

function badge(state: string | undefined): string {
  return state === 'halted' ? '<span class="badge halted">HALTED</span>' : '<span class="badge active">ACTIVE</span>';
}

function sparkline(points: readonly { equityMicros: number }[]): string {
  if (points.length < 2) return '<div class="empty">The equity curve appears after two evaluations.</div>';
  const values = points.map((p) => p.equityMicros);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const xy = values.map((v, i) => `${((i / (values.length - 1)) * 1000).toFixed(1)},${(110 - ((v - min) / span) * 100).toFixed(1)}`);
  return `<svg viewBox="0 0 1000 120" preserveAspectRatio="none" class="spark" role="img" aria-label="portfolio equity">
  <polygon points="0,120 ${xy.join(' ')} 1000,120" class="area"/><polyline points="${xy.join(' ')}" class="line"/></svg>
  <div class="axis"><span>${usd(min)}</span><span>${usd(max)}</span></div>`;
}

function table(headers: string[], rows: string[][], empty: string): string {
  if (rows.length === 0) return `<div class="empty">${esc(empty)}</div>`;
  return `<table><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

export function renderDashboard(view: PortfolioView, mode: { paper: boolean; vertex: boolean }): string {
  const p = view.portfolio.snapshot;
  const allocation = view.agents.reduce((s, a) => s + a.profile.marginAllocationMicros, 0);
  const committed = view.agents.reduce((s, a) => s + committedMicros(a.ledger), 0);
  const drawdown = p?.drawdownFraction ?? 0;
  const critical = view.openEpisodes.filter((e) => e.severity === 'critical').length;

  const cards = view.agents
    .map(({ profile, ledger, state, snapshot }) => {
      const reservedPct = profile.marginAllocationMicros > 0 ? (ledger.reservedMicros / profile.marginAllocationMicros) * 100 : 0;
      const inUsePct = profile.marginAllocationMicros > 0 ? (ledger.inUseMicros / profile.marginAllocationMicros) * 100 : 0;
      const symbols = [...new Set([...Object.keys(ledger.openSymbols), ...Object.keys(ledger.positionSymbols)])];
      return `<section class="card">
  <header><div><h3>${esc(profile.displayName)}</h3><div class="sub">${esc(profile.agentId)} · ${esc(profile.strategy.replace('_', ' '))}</div></div>${badge(state?.state)}</header>
  <div class="bar" title="reserved ${usd(ledger.reservedMicros)}, in use ${usd(ledger.inUseMicros)}"><span class="inuse" style="width:${inUsePct.toFixed(1)}%"></span><span class="reserved" style="width:${reservedPct.toFixed(1)}%"></span></div>
  <dl>
    <div><dt>Free margin</dt><dd>${usd(freeMarginMicros(ledger, profile.marginAllocationMicros))} <small>of ${usd(profile.marginAllocationMicros)}</small></dd></div>
    <div><dt>In use / reserved</dt><dd>${usd(ledger.inUseMicros)} / ${usd(ledger.reservedMicros)}</dd></div>
    <div><dt>Realized PnL</dt><dd>${signed(ledger.realizedPnlMicros)}</dd></div>
    <div><dt>Drawdown</dt><dd>${snapshot ? pct(snapshot.drawdownFraction) : '—'}</dd></div>
  </dl>
  <div class="sub">${symbols.length ? `Holding ${symbols.map(esc).join(', ')}` : 'No exposure'}${state?.state === 'halted' ? ` · halted: ${esc(state.reason)}` : ''}</div>
</section>`;
    })
    .join('\n');

  const positions = table(
    ['Agent', 'Symbol', 'Side', 'Quantity', 'Entry', 'Margin', 'Realized'],
    view.positions.map(({ agentId, symbol, position }) => [
      esc(agentId),
      esc(symbol),
      position.quantityAtoms > 0 ? '<span class="up">long</span>' : '<span class="down">short</span>',
      esc(atomsToQuantity(Math.abs(position.quantityAtoms))),
      usd(averageEntryMicros(position)),
      usd(position.marginInUseMicros),
      signed(position.realizedPnlMicros),
    ]),
    'No open positions.',
  );
  const alerts = table(
    ['Severity', 'Alert', 'Since'],
    view.openEpisodes.map((e) => [`<span class="sev ${esc(e.severity)}">${esc(e.severity)}</span>`, esc(e.message), time(e.openedAt)]),
    'No open alerts.',
  );
  const decisions = table(
    ['Minute', 'Agent', 'Decision', 'Why'],
    view.recentDecisions.map((d) => [time(d.decidedFor), esc(d.agentId), `<b class="${d.action === 'BUY' ? 'up' : d.action === 'SELL' ? 'down' : ''}">${esc(d.action)}</b>`, esc(d.reason)]),
    'No decisions yet.',
  );
  const orders = table(
    ['Updated', 'Agent', 'Order', 'Status'],
    view.recentOrders.map((o) => [time(o.updatedAt), esc(o.agentId), `${esc(o.side)} ${esc(o.symbol)} <small>${esc(o.orderId)}</small>`, esc(o.status)]),
    'No orders yet.',
  );

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="15"><title>Sapphire · ${drawdown > 0.25 || view.portfolio.state?.state === 'halted' ? 'HALTED' : 'trading'}</title>
<style>
:root{--bg:#0b1020;--panel:#131a2e;--line:#233056;--text:#e6ebff;--mute:#8d98bf;--up:#3ddc97;--down:#ff6b6b;--warn:#ffc857;--acc:#6ea8ff}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--text);font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif}
main{max-width:1200px;margin:0 auto;padding:24px}
.top{display:flex;justify-content:space-between;align-items:center;margin-bottom:20px}
h1{margin:0;font-size:22px;letter-spacing:.5px}h1 span{color:var(--acc)}h2{font-size:15px;color:var(--mute);font-weight:600;margin:28px 0 10px;text-transform:uppercase;letter-spacing:.8px}h3{margin:0;font-size:16px}
.sub,small{color:var(--mute);font-size:12px}
.kpis{display:grid;grid-template-columns:repeat(5,1fr);gap:12px}.kpi{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:14px}
.kpi .v{font-size:22px;font-weight:650;margin-top:4px}.kpi .l{color:var(--mute);font-size:12px}
.panel{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:14px}
.spark{width:100%;height:120px;display:block}.spark .line{fill:none;stroke:var(--acc);stroke-width:2;vector-effect:non-scaling-stroke}.spark .area{fill:rgba(110,168,255,.12)}
.axis{display:flex;justify-content:space-between;color:var(--mute);font-size:11px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:12px}
.card{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:14px}.card header{display:flex;justify-content:space-between;align-items:flex-start;margin-bottom:10px}
.bar{height:8px;background:#1b2442;border-radius:4px;overflow:hidden;display:flex;margin:6px 0 12px}.bar .inuse{background:var(--acc)}.bar .reserved{background:var(--warn)}
dl{display:grid;grid-template-columns:1fr 1fr;gap:8px 12px;margin:0 0 10px}dt{color:var(--mute);font-size:11px}dd{margin:0;font-weight:600}
.badge{font-size:11px;font-weight:700;padding:3px 8px;border-radius:999px;letter-spacing:.5px}.badge.active{background:rgba(61,220,151,.15);color:var(--up)}.badge.halted{background:rgba(255,107,107,.18);color:var(--down)}
.up{color:var(--up)}.down{color:var(--down)}.warn{color:var(--warn)}
table{width:100%;border-collapse:collapse;font-size:13px}th{text-align:left;color:var(--mute);font-weight:600;border-bottom:1px solid var(--line);padding:6px 8px}td{border-bottom:1px solid #1a2240;padding:6px 8px;vertical-align:top}
.sev{font-weight:700;text-transform:uppercase;font-size:11px}.sev.critical{color:var(--down)}.sev.warning{color:var(--warn)}
.empty{color:var(--mute);padding:10px 2px}.grid2{display:grid;grid-template-columns:1fr 1fr;gap:12px}
@media(max-width:800px){.kpis{grid-template-columns:repeat(2,1fr)}.grid2{grid-template-columns:1fr}}
</style></head><body><main>
<div class="top"><div><h1><span>◆</span> Sapphire</h1><div class="sub">${mode.paper ? 'Paper trading' : 'LIVE trading'} · ${mode.vertex ? 'Vertex AI models' : 'local baseline models'} · evaluated ${time(view.portfolio.evaluatedAt)}</div></div>${badge(view.portfolio.state?.state)}</div>
<div class="kpis">
  <div class="kpi"><div class="l">Portfolio equity</div><div class="v">${p ? usd(p.equityMicros) : '—'}</div></div>
  <div class="kpi"><div class="l">Peak equity</div><div class="v">${p ? usd(p.peakEquityMicros) : '—'}</div></div>
  <div class="kpi"><div class="l">Drawdown <small>(halt at 25%)</small></div><div class="v ${drawdown > 0.25 ? 'down' : drawdown > 0.15 ? 'warn' : 'up'}">${pct(drawdown)}</div></div>
  <div class="kpi"><div class="l">Margin committed</div><div class="v">${usd(committed)} <small>of ${usd(allocation)}</small></div></div>
  <div class="kpi"><div class="l">Open alerts</div><div class="v ${critical > 0 ? 'down' : view.openEpisodes.length > 0 ? 'warn' : 'up'}">${view.openEpisodes.length}${critical > 0 ? ` <small>(${critical} critical)</small>` : ''}</div></div>
</div>
<h2>Portfolio equity</h2><div class="panel">${sparkline(view.equityHistory)}</div>
<h2>Agents</h2><div class="cards">${cards}</div>
<div class="grid2"><div><h2>Open positions</h2><div class="panel">${positions}</div></div><div><h2>Open alerts</h2><div class="panel">${alerts}</div></div></div>
<div class="grid2"><div><h2>Latest decisions</h2><div class="panel">${decisions}</div></div><div><h2>Latest orders</h2><div class="panel">${orders}</div></div></div>
<p class="sub">Refreshes every 15 s · <a href="metrics" style="color:var(--acc)">/metrics</a></p>
</main></body></html>`;
}

/**
 * What the page shows, as JSON (GET /dashboard.json): the same view, with the figures the page
 * derives (committed and free margin, utilization, average entries) computed once here. Money
 * stays in integer micro-USD, quantities in decimal strings, as everywhere else.
 */
export function dashboardJson(view: PortfolioView, mode: { paper: boolean; vertex: boolean }) {
  const p = view.portfolio.snapshot;
  return {
    mode,
    portfolio: {
      state: view.portfolio.state?.state ?? 'active',
      evaluatedAt: view.portfolio.evaluatedAt ?? null,
      equityMicros: p?.equityMicros ?? null,
      peakEquityMicros: p?.peakEquityMicros ?? null,
      drawdownFraction: p?.drawdownFraction ?? 0,
      allocationMicros: view.agents.reduce((s, a) => s + a.profile.marginAllocationMicros, 0),
      committedMicros: view.agents.reduce((s, a) => s + committedMicros(a.ledger), 0),
    },
    agents: view.agents.map(({ profile, ledger, state, snapshot }) => ({
      agentId: profile.agentId,
      displayName: profile.displayName,
      model: profile.model,
      state: state?.state ?? 'active',
      stateReason: state?.reason ?? null,
      allocationMicros: profile.marginAllocationMicros,
      reservedMicros: ledger.reservedMicros,
      inUseMicros: ledger.inUseMicros,
      freeMicros: freeMarginMicros(ledger, profile.marginAllocationMicros),
      utilization: profile.marginAllocationMicros > 0 ? committedMicros(ledger) / profile.marginAllocationMicros : 0,
      realizedPnlMicros: ledger.realizedPnlMicros,
      equityMicros: snapshot?.equityMicros ?? null,
      drawdownFraction: snapshot?.drawdownFraction ?? 0,
      rejections: ledger.breaches,
    })),
    equityHistory: view.equityHistory,
    positions: view.positions.map(({ agentId, symbol, position }) => ({
      agentId,
      symbol,
      side: position.quantityAtoms > 0 ? 'long' : 'short',
      quantity: atomsToQuantity(Math.abs(position.quantityAtoms)),
      averageEntryMicros: averageEntryMicros(position),
    })),
    openAlerts: view.openEpisodes,
    recentDecisions: view.recentDecisions,
    recentOrders: view.recentOrders,
  };
}
