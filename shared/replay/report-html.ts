import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ReplaySummary } from './summary.js';

/**
 * report.html: one self-contained page that opens from disk with no network. The header and the
 * tables are written here (every text from the summary escaped); the charts are drawn in the
 * browser by uPlot, inlined, from the summary embedded as JSON.
 */
export function renderReport(summary: ReplaySummary): string {
  const uplot = uplotAssets();
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`Sapphire replay ${summary.window.from} → ${summary.window.to}`)}</title>
${inline('style', uplot.css)}
${inline('style', PAGE_CSS)}
</head>
<body>
${header(summary)}
<h2>Portfolio</h2>
<div id="portfolio-charts"></div>
<h2>Agents</h2>
${agentTable(summary)}
<div id="agent-charts"></div>
<h2>Prices and fills</h2>
<div id="price-charts"></div>
<h2>State changes</h2>
${stateChangeTable(summary)}
<h2>Alerts</h2>
${alertTable(summary)}
<script type="application/json" id="summary">${embeddedJson(summary)}</script>
${inline('script', uplot.script)}
${inline('script', PAGE_SCRIPT)}
</body>
</html>
`;
}

function header(summary: ReplaySummary): string {
  const { portfolio, baseline, window } = summary;
  const facts: [string, string, number?][] = [
    ['Return', signedPercent(portfolio.returnFraction), portfolio.returnFraction],
    [`Buy and hold ${baseline.symbol}`, signedPercent(baseline.returnFraction), baseline.returnFraction],
    ['Max drawdown', percent(portfolio.maxDrawdownFraction)],
    ['Halts / resumes', `${portfolio.halts} / ${portfolio.resumes}`],
    ['Equity', `${usd(portfolio.startEquityMicros)} → ${usd(portfolio.endEquityMicros)}`],
    ['Realized PnL', usd(portfolio.realizedPnlMicros), portfolio.realizedPnlMicros],
    ['Unrealized PnL', usd(portfolio.unrealizedPnlMicros), portfolio.unrealizedPnlMicros],
    ['Fees', usd(portfolio.feesMicros)],
    ['Trades', String(portfolio.trades)],
    ['Sharpe / Sortino', `${ratio(portfolio.sharpe)} / ${ratio(portfolio.sortino)}`],
    ['Symbols', summary.market.symbols.join(', ')],
    ['Agents', summary.agents.join(', ')],
  ];
  const items = facts.map(
    ([term, value, sign]) => `<div><dt>${escapeHtml(term)}</dt><dd${signClass(sign)}>${escapeHtml(value)}</dd></div>`,
  );
  return `<header>
<h1>Sapphire replay</h1>
<p class="window">${escapeHtml(`${window.from} → ${window.to} · ${window.minutes} market minutes, sampled every ${window.sampleMinutes} min`)}</p>
<dl class="facts">${items.join('')}</dl>
</header>`;
}

/** A table column; numeric columns are right-aligned. */
interface Column {
  readonly title: string;
  readonly numeric?: boolean;
}

const text = (title: string): Column => ({ title });
const figure = (title: string): Column => ({ title, numeric: true });

const AGENT_COLUMNS = [
  text('Agent'),
  figure('Trades'),
  figure('Closing'),
  figure('Win rate'),
  figure('Realized PnL'),
  figure('Unrealized PnL'),
  figure('Fees'),
  figure('Max drawdown'),
  figure('Sharpe'),
  figure('Sortino'),
  figure('Exposure'),
  text('Rejections'),
];

function agentTable(summary: ReplaySummary): string {
  const rows = summary.agents.map((agentId) => {
    const s = summary.agentStats[agentId];
    if (!s) return [agentId, ...AGENT_COLUMNS.slice(1).map(() => '—')];
    const rejections = Object.entries(s.rejections)
      .sort(([reasonA, a], [reasonB, b]) => b - a || reasonA.localeCompare(reasonB))
      .map(([reason, count]) => `${reason} ${count}`);
    return [
      agentId,
      String(s.trades),
      String(s.closingTrades),
      s.winRate === null ? '—' : percent(s.winRate),
      usd(s.realizedPnlMicros),
      usd(s.unrealizedPnlMicros),
      usd(s.feesMicros),
      percent(s.maxDrawdownFraction),
      ratio(s.sharpe),
      ratio(s.sortino),
      percent(s.exposureFraction),
      rejections.join(', ') || '—',
    ];
  });
  return table('agent-table', AGENT_COLUMNS, rows);
}

function stateChangeTable(summary: ReplaySummary): string {
  const rows = summary.stateChanges.map((c) => [utc(c.time), c.scope, c.state, c.reason, c.changedBy]);
  return table('state-change-table', [text('Time (UTC)'), text('Scope'), text('State'), text('Reason'), text('Changed by')], rows);
}

function alertTable(summary: ReplaySummary): string {
  const rows = summary.alerts.map((a) => [utc(a.time), a.transition, a.severity, a.scope, a.key, a.summary]);
  return table(
    'alert-table',
    [text('Time (UTC)'), text('Transition'), text('Severity'), text('Scope'), text('Key'), text('Summary')],
    rows,
  );
}

/** A table of plain-text cells, escaped here; "None." when there is no row. */
function table(id: string, columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return `<p class="none" id="${id}">None.</p>`;
  const cell = (tag: 'th' | 'td', content: string, i: number) =>
    `<${tag}${columns[i]?.numeric ? ' class="num"' : ''}>${escapeHtml(content)}</${tag}>`;
  const head = columns.map((c, i) => cell('th', c.title, i)).join('');
  const body = rows.map((row) => `<tr>${row.map((content, i) => cell('td', content, i)).join('')}</tr>`).join('\n');
  return `<div class="scroll"><table id="${id}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

/** micro-USD → "-1,234.57": rounded to the cent on the integer, never through a float's decimals. */
function usd(micros: number): string {
  const cents = Math.round(Math.abs(micros) / 10_000);
  const whole = String(Math.floor(cents / 100)).replace(/\B(?=(\d{3})+$)/g, ',');
  return `${micros < 0 && cents > 0 ? '-' : ''}${whole}.${String(cents % 100).padStart(2, '0')}`;
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`;
}

function signedPercent(fraction: number): string {
  return `${fraction > 0 ? '+' : ''}${percent(fraction)}`;
}

function ratio(value: number | null): string {
  return value === null ? '—' : value.toFixed(2);
}

function signClass(value: number | undefined): string {
  if (value === undefined || value === 0) return '';
  return value > 0 ? ' class="gain"' : ' class="loss"';
}

function utc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The summary as JSON inside a script element: with every '<' escaped, no text can close the element. */
function embeddedJson(summary: ReplaySummary): string {
  return JSON.stringify(summary).replace(/</g, '\\u003c');
}

/** Inline code or CSS; refused if it would end its own element early. */
function inline(tag: 'script' | 'style', content: string): string {
  if (content.toLowerCase().includes(`</${tag}`)) throw new Error(`inline ${tag} contains </${tag}`);
  return `<${tag}>\n${content}\n</${tag}>`;
}

interface UplotAssets {
  readonly script: string;
  readonly css: string;
}

let uplot: UplotAssets | undefined;

/** uPlot's browser build and stylesheet, read once from the installed package. */
function uplotAssets(): UplotAssets {
  if (!uplot) {
    const dist = join(packageRoot('uplot'), 'dist');
    uplot = { script: readFileSync(join(dist, 'uPlot.iife.min.js'), 'utf8'), css: readFileSync(join(dist, 'uPlot.min.css'), 'utf8') };
  }
  return uplot;
}

/**
 * The folder of an installed package, found upwards from its resolved entry point: resolving a
 * deep path ('uplot/dist/…') would break once the package declares "exports" without it.
 */
function packageRoot(name: string): string {
  for (let dir = dirname(createRequire(import.meta.url).resolve(name)); dirname(dir) !== dir; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name) return dir;
  }
  throw new Error(`no package.json named ${name} above its entry point`);
}

const PAGE_CSS = `
:root { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f; background: #fff; }
body { max-width: 1240px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 2px; }
h2 { font-size: 17px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #e3e3e3; }
.window { color: #555; margin: 0 0 12px; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 8px; margin: 0; }
.facts div { background: #f5f6f8; border-radius: 6px; padding: 8px 10px; }
.facts dt { font-size: 12px; color: #666; }
.facts dd { margin: 0; font-size: 16px; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.gain { color: #2e7d32; }
.loss { color: #c62828; }
.chart { margin: 12px 0 20px; }
.uplot .u-title { font-size: 14px; font-weight: 600; text-align: left; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 8px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
th { font-weight: 600; background: #f5f6f8; }
.num { text-align: right; white-space: nowrap; }
.none { color: #666; }
`;

/**
 * Draws the charts from the embedded summary and exposes them as window.sapphireCharts[name].
 * Chart data: times in epoch seconds (uPlot's time scale; summary times are ms / 1000), money in
 * USD (summary micro-USD / 1e6), fractions unchanged. Price charts use uPlot's mode 2 (each
 * series its own [x, y]) so fills keep their exact times between samples.
 */
const PAGE_SCRIPT = String.raw`
(() => {
  'use strict';
  const summary = JSON.parse(document.getElementById('summary').textContent);
  const series = summary.series;
  const seconds = (ms) => ms / 1000;
  const usd = (micros) => micros / 1e6;
  const x = series.time.map(seconds);
  const HEIGHT = 240;
  const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
  const STATE_COLORS = { halted: '#c62828', reducing: '#ef6c00', active: '#2e7d32' };
  const BUY = '#2e7d32';
  const SELL = '#c62828';
  const charts = (window.sapphireCharts = {});
  // Ticks fall on UTC hours and days, whatever the viewer's time zone.
  const tzDate = (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC');

  const dollars = (v) => (v == null ? '—' : '$' + v.toLocaleString('en-US', { maximumFractionDigits: 2 }));
  const percent = (v) => (v == null ? '—' : +(v * 100).toFixed(2) + '%');
  // Market time is UTC. Ticks a day or more apart read as dates (MM-DD, the year on the first);
  // closer ones as "HH:MM", with the date where a day starts and on the first tick.
  const utc = (ts) => new Date(ts * 1000).toISOString();
  const TIME_AXIS = {
    size: 44,
    space: 64,
    values: (u, ticks) =>
      ticks.every((t) => utc(t).slice(11, 16) === '00:00')
        ? ticks.map((t, i) => (i === 0 ? utc(t).slice(0, 10) : utc(t).slice(5, 10)))
        : ticks.map((t, i) => (i === 0 || utc(t).slice(11, 16) === '00:00' ? utc(t).slice(11, 16) + '\n' + utc(t).slice(0, 10) : utc(t).slice(11, 16))),
  };
  const TIME_SERIES = { label: 'UTC', value: (u, v) => (v == null ? '—' : utc(v).slice(0, 16).replace('T', ' ')) };
  const MONEY = { axis: { size: 80, values: (u, ticks) => ticks.map(dollars) }, value: (u, v) => dollars(v) };
  const FRACTION = { axis: { size: 80, values: (u, ticks) => ticks.map(percent) }, value: (u, v) => percent(v) };

  // Each state change as a dashed vertical line labelled with its scope and new state; labels of
  // nearby changes take turns over three rows.
  function drawStateChanges(u) {
    const { ctx, bbox } = u;
    const px = devicePixelRatio;
    ctx.save();
    ctx.font = 11 * px + 'px system-ui, sans-serif';
    ctx.textBaseline = 'top';
    ctx.setLineDash([4 * px, 3 * px]);
    summary.stateChanges.forEach((change, i) => {
      const left = Math.round(u.valToPos(seconds(change.time), 'x', true));
      if (left < bbox.left || left > bbox.left + bbox.width) return;
      ctx.strokeStyle = ctx.fillStyle = STATE_COLORS[change.state] || '#555';
      ctx.beginPath();
      ctx.moveTo(left, bbox.top);
      ctx.lineTo(left, bbox.top + bbox.height);
      ctx.stroke();
      // Labels run right of their line, or left of it near the right edge, so they stay on the canvas.
      const nearRightEdge = left > bbox.left + bbox.width * 0.8;
      ctx.textAlign = nearRightEdge ? 'right' : 'left';
      ctx.fillText(change.scope + ' ' + change.state, left + (nearRightEdge ? -3 : 3) * px, bbox.top + (2 + (i % 3) * 13) * px);
    });
    ctx.restore();
  }

  // Fills as triangles at their own [time, price], pointing up for buys and down for sells:
  // told apart by shape, not colour alone. direction is -1 (up) or 1 (down) in canvas y.
  function triangles(direction) {
    return (u, seriesIdx) => {
      const [times, prices] = u.data[seriesIdx];
      const r = 5 * devicePixelRatio;
      const path = new Path2D();
      times.forEach((t, i) => {
        const cx = u.valToPos(t, 'x', true);
        const cy = u.valToPos(prices[i], 'y', true);
        path.moveTo(cx, cy + direction * r);
        path.lineTo(cx - r, cy - direction * r);
        path.lineTo(cx + r, cy - direction * r);
        path.closePath();
      });
      return { stroke: path, fill: path };
    };
  }

  function container(id) {
    const el = document.createElement('div');
    el.className = 'chart';
    document.getElementById(id).appendChild(el);
    return el;
  }

  // One line per entry of lines ({ label, values, color? }) over the sample times.
  function timeChart(containerId, name, title, lines, unit) {
    const el = container(containerId);
    const opts = {
      title,
      width: el.clientWidth,
      height: HEIGHT,
      tzDate,
      cursor: { sync: { key: 'replay' } },
      scales: { x: { time: true } },
      series: [TIME_SERIES].concat(
        lines.map((line, i) => ({ label: line.label, stroke: line.color || PALETTE[i % PALETTE.length], width: 1.5, value: unit.value })),
      ),
      axes: [TIME_AXIS, unit.axis],
      hooks: { draw: [drawStateChanges] },
    };
    charts[name] = new uPlot(opts, [x].concat(lines.map((line) => line.values)), el);
  }

  function priceChart(symbol) {
    const el = container('price-charts');
    const fills = (side) => {
      const trades = summary.trades.filter((t) => t.symbol === symbol && t.side === side);
      return [trades.map((t) => seconds(t.time)), trades.map((t) => usd(t.priceMicros))];
    };
    const marker = (label, color, direction) => ({ label, stroke: color, fill: color, paths: triangles(direction), points: { show: false } });
    const opts = {
      mode: 2,
      title: symbol + ' close, with fills',
      width: el.clientWidth,
      height: HEIGHT,
      tzDate,
      scales: { x: { time: true } },
      series: [{}, { label: symbol, stroke: '#555', width: 1.25, points: { show: false } }, marker('Buy', BUY, -1), marker('Sell', SELL, 1)],
      axes: [TIME_AXIS, MONEY.axis],
    };
    charts['price:' + symbol] = new uPlot(opts, [null, [x, series.prices[symbol].map(usd)], fills('BUY'), fills('SELL')], el);
  }

  const perAgent = (pick) => summary.agents.map((agentId) => ({ label: agentId, values: pick(series.agents[agentId]) }));

  timeChart(
    'portfolio-charts',
    'portfolio-equity',
    'Portfolio equity (USD) and buy and hold ' + summary.baseline.symbol,
    [
      { label: 'Portfolio', values: series.portfolioEquityMicros.map(usd) },
      { label: 'Buy and hold', values: series.baselineEquityMicros.map(usd), color: '#999' },
    ],
    MONEY,
  );
  timeChart('portfolio-charts', 'portfolio-drawdown', 'Portfolio drawdown from peak', [{ label: 'Drawdown', values: series.portfolioDrawdownFraction, color: '#c62828' }], FRACTION);
  timeChart('agent-charts', 'agent-equity', 'Equity per agent (USD)', perAgent((a) => a.equityMicros.map(usd)), MONEY);
  timeChart('agent-charts', 'agent-margin', 'Margin in use per agent (USD)', perAgent((a) => a.marginInUseMicros.map(usd)), MONEY);
  timeChart('agent-charts', 'agent-utilization', 'Margin utilization per agent: (reserved + in use) / allocation', perAgent((a) => a.utilizationFraction), FRACTION);
  summary.market.symbols.forEach(priceChart);

  addEventListener('resize', () => {
    for (const u of Object.values(charts)) u.setSize({ width: u.root.parentElement.clientWidth, height: HEIGHT });
  });
})();
`;
