import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Page, chromium } from 'playwright-core';
import { ensureChromium } from '../../scripts/lib/tools.js';
import type { ReplaySummary } from '../../shared/replay/summary.js';

/**
 * report.html in a real browser: the Chromium of @sparticuz/chromium (scripts/lib/tools.ts), driven
 * by playwright-core, offline and with a fresh profile each time.
 */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const VIEWPORT = { width: 1280, height: 900 };

async function withReportPage<T>(htmlPath: string, use: (page: Page, url: string) => Promise<T>): Promise<T> {
  const profile = await mkdtemp(join(tmpdir(), 'sapphire-report-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: await ensureChromium(),
    args: ARGS,
    viewport: VIEWPORT,
    deviceScaleFactor: 1,
    // A reader's locale, not the machine's: under LANG=C Chromium's default is en-US@posix, which Intl refuses.
    locale: 'en-US',
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    return await use(page, pathToFileURL(resolve(htmlPath)).href);
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

/**
 * Opens the report and asserts it works offline and draws the summary: no console or page error,
 * no dialog, no request but the file itself, every chart holding exactly the summary's series,
 * one marker per fill, one table row per agent, state change and alert. Throws an AssertionError.
 */
export async function checkReportInBrowser(htmlPath: string, summary: ReplaySummary): Promise<void> {
  await withReportPage(htmlPath, async (page, url) => {
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (message) => message.type() === 'error' && problems.push(`console: ${message.text()}`));
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('dialog', (dialog) => {
      problems.push(`dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    page.on('request', (request) => requests.push(request.url()));

    await page.goto(url, { waitUntil: 'load' });
    const charts = await page.evaluate(() => {
      const drawn = (window as unknown as { sapphireCharts?: Record<string, { data: unknown }> }).sapphireCharts ?? {};
      return Object.fromEntries(Object.entries(drawn).map(([name, chart]) => [name, chart.data]));
    });

    assert.deepEqual(requests, [url], 'the page loads nothing but itself');
    assert.deepEqual(problems, [], 'the page logs no error and raises no dialog');
    assert.deepEqual(Object.keys(charts).sort(), Object.keys(expectedChartData(summary)).sort(), 'one chart per expected name');
    for (const symbol of summary.market.symbols) {
      const [, , buys, sells] = charts[`price:${symbol}`] as [null, number[][], number[][], number[][]];
      for (const [side, markers] of [
        ['BUY', buys],
        ['SELL', sells],
      ] as const) {
        const fills = summary.trades.filter((t) => t.symbol === symbol && t.side === side).length;
        assert.equal(markers[0]?.length, fills, `${symbol} ${side} markers`);
      }
    }
    assert.deepEqual(charts, expectedChartData(summary), 'every chart holds exactly the summary series');
    assert.deepEqual(
      await page.locator('#agent-table tbody tr td:first-child').allTextContents(),
      summary.agents,
      'one agent table row per agent, in order',
    );
    assert.equal(await rowCount(page, 'state-change-table'), summary.stateChanges.length, 'one row per state change');
    assert.equal(await rowCount(page, 'alert-table'), summary.alerts.length, 'one row per alert');
  });
}

/** A full-page PNG of the report, 1280 CSS pixels wide. */
export async function screenshotReport(htmlPath: string, pngPath: string): Promise<void> {
  await withReportPage(htmlPath, async (page, url) => {
    await page.goto(url, { waitUntil: 'load' });
    await page.screenshot({ path: pngPath, fullPage: true });
  });
}

/**
 * What report.html's charts must hold, from the summary: times in epoch seconds (ms / 1000, uPlot's
 * time scale), money in USD (micro-USD / 1e6), fractions unchanged. Time charts are uPlot's aligned
 * data [x, ...y]; price charts are mode 2, [null, [x, close], [x, buy price], [x, sell price]].
 */
function expectedChartData(summary: ReplaySummary): Record<string, unknown[]> {
  const { series } = summary;
  const seconds = (ms: number) => ms / 1000;
  const usd = (micros: number) => micros / 1e6;
  const x = series.time.map(seconds);
  const perAgent = (pick: (agentId: string) => number[]) => summary.agents.map(pick);
  const agent = (agentId: string) => series.agents[agentId] ?? assert.fail(`no series for agent ${agentId}`);
  const fills = (symbol: string, side: 'BUY' | 'SELL') => {
    const trades = summary.trades.filter((t) => t.symbol === symbol && t.side === side);
    return [trades.map((t) => seconds(t.time)), trades.map((t) => usd(t.priceMicros))];
  };
  return {
    'portfolio-equity': [x, series.portfolioEquityMicros.map(usd), series.baselineEquityMicros.map(usd)],
    'portfolio-drawdown': [x, series.portfolioDrawdownFraction],
    'agent-equity': [x, ...perAgent((a) => agent(a).equityMicros.map(usd))],
    'agent-margin': [x, ...perAgent((a) => agent(a).marginInUseMicros.map(usd))],
    'agent-utilization': [x, ...perAgent((a) => agent(a).utilizationFraction)],
    ...Object.fromEntries(
      summary.market.symbols.map((symbol) => [
        `price:${symbol}`,
        [
          null,
          [x, (series.prices[symbol] ?? assert.fail(`no prices for ${symbol}`)).map(usd)],
          fills(symbol, 'BUY'),
          fills(symbol, 'SELL'),
        ],
      ]),
    ),
  };
}

/** Rows of a report table; its "None." paragraph counts as zero. */
function rowCount(page: Page, tableId: string): Promise<number> {
  return page.locator(`table#${tableId} tbody tr`).count();
}
