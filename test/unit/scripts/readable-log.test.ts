import { describe, expect, it } from 'vitest';
import { readableLogLine } from '../../../scripts/lib/readable-log.js';

const at = { time: '2026-12-08T01:02:03.456Z', 'logging.googleapis.com/trace': 'projects/p/traces/t' };

describe("npm start's readable lines", () => {
  it('says each business event in one short line', () => {
    const lines = [
      { ...at, severity: 'INFO', message: 'agent decided', agentId: 'qwen-7b', model: 'baseline:momentum', action: 'BUY', source: 'model', signalId: 'qwen-7b:BTCUSDT:2023-03-10T00:05:00.000Z' },
      { ...at, severity: 'INFO', message: 'signal accepted', signalId: 'hello-1', agentId: 'deepseek-v3', source: 'webhook:readme', messageId: '1' },
      { ...at, severity: 'INFO', message: 'reservation decided', signalId: 'hello-1', agentId: 'deepseek-v3', symbol: 'BTCUSDT', status: 'reserved', marginMicros: 50_000_000, orderId: 'sph-1' },
      { ...at, severity: 'INFO', message: 'reservation decided', signalId: 'hello-2', agentId: 'deepseek-v3', symbol: 'BTCUSDT', status: 'rejected', reason: 'agent_margin_exceeded' },
      { ...at, severity: 'INFO', message: 'order placed', orderId: 'sph-1', agentId: 'deepseek-v3', symbol: 'BTCUSDT', side: 'BUY', venue: 'paper', quantity: '0.012', executedQuantity: '0.012', venueLatencyMs: 3 },
      { ...at, severity: 'INFO', message: 'fill applied', orderId: 'sph-1', agentId: 'deepseek-v3', symbol: 'BTCUSDT', quantity: '0.012', priceMicros: 20_370_800_000, feeMicros: 122_225 },
      { ...at, severity: 'INFO', message: 'risk evaluated', portfolio_drawdown_pct: 41.2, transitions: ['open:drawdown:agent:qwen-7b'] },
    ].map((entry) => readableLogLine(entry, 'events'));
    expect(lines).toEqual([
      '01:02:03 qwen-7b decided BUY → signal qwen-7b:BTCUSDT:2023-03-10T00:05:00.000Z (baseline:momentum, model)',
      '01:02:03 signal hello-1 accepted for deepseek-v3 from webhook:readme',
      '01:02:03 deepseek-v3 BTCUSDT: reserved 50 USD of margin → order sph-1',
      '01:02:03 deepseek-v3 BTCUSDT: signal hello-2 rejected (agent_margin_exceeded)',
      '01:02:03 deepseek-v3 BTCUSDT: BUY order sph-1 placed at the paper venue, 0.012 of 0.012 executed',
      '01:02:03 deepseek-v3 BTCUSDT: filled 0.012 at 20370.8 USD, fee 0.122225 USD (order sph-1)',
      '01:02:03 risk: open:drawdown:agent:qwen-7b',
    ]);
  });

  it('always shows warnings and errors, alerts among them, without the trace fields', () => {
    const line = readableLogLine({ ...at, severity: 'ERROR', message: 'ALERT qwen-7b drawdown 41% ≥ 40%', episodeId: 'e-1' }, 'events');
    expect(line).toBe('01:02:03 ERROR ALERT qwen-7b drawdown 41% ≥ 40% episodeId=e-1');
  });

  it('keeps housekeeping out unless asked for all of it', () => {
    const quiet = [
      { ...at, severity: 'INFO', message: 'risk evaluated', portfolio_drawdown_pct: 1.5, transitions: [] },
      { ...at, severity: 'INFO', message: 'reconciled', orders: 0 },
      { ...at, severity: 'INFO', message: 'agent decided', agentId: 'qwen-7b', action: 'HOLD', reason: 'no edge' },
    ];
    expect(quiet.map((entry) => readableLogLine(entry, 'events'))).toEqual([undefined, undefined, undefined]);
    expect(quiet.map((entry) => readableLogLine(entry, 'all'))).toEqual([
      '01:02:03 risk evaluated portfolio_drawdown_pct=1.5 transitions=[]',
      '01:02:03 reconciled orders=0',
      '01:02:03 agent decided agentId=qwen-7b action=HOLD reason=no edge',
    ]);
  });

  it('colours only when asked (a terminal that has colours)', () => {
    const entry = { ...at, severity: 'INFO', message: 'signal accepted', signalId: 's', agentId: 'a', source: 'x' };
    expect(readableLogLine(entry, 'events', true)).toContain('\u001b[');
    expect(readableLogLine(entry, 'events', false)).not.toContain('\u001b[');
  });
});
