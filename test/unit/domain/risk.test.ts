import { describe, expect, it } from 'vitest';
import { type AgentExposure, type AlertCondition, type AlertEpisode, RiskLimits, episodeTransitions, evaluateRisk, rearmHalts } from '../../../shared/domain/risk.js';
import { USD } from '../../../shared/domain/money.js';

const limits = RiskLimits.parse({});
const at = new Date('2023-03-10T05:00:00Z');

function agent(overrides: Partial<AgentExposure> = {}): AgentExposure {
  return { agentId: 'a', allocationMicros: 1_000 * USD, reservedMicros: 0, inUseMicros: 0, realizedPnlMicros: 0, unrealizedPnlMicros: 0, ...overrides };
}

describe('evaluateRisk', () => {
  it('starts the peak at the first evaluation and never lowers it', () => {
    const first = evaluateRisk([agent({ unrealizedPnlMicros: 100 * USD })], {}, limits, at);
    expect(first.memory.a?.peakEquityMicros).toBe(1_100 * USD);
    const second = evaluateRisk([agent({ unrealizedPnlMicros: -340 * USD })], first.memory, limits, new Date(at.getTime() + 60_000));
    expect(second.memory.a?.peakEquityMicros).toBe(1_100 * USD);
    expect(second.snapshots.find((s) => s.scope === 'a')?.drawdownFraction).toBeCloseTo(440 / 1_100, 12);
  });

  it('raises a warning above 95% utilization, and halting conditions for drawdown and daily loss', () => {
    const prior = evaluateRisk([agent(), agent({ agentId: 'b' })], {}, limits, at).memory;
    const { conditions } = evaluateRisk(
      [agent({ reservedMicros: 500 * USD, inUseMicros: 451 * USD, unrealizedPnlMicros: -401 * USD }), agent({ agentId: 'b', unrealizedPnlMicros: -700 * USD })],
      prior,
      limits,
      new Date(at.getTime() + 60_000),
    );
    expect(conditions.map((c) => `${c.key} ${c.severity} ${c.halts ?? '-'}`).sort()).toEqual([
      'agent_drawdown:a critical a',
      'agent_drawdown:b critical b',
      'daily_loss:a critical a',
      'daily_loss:b critical b',
      'margin_utilization:a warning -',
      'portfolio_drawdown:portfolio critical portfolio',
    ]);
  });

  it('keeps an open episode open until the value falls below threshold × resolveRatio', () => {
    const prior = evaluateRisk([agent()], {}, limits, at).memory;
    const later = new Date(at.getTime() + 60_000);
    const at24 = [agent({ unrealizedPnlMicros: -240 * USD })];
    const key = 'portfolio_drawdown:portfolio';
    expect(evaluateRisk(at24, prior, limits, later).conditions.some((c) => c.key === key)).toBe(false);
    expect(evaluateRisk(at24, prior, limits, later, new Set([key])).conditions.some((c) => c.key === key)).toBe(true);
    const at22 = [agent({ unrealizedPnlMicros: -220 * USD })];
    expect(evaluateRisk(at22, prior, limits, later, new Set([key])).conditions.some((c) => c.key === key)).toBe(false);
  });
});

describe('episodeTransitions', () => {
  it('opens once, stays quiet while the condition holds, resolves once', () => {
    const condition = { key: 'k', limitType: 'portfolio_drawdown' as const, scope: 'portfolio', severity: 'critical' as const, value: 0.3, threshold: 0.25, message: 'm' };
    const [opened] = episodeTransitions([], [condition], at);
    expect(opened).toMatchObject({ transition: 'open', episode: { episodeId: 'k@2023-03-10T05:00:00.000Z', state: 'open' } });
    const open = [opened?.episode as AlertEpisode];
    expect(episodeTransitions(open, [condition], new Date(at.getTime() + 60_000))).toEqual([]);
    expect(episodeTransitions(open, [], new Date(at.getTime() + 120_000))).toMatchObject([{ transition: 'resolve', episode: { state: 'resolved', resolvedAt: '2023-03-10T05:02:00.000Z' } }]);
  });
});

describe('rearmHalts: a resume never disarms a halt', () => {
  const at = new Date('2026-03-02T10:00:00Z');
  const condition = (value: number): AlertCondition => ({
    key: 'agent_drawdown:a',
    limitType: 'agent_drawdown',
    scope: 'a',
    severity: 'critical',
    halts: 'a',
    value,
    threshold: 0.4,
    message: `agent a drawdown ${value}`,
  });
  const episode: AlertEpisode = {
    episodeId: 'agent_drawdown:a@2026-03-02T09:00:00.000Z',
    key: 'agent_drawdown:a',
    limitType: 'agent_drawdown',
    scope: 'a',
    severity: 'critical',
    state: 'open',
    openedAt: '2026-03-02T09:00:00.000Z',
    message: 'agent a drawdown 0.41',
    value: 0.41,
    threshold: 0.4,
  };

  it('does nothing while the scope stays halted, or for a condition that halts nothing', () => {
    expect(rearmHalts([episode], [condition(0.9)], () => false, 0.05, at)).toEqual([]);
    expect(rearmHalts([episode], [{ ...condition(0.9), halts: undefined }], () => true, 0.05, at)).toEqual([]);
  });

  it('re-arms at the value when trading resumed plus the step, then halts again at that level under a new episode', () => {
    const [rearm] = rearmHalts([episode], [condition(0.43)], () => true, 0.05, at);
    expect(rearm).toMatchObject({ kind: 'rearm', episode: { episodeId: episode.episodeId } });
    const armed = (rearm as { episode: AlertEpisode }).episode;
    expect(armed.rearmAt).toBeCloseTo(0.48, 12);
    expect(rearmHalts([armed], [condition(0.47)], () => true, 0.05, at)).toEqual([]);
    const [rehalt] = rearmHalts([armed], [condition(0.5)], () => true, 0.05, at);
    expect(rehalt).toMatchObject({
      kind: 'rehalt',
      scope: 'a',
      resolved: { episodeId: episode.episodeId, state: 'resolved', resolvedAt: at.toISOString() },
      opened: { episodeId: `agent_drawdown:a@${at.toISOString()}`, state: 'open', value: 0.5, message: expect.stringContaining('halted again at 48.00%') },
    });
  });
});
