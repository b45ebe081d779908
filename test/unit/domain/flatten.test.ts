import { describe, expect, it } from 'vitest';
import { DEFAULT_AGENTS, FLATTEN_ON_EVERY_HALT, haltFlattens } from '../../../shared/domain/agents.js';
import { flattenRetryDelayMs, flattenSignalId, flattenSignals, flattensForHalts, nextFlattenStep } from '../../../shared/domain/flatten.js';
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
  const KEEP = { onAgentHalt: false, onPortfolioHalt: false };
  const profiles = DEFAULT_AGENTS.map((p) =>
    p.agentId === 'lagllama-degen' ? { ...p, flatten: undefined } : p.agentId === 'qwen-7b' ? { ...p, flatten: { onAgentHalt: false, onPortfolioHalt: true } } : { ...p, flatten: KEEP },
  );

  it('flattens the default agents on every halt, and a profile that says nothing', () => {
    expect(DEFAULT_AGENTS.every((p) => p.flatten?.onAgentHalt && p.flatten.onPortfolioHalt)).toBe(true);
    expect(flattensForHalts([{ scope: 'portfolio', episodeId: 'p@t', reason: 'r' }], DEFAULT_AGENTS)[0]?.agentIds).toEqual(DEFAULT_AGENTS.map((p) => p.agentId));
    expect(haltFlattens({})).toEqual(FLATTEN_ON_EVERY_HALT);
  });

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

describe('nextFlattenStep', () => {
  const policy = { retryFirstMs: 30_000, alertAfterMs: 300_000 };
  const standing = { startedAt: 0, tries: 1, lastTryAt: 0, inFlight: false, alerted: false };

  it('tries again once the last try has ended and its delay passed, twice as long each time, at most 5 minutes', () => {
    expect(nextFlattenStep(standing, 29_999, policy).retry).toBe(false);
    expect(nextFlattenStep(standing, 30_000, policy).retry).toBe(true);
    expect(nextFlattenStep({ ...standing, inFlight: true }, 60_000, policy).retry).toBe(false);
    expect([1, 2, 3, 4, 5, 6, 7].map((tries) => flattenRetryDelayMs(tries, policy))).toEqual([30_000, 60_000, 120_000, 240_000, 300_000, 300_000, 300_000]);
    expect(flattenRetryDelayMs(3, { retryFirstMs: 600_000, alertAfterMs: 1 })).toBe(600_000);
  });

  it('alerts once, past the bound from its start', () => {
    expect(nextFlattenStep(standing, 299_999, policy).alert).toBe(false);
    expect(nextFlattenStep(standing, 300_000, policy).alert).toBe(true);
    expect(nextFlattenStep({ ...standing, alerted: true }, 900_000, policy).alert).toBe(false);
  });

  it('names each try of a position apart, the plan keeping the ids it always had', () => {
    const ids = [0, 1, 2].map((attempt) => flattenSignalId('halt-x', 'qwen-7b', 'BTCUSDT', attempt));
    expect(new Set(ids).size).toBe(3);
    expect(ids[0]).toBe(flattenSignalId('halt-x', 'qwen-7b', 'BTCUSDT'));
  });
});
