import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport } from '../../shared/replay/report-html.js';
import { checkReportInBrowser, screenshotReport } from '../support/report-browser.js';
import { replaySummary } from '../support/replay-summary.js';

/** report.html in a real Chromium: offline, error-free, and drawing exactly the summary. */

// Hostile text where the summary carries free text: an agent id and a halt reason.
const summary = replaySummary({
  agents: ['deepseek-v3', '<img src=x onerror=alert(2)>'],
  haltReason: '</script><img src=x onerror=alert(1)>',
});
let dir: string;
let reportPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sapphire-report-'));
  reportPath = join(dir, 'report.html');
  await writeFile(reportPath, renderReport(summary));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('report.html in a browser', () => {
  it('loads nothing but itself, logs no error and draws every series, fill and row of the summary', async () => {
    await checkReportInBrowser(reportPath, summary);
  });

  it('is caught drawing data other than the summary’s', async () => {
    const prices = { ...summary.series.prices, BTCUSDT: summary.series.prices.BTCUSDT?.map((p, i) => (i === 3 ? p + 1 : p)) ?? [] };
    const other = { ...summary, series: { ...summary.series, prices } };
    await expect(checkReportInBrowser(reportPath, other)).rejects.toThrow('every chart holds exactly the summary series');
  });

  it('is caught reaching for the network', async () => {
    const leaky = join(dir, 'leaky.html');
    await writeFile(leaky, renderReport(summary).replace('</body>', '<img src="http://127.0.0.1:9/pixel.png"></body>'));
    await expect(checkReportInBrowser(leaky, summary)).rejects.toThrow('the page loads nothing but itself');
  });

  it('is caught throwing in the page', async () => {
    const broken = join(dir, 'broken.html');
    await writeFile(broken, renderReport(summary).replace('</body>', '<script>throw new Error("boom")</script></body>'));
    await expect(checkReportInBrowser(broken, summary)).rejects.toThrow('the page logs no error and raises no dialog');
  });

  it('screenshots the whole page at 1280 CSS pixels wide', async () => {
    const pngPath = join(dir, 'report.png');
    await screenshotReport(reportPath, pngPath);
    const png = await readFile(pngPath);
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20) > 2_000]).toEqual([1280, true]);
  });
});
