import { describe, expect, it } from 'vitest';
import { USD } from '../../shared/domain/money.js';
import { type AgentExposure, AlertEpisode, RiskLimits } from '../../shared/domain/risk.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { COLLECTIONS } from '../../shared/firestore/collections.js';
import { RiskBook } from '../../shared/firestore/risk-book.js';
import { changeTradingState, tradingStateOf } from '../../shared/firestore/trading-states.js';
import { isolatedProject } from '../support/stack.js';

/**
 * Halts stay armed after a resume (agent drawdown and the day's loss alike): an operator resumes an agent halted at 41 % drawdown while its
 * episode stays open; the next evaluation re-arms it 5 points deeper; 80 % drawdown halts it again,
 * under a new episode, which the operator's next resume re-arms in turn.
 */

const db = firestoreFor(isolatedProject('halt-rearm'));
const book = new RiskBook(db);
const limits = RiskLimits.parse({});
const T0 = Date.parse('2026-03-02T10:00:00Z');
const at = (minute: number) => new Date(T0 + minute * 60_000);
const exposure = (agentId: string, allocationUsd: number, realizedUsd: number): AgentExposure => ({
  agentId,
  allocationMicros: allocationUsd * USD,
  reservedMicros: 0,
  inUseMicros: 0,
  realizedPnlMicros: realizedUsd * USD,
  unrealizedPnlMicros: 0,
});
/** The agent under test, beside a large steady one that keeps the portfolio far from its own halt. */
const agents = (realizedUsd: number) => [exposure('rearm-agent', 1_000, realizedUsd), exposure('steady-agent', 20_000, 0)];
const episodes = async () =>
  (await db.collection(COLLECTIONS.alertEpisodes).where('key', '==', 'agent_drawdown:rearm-agent').get()).docs.map((d) => AlertEpisode.parse(d.data())).sort((a, b) => a.openedAt.localeCompare(b.openedAt));
const resume = (minute: number) => changeTradingState(db, { scope: 'rearm-agent', state: 'active', reason: 'operator checked the book', changedBy: 'operator:alice', at: at(minute) });

describe('halts stay armed after a resume', () => {
  it('halts again when drawdown deepens past its level at resume by the step, under a new episode', async () => {
    await book.evaluate(agents(0), limits, at(0)); // the peak: 1,000 USD
    const first = await book.evaluate(agents(-410), limits, at(1));
    expect(first.halted?.map((h) => h.scope)).toEqual(['rearm-agent']);
    await resume(2);

    // Still 41 %: trading resumed, re-armed at 46 %.
    const resumed = await book.evaluate(agents(-410), limits, at(3));
    expect(resumed.halted).toEqual([]);
    expect(await tradingStateOf(db, 'rearm-agent')).toMatchObject({ state: 'active' });
    expect((await episodes()).map((e) => [e.state, e.rearmAt])).toEqual([['open', 0.41 + limits.rearmStepFraction]]);
    // The audit beside the resume says where each halt stands armed now.
    const audit = (await db.collection(COLLECTIONS.tradingStateChanges).where('scope', '==', 'rearm-agent').get()).docs.map((d) => d.data()).sort((a, b) => `${a.changedAt} ${a.reason}`.localeCompare(`${b.changedAt} ${b.reason}`));
    expect(audit.map((a) => [a.changedBy, a.state, a.reason])).toEqual([
      ['drawdown-evaluator', 'halted', expect.stringContaining('drawdown')],
      ['operator:alice', 'active', 'operator checked the book'],
      ['drawdown-evaluator', 'active', 're-armed after the resume: agent_drawdown halts again at 46.00%'],
      ['drawdown-evaluator', 'active', 're-armed after the resume: daily_loss halts again at 46.00%'],
    ]);

    // 45 %: deeper, but not past the re-arm level.
    expect((await book.evaluate(agents(-450), limits, at(4))).halted).toEqual([]);
    // 80 %: halted again, the old episode resolved and a new one opened.
    const again = await book.evaluate(agents(-800), limits, at(5));
    expect(again.halted?.map((h) => h.scope)).toEqual(['rearm-agent']);
    // The day's loss (41 % of the allocation, past its 20 % halt) was re-armed the same way.
    expect(again.transitions.map((t) => [t.transition, t.episode.key])).toEqual([
      ['resolve', 'agent_drawdown:rearm-agent'],
      ['open', 'agent_drawdown:rearm-agent'],
      ['resolve', 'daily_loss:rearm-agent'],
      ['open', 'daily_loss:rearm-agent'],
    ]);
    expect(await tradingStateOf(db, 'rearm-agent')).toMatchObject({ state: 'halted', changedBy: 'drawdown-evaluator', reason: expect.stringMatching(/halted again at 46\.00%/) });
    const [old, current] = await episodes();
    expect(old).toMatchObject({ state: 'resolved' });
    expect(old?.rearmAt).toBeCloseTo(0.46, 12);
    expect(current).toMatchObject({ state: 'open', value: 0.8 });
    expect(current?.rearmAt).toBeUndefined();

    // A second resume re-arms the new episode from where drawdown stands then: 85 %.
    await resume(6);
    expect((await book.evaluate(agents(-800), limits, at(7))).halted).toEqual([]);
    expect((await book.evaluate(agents(-860), limits, at(8))).halted?.map((h) => h.scope)).toEqual(['rearm-agent']);
  });
});
