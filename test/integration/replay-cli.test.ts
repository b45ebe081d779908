import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplaySummary } from '../../shared/replay/summary.js';
import { checkReportInBrowser } from '../support/report-browser.js';

/**
 * `npm run replay` as a user runs it: a day of the market into a report folder, twice, byte for
 * byte the same; the page checked in a real browser against the summary it was made from; bad
 * arguments answered with a clear line and nothing written.
 */

const WINDOW = ['--from', '2023-03-10', '--to', '2023-03-11'];
let dir: string;

function runReplay(...args: string[]) {
  const env = { ...process.env };
  // The replay makes its own world: the test suite's emulators have nothing to do with it.
  delete env.FIRESTORE_EMULATOR_HOST;
  delete env.PUBSUB_EMULATOR_HOST;
  return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/replay.ts', ...args], { encoding: 'utf8', env, timeout: 120_000 });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sapphire-replay-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('npm run replay', () => {
  it('writes the same report twice, ending with a RESULT line, and the page draws the summary', async () => {
    const runs = [runReplay(...WINDOW, '--out', join(dir, 'a')), runReplay(...WINDOW, '--out', join(dir, 'b'))];
    for (const run of runs) {
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(/^RESULT replay_s=\d+(\.\d+)? peak_rss_mb=\d+ trades=\d+ halts=\d+ halted_holding=\d+$/);
      expect(run.stderr).toMatch(/replay 2023-03-10 23:59 · 100\.0% · trades \d+/);
    }
    for (const file of ['summary.json', 'trades.csv', 'decisions.csv', 'report.html']) {
      expect(await readFile(join(dir, 'b', file), 'utf8'), file).toBe(await readFile(join(dir, 'a', file), 'utf8'));
    }
    const summary = JSON.parse(await readFile(join(dir, 'a', 'summary.json'), 'utf8')) as ReplaySummary;
    expect(summary.window).toMatchObject({ from: '2023-03-10T00:00:00.000Z', to: '2023-03-11T00:00:00.000Z', minutes: 1_440 });
    expect(summary.trades.length).toBeGreaterThan(0);
    const trades = (await readFile(join(dir, 'a', 'trades.csv'), 'utf8')).trimEnd().split('\n');
    expect(trades).toHaveLength(summary.trades.length + 1);
    const decisions = (await readFile(join(dir, 'a', 'decisions.csv'), 'utf8')).trimEnd().split('\n');
    expect(decisions).toHaveLength(Object.values(summary.agentStats).reduce((n, s) => n + s.decisions, 0) + 1);
    expect(runs[0]?.stdout).toContain(`RESULT`);
    expect(runs[0]?.stdout).toContain(`trades=${summary.portfolio.trades} halts=${summary.portfolio.halts}`);
    await checkReportInBrowser(join(dir, 'a', 'report.html'), summary);
  }, 180_000);

  it.each([
    [['--from', '2020-01-01', '--to', '2020-01-02'], /--from 2020-01-01T00:00:00.000Z is outside the data/],
    [['--from', 'yesterday'], /--from yesterday: not a date/],
    [['--from', '2023-03-10', '--to', '2023-03-09'], /--to must be after --from/],
    [['--agents', 'gpt-9'], /unknown agent gpt-9/],
  ])('refuses %j with a clear line and writes nothing', (args, message) => {
    const out = join(dir, `refused-${args.join('')}`);
    const run = runReplay(...args, '--out', out);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack
    expect(spawnSync('ls', [out]).status).not.toBe(0);
  });
});
