import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capRefusal, promotionDecision, recentWindow, runStatusOfJob, trainingRunId, trainingWindowAt } from '../../../shared/domain/training.js';
import { staggeredCron } from '../../../triggers/manifest.js';

const WEEKLY = { periodDays: 7, lookbackDays: 28 };
const loss = (value: number) => ({ name: 'eval_loss', value, higherIsBetter: false });

describe('trainingWindowAt', () => {
  it('ends a weekly window on the last Monday 00:00 UTC and looks back four weeks', () => {
    const window = trainingWindowAt(new Date('2023-03-15T13:37:00Z'), WEEKLY); // a Wednesday
    expect(window.to.toISOString()).toBe('2023-03-13T00:00:00.000Z');
    expect(window.from.toISOString()).toBe('2023-02-13T00:00:00.000Z');
  });

  it('names the same window, so the same run, for every kickoff within a period', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7 * 24 * 60 - 1 }), (minutes) => {
        const at = new Date(Date.parse('2023-03-13T00:00:00Z') + minutes * 60_000);
        expect(trainingRunId('qwen-7b', trainingWindowAt(at, WEEKLY))).toBe('qwen-7b-202303130000');
      }),
    );
  });
});

describe('recentWindow', () => {
  it('ends at the start of the current hour', () => {
    const window = recentWindow(new Date('2023-03-10T03:59:59Z'), 1);
    expect([window.from.toISOString(), window.to.toISOString()]).toEqual(['2023-03-09T03:00:00.000Z', '2023-03-10T03:00:00.000Z']);
  });
});

describe('runStatusOfJob', () => {
  it.each([
    ['JOB_STATE_QUEUED', 'pending'],
    ['JOB_STATE_PENDING', 'pending'],
    ['JOB_STATE_RUNNING', 'running'],
    ['JOB_STATE_SUCCEEDED', 'succeeded'],
    ['JOB_STATE_FAILED', 'failed'],
    ['JOB_STATE_EXPIRED', 'failed'],
    ['JOB_STATE_CANCELLING', 'cancelled'],
    ['JOB_STATE_CANCELLED', 'cancelled'],
  ])('maps %s to %s', (state, status) => {
    expect(runStatusOfJob(state)).toBe(status);
  });
});

describe('capRefusal', () => {
  const caps = { maxConcurrentJobs: 2, maxRunsPerAgentPerWeek: 1 };
  it('lets a job start below both caps', () => expect(capRefusal(caps, 1, 0)).toBeUndefined());
  it('refuses at the global cap on concurrent GPU jobs', () => expect(capRefusal(caps, 2, 0)).toBe('2 training jobs already active (at most 2 at once)'));
  it("refuses at the agent's weekly cap", () => expect(capRefusal(caps, 0, 1)).toBe('1 jobs for this agent in the last 7 days (at most 1)'));
});

describe('promotionDecision', () => {
  it('promotes any model when none serves', () => expect(promotionDecision(loss(2), undefined, 0.02)).toMatchObject({ promote: true }));
  it('promotes a lower loss that beats the serving one by more than the margin', () => expect(promotionDecision(loss(0.9), loss(1), 0.02).promote).toBe(true));
  it('holds back a lower loss within the margin', () => expect(promotionDecision(loss(0.99), loss(1), 0.02).promote).toBe(false));
  it('holds back a worse model', () => expect(promotionDecision(loss(1.1), loss(1), 0.02).promote).toBe(false));
  it('reads higher-is-better metrics the other way', () => {
    const accuracy = (value: number) => ({ name: 'decision_accuracy', value, higherIsBetter: true });
    expect(promotionDecision(accuracy(0.6), accuracy(0.5), 0.02).promote).toBe(true);
    expect(promotionDecision(accuracy(0.5), accuracy(0.6), 0.02).promote).toBe(false);
  });
  it('refuses to compare different metrics', () => expect(promotionDecision(loss(0.1), { name: 'crps', value: 1, higherIsBetter: false }, 0.02)).toMatchObject({ promote: false, reason: expect.stringMatching(/metrics differ/) }));
});

describe('staggeredCron', () => {
  it('spaces the agents of a weekly schedule 20 minutes apart, across the hour', () => {
    expect([0, 1, 2, 3].map((i) => staggeredCron('0 3 * * 1', i, 20))).toEqual(['0 3 * * 1', '20 3 * * 1', '40 3 * * 1', '0 4 * * 1']);
  });
});
