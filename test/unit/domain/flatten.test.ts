import { describe, expect, it } from 'vitest';
import { DEFAULT_AGENTS } from '../../../shared/domain/agents.js';
import { flattenSignalId, flattenSignals, flattensForHalts } from '../../../shared/domain/flatten.js';
import { TradeSignal } from '../../../shared/domain/messages.js';
import { USD } from '../../../shared/domain/money.js';

const NOW = new Date('2023-03-11T03:00:00Z');
const positions = [
  { agentId: 'lagllama-degen', symbol: 'BTCUSDT', quantityAtoms: -4_520_000, averageEntryMicros: 20_100 * USD },
  { agentId: 'qwen-7b', symbol: 'ETHUSDT', quantityAtoms: 150_000_000, averageEntryMicros: 1_450 * USD },
  { agentId: 'qwen-7b', symbol: 'SOLUSDT', quantityAtoms: 0, averageEntryMicros: 0 },
];

describe('flattenSignals', () => {
  it('closes each open position with one valid reduce-only signal the opposite way, for its whole size', () => {
    const signals = flattenSignals('ops-1', positions, { now: NOW, ttlMs: 600_000, requestedBy: 'operator:alice' });
    expect(signals.map((s) => [s.agentId, s.symbol, s.side, s.size, s.reduceOnly])).toEqual([
      ['lagllama-degen', 'BTCUSDT', 'BUY', { type: 'quantity', quantity: '0.0452', priceMicros: 20_100 * USD }, true],
      ['qwen-7b', 'ETHUSDT', 'SELL', { type: 'quantity', quantity: '1.5', priceMicros: 1_450 * USD }, true],
    ]);
    for (const signal of signals) expect(TradeSignal.safeParse(signal).success).toBe(true);
    expect(signals[0]).toMatchObject({ leverage: 1, source: 'flatten:operator:alice', expiresAt: '2023-03-11T03:10:00.000Z' });
  });

  it('names signals after the flatten, the agent and the symbol: the same flatten, the same signals', () => {
    const first = flattenSignals('ops-1', positions, { now: NOW, ttlMs: 600_000, requestedBy: 'x' });
    const later = flattenSignals('ops-1', positions, { now: new Date(NOW.getTime() + 60_000), ttlMs: 600_000, requestedBy: 'x' });
    expect(later.map((s) => s.signalId)).toEqual(first.map((s) => s.signalId));
    expect(first[0]?.signalId).toBe(flattenSignalId('ops-1', 'lagllama-degen', 'BTCUSDT'));
    expect(flattenSignalId('ops-2', 'lagllama-degen', 'BTCUSDT')).not.toBe(first[0]?.signalId);
  });
});

describe('flattensForHalts', () => {
  const profiles = DEFAULT_AGENTS.map((p) =>
    p.agentId === 'lagllama-degen' ? { ...p, flatten: { onAgentHalt: true, onPortfolioHalt: true } } : p.agentId === 'qwen-7b' ? { ...p, flatten: { onAgentHalt: false, onPortfolioHalt: true } } : p,
  );

  it("flattens a halted agent only if its profile asks for it", () => {
    expect(flattensForHalts([{ scope: 'lagllama-degen', episodeId: 'daily_loss:lagllama-degen@t', reason: 'lost 20%' }], profiles)).toEqual([
      { flattenId: 'halt-daily_loss:lagllama-degen@t', agentIds: ['lagllama-degen'], reason: 'halted: lost 20%' },
    ]);
    expect(flattensForHalts([{ scope: 'qwen-7b', episodeId: 'e', reason: 'r' }], profiles)).toEqual([]);
  });

  it('flattens the agents that ask for it when the whole portfolio halts', () => {
    expect(flattensForHalts([{ scope: 'portfolio', episodeId: 'p@t', reason: 'drawdown 26%' }], profiles)).toEqual([
      { flattenId: 'halt-p@t', agentIds: ['qwen-7b', 'lagllama-degen'], reason: 'halted: drawdown 26%' },
    ]);
  });
});
