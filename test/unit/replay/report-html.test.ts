import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderReport } from '../../../shared/replay/report-html.js';
import type { ReplaySummary } from '../../../shared/replay/summary.js';
import { replaySummary } from '../../support/replay-summary.js';

const HOSTILE = '</script><img src=x onerror=alert(1)>';

/** What sits between the start tag carrying this id and the next end tag of its kind. */
function element(html: string, tag: string, id: string): string {
  const start = html.indexOf('>', html.indexOf(`id="${id}"`)) + 1;
  return html.slice(start, html.indexOf(`</${tag}>`, start));
}

/** A table's rows, each as its cells' raw HTML. */
const rows = (html: string, tableId: string) =>
  [...element(html, 'table', tableId).matchAll(/<tr>(.*?)<\/tr>/g)].map(([, row]) =>
    [...(row as string).matchAll(/<t[hd][^>]*>(.*?)<\/t[hd]>/g)].map(([, cell]) => cell),
  );

describe('renderReport', () => {
  it('is one page with uPlot and its stylesheet inlined', () => {
    const html = renderReport(replaySummary());
    expect(html.startsWith('<!doctype html>')).toBe(true);
    for (const file of ['uPlot.iife.min.js', 'uPlot.min.css'])
      expect(html).toContain(readFileSync(`node_modules/uplot/dist/${file}`, 'utf8'));
  });

  it('refers to nothing on the network: no src, href, url() or @import, and no address but uPlot’s license banner', () => {
    const html = renderReport(replaySummary());
    expect(html).not.toMatch(/\b(src|href)\s*=|url\(|@import/i);
    expect(html.match(/[a-z]+:\/\/[^\s"'`)]*/gi)).toEqual(['https://github.com/leeoniya/uPlot']);
  });

  it('embeds the summary as JSON that parses back to the same summary', () => {
    const summary = replaySummary();
    expect(JSON.parse(element(renderReport(summary), 'script', 'summary')) as ReplaySummary).toEqual(summary);
  });

  it('escapes hostile text in the tables and cannot be closed early by it in the embedded JSON', () => {
    const summary = replaySummary({ agents: ['deepseek-v3', HOSTILE], haltReason: HOSTILE });
    const html = renderReport(summary);
    expect(html).not.toContain('<img');
    expect(html.split('</script>')).toHaveLength(4); // summary JSON, uPlot, page script
    expect(JSON.parse(element(html, 'script', 'summary'))).toEqual(summary);
    expect(rows(html, 'state-change-table')[1]?.[3]).toBe('&#60;/script&#62;&#60;img src=x onerror=alert(1)&#62;');
    expect(rows(html, 'agent-table')[2]?.[0]).toBe('&#60;/script&#62;&#60;img src=x onerror=alert(1)&#62;');
  });

  it('writes one agent row with counts, USD to the cent, percentages and rejections by count', () => {
    const summary = replaySummary();
    const stats = summary.agentStats['deepseek-v3'];
    const withBigNumbers = {
      ...summary,
      agentStats: {
        ...summary.agentStats,
        'deepseek-v3': { ...stats, realizedPnlMicros: 1_234_567_895_000, unrealizedPnlMicros: -4_999, sortino: null },
      },
    } as ReplaySummary;
    const table = rows(renderReport(withBigNumbers), 'agent-table');
    expect(table[0]).toEqual([
      'Agent',
      'Trades',
      'Closing',
      'Win rate',
      'Realized PnL',
      'Unrealized PnL',
      'Fees',
      'Max drawdown',
      'Sharpe',
      'Sortino',
      'Exposure',
      'Rejections',
    ]);
    expect(table.slice(1).map((row) => row.slice(0, 1))).toEqual([['deepseek-v3'], ['lagllama-degen']]);
    expect(table[1]?.slice(1)).toEqual([
      '8',
      '4',
      '50.00%',
      '1,234,567.90',
      '0.00',
      '1.60',
      '7.68%',
      '0.80',
      '—',
      '50.00%',
      'insufficient_margin 2, agent_halted 1',
    ]);
  });

  it('says None. for a replay without alerts or state changes', () => {
    const html = renderReport({ ...replaySummary(), alerts: [], stateChanges: [] });
    expect(html).toContain('<p class="none" id="alert-table">None.</p>');
    expect(html).toContain('<p class="none" id="state-change-table">None.</p>');
  });
});
