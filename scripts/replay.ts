/**
 * npm run replay -- [--from <time>] [--to <time>] [--agents a,b] [--data <dir>] [--out <dir>]
 *
 * Replays a market window through Sapphire's own code on a simulated clock (see
 * shared/replay/engine.ts) and writes the report: report.html, summary.json, trades.csv,
 * decisions.csv (and replay.log: the functions' warnings and errors). `--from` and `--to` are
 * UTC dates or ISO times, `--to` excluded; by default the whole of the data. The last line is
 * `RESULT replay_s=… peak_rss_mb=… trades=… halts=… halted_holding=…`.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import FakeTimers from '@sinonjs/fake-timers';
import { loadConfig } from '../shared/config.js';
import { CANDLE_MINUTE, type CandleSeries } from '../shared/domain/candles.js';
import { DEFAULT_AGENTS } from '../shared/domain/agents.js';
import { USD, microsToUsd } from '../shared/domain/money.js';
import { writeLogsTo } from '../shared/log.js';
import { readCandleFolder } from '../shared/replay/candle-files.js';
import { replay } from '../shared/replay/engine.js';
import { type DecisionRow, ReplayRecorder } from '../shared/replay/recorder.js';
import { renderReport } from '../shared/replay/report-html.js';
import type { ReplayTrade } from '../shared/replay/summary.js';
import { csvLine } from '../shared/replay/csv.js';
import { LOCAL_DEFAULTS, MARKET_DIR } from './lib/local-defaults.js';
import { fail as exitWith } from './lib/ops-client.js';

const { values } = parseArgs({
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    agents: { type: 'string' },
    data: { type: 'string' },
    out: { type: 'string' },
  },
});

const fail = (message: string): never => exitWith(`replay: ${message}`);

function instant(text: string, flag: string): number {
  const time = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (!Number.isFinite(time)) fail(`${flag} ${text}: not a date (YYYY-MM-DD) or an ISO time`);
  return Math.floor(time / CANDLE_MINUTE) * CANDLE_MINUTE;
}

const startedAt = process.hrtime.bigint();
const wallSeconds = () => Number(process.hrtime.bigint() - startedAt) / 1e9;

const dataDir = resolve(values.data ?? MARKET_DIR);
const outDir = resolve(values.out ?? 'replay-report');
const market = await readCandleFolder(dataDir).catch((error: Error) => fail(error.message));
const dataFrom = Math.max(...[...market.series.values()].map((s) => s.firstOpenTime));
const dataTo = Math.min(...[...market.series.values()].map((s) => s.endTime));
const from = values.from ? instant(values.from, '--from') : dataFrom;
const to = Math.min(values.to ? instant(values.to, '--to') : dataTo, dataTo);
if (from < dataFrom || from >= dataTo) fail(`--from ${new Date(from).toISOString()} is outside the data (${new Date(dataFrom).toISOString()} to ${new Date(dataTo).toISOString()})`);
if (to <= from) fail(`--to must be after --from`);

const wanted = values.agents?.split(',').map((a) => a.trim()).filter(Boolean);
const unknown = wanted?.filter((id) => !DEFAULT_AGENTS.some((a) => a.agentId === id)) ?? [];
if (unknown.length > 0) fail(`unknown agent ${unknown.join(', ')}: one of ${DEFAULT_AGENTS.map((a) => a.agentId).join(', ')}`);
const agents = DEFAULT_AGENTS.filter((a) => !wanted || wanted.includes(a.agentId));
const symbols = [...market.series.keys()];
const untradable = agents.flatMap((a) => a.allowedSymbols).filter((s) => !market.series.has(s));
if (untradable.length > 0) process.stderr.write(`replay: no candles for ${[...new Set(untradable)].join(', ')}: agents skip those symbols\n`);

// The functions' configuration, as `npm start` gives it; what the environment sets wins.
const config = (() => {
  try {
    return loadConfig({ ...LOCAL_DEFAULTS, ...process.env });
  } catch (error) {
    return fail((error as Error).message);
  }
})();

await mkdir(outDir, { recursive: true });
const logFile = createWriteStream(join(outDir, 'replay.log'));
process.env.SAPPHIRE_QUIET_LOGS = 'true';
writeLogsTo((line) => logFile.write(line));
const decisions = createWriteStream(join(outDir, 'decisions.csv'));
decisions.write(csvLine(['decided_for', 'agent_id', 'model', 'action', 'signal_id', 'source', 'free_margin_usd', 'reason']));
const trades = createWriteStream(join(outDir, 'trades.csv'));
trades.write(csvLine(['time', 'agent_id', 'symbol', 'side', 'quantity', 'price_usd', 'fee_usd', 'realized_pnl_usd', 'closing', 'order_id']));

const minutes = (to - from) / CANDLE_MINUTE;
// A few thousand points per series at most: enough for any screen, flat in memory.
const sampleMinutes = Math.max(1, Math.ceil(minutes / 2_000));
const clock = FakeTimers.withGlobal(globalThis).install({ now: from, toFake: ['Date'] });
let tradeCount = 0;
const recorder = new ReplayRecorder(
  { from, to, sampleMinutes, agents, symbols, files: market.files, priceOf: (symbol, time) => (market.series.get(symbol) as CandleSeries).priceAt(time) },
  {
    decision: (row: DecisionRow) => decisions.write(csvLine([row.decidedFor, row.agentId, row.model, row.action, row.signalId, row.source, microsToUsd(row.freeMarginMicros), row.reason])),
    trade: (t: ReplayTrade) => {
      tradeCount += 1;
      trades.write(csvLine([new Date(t.time).toISOString(), t.agentId, t.symbol, t.side, t.quantity, microsToUsd(t.priceMicros), microsToUsd(t.feeMicros), microsToUsd(t.realizedPnlMicros), String(t.closing), t.orderId]));
    },
  },
);

const tty = process.stderr.isTTY;
let lastShown = -Infinity;
const outcome = await replay({
  from,
  to,
  market: market.series,
  agents,
  config,
  setClock: (time) => clock.setSystemTime(time),
  recorder,
  onMinute: (p) => {
    const now = wallSeconds();
    if (now - lastShown < (tty ? 0.25 : 5) && p.minutesDone < p.minutes) return;
    lastShown = now;
    const line = `replay ${new Date(p.time).toISOString().slice(0, 16).replace('T', ' ')} · ${((100 * p.minutesDone) / p.minutes).toFixed(1)}% · trades ${tradeCount} · equity ${(recorder.equityNow() / USD).toFixed(2)} USD · ${Math.round(p.minutesDone / Math.max(now, 0.001))} min/s`;
    process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
  },
});
if (tty) process.stderr.write('\n');
clock.uninstall();

const summary = recorder.summary();
await writeFile(join(outDir, 'summary.json'), `${JSON.stringify(summary, null, 1)}\n`);
await writeFile(join(outDir, 'report.html'), renderReport(summary));
for (const failed of outcome.failedDeliveries) logFile.write(`${JSON.stringify({ severity: 'ERROR', deadLettered: failed })}\n`);
await Promise.all([decisions, trades, logFile].map((stream) => new Promise((done) => stream.end(done))));

const p = summary.portfolio;
process.stdout.write(
  [
    `window      ${summary.window.from} → ${summary.window.to} (${summary.window.minutes} minutes, ${summary.agents.length} agents, ${symbols.join(', ')})`,
    `equity      ${microsToUsd(p.startEquityMicros)} → ${microsToUsd(p.endEquityMicros)} USD (${(p.returnFraction * 100).toFixed(2)}%; buy and hold ${(summary.baseline.returnFraction * 100).toFixed(2)}%)`,
    `drawdown    max ${(p.maxDrawdownFraction * 100).toFixed(2)}% · halts ${p.halts} · alerts ${summary.alerts.length} · trades ${p.trades}`,
    `halted      ${p.haltedHolding.length === 0 ? 'every halted agent flat at the end' : `still holding at the end: ${p.haltedHolding.join(', ')}`}`,
    `messages    ${outcome.messages} delivered in process${outcome.failedDeliveries.length > 0 ? `, ${outcome.failedDeliveries.length} dead-lettered (see replay.log)` : ''}`,
    `report      ${join(outDir, 'report.html')}`,
    '',
  ].join('\n'),
);
const peakRssMb = process.resourceUsage().maxRSS / 1024;
process.stdout.write(`RESULT replay_s=${wallSeconds().toFixed(1)} peak_rss_mb=${peakRssMb.toFixed(0)} trades=${p.trades} halts=${p.halts} halted_holding=${p.haltedHolding.length}\n`);
