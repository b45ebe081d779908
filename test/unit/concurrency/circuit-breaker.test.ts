import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../../shared/concurrency/circuit-breaker.js';

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

describe('CircuitBreaker', () => {
  it('starts closed and lets calls through', () => {
    const breaker = new CircuitBreaker(3, 10_000, manualClock().now);
    expect(breaker.state).toBe('closed');
    expect(breaker.allows()).toBe(true);
  });

  it('stays closed below the threshold of consecutive failures', () => {
    const breaker = new CircuitBreaker(3, 10_000, manualClock().now);
    breaker.failure();
    breaker.failure();
    expect(breaker.state).toBe('closed');
    expect(breaker.allows()).toBe(true);
  });

  it('opens at the threshold and stops calls for the cooldown', () => {
    const clock = manualClock();
    const breaker = new CircuitBreaker(3, 10_000, clock.now);
    breaker.failure();
    breaker.failure();
    breaker.failure();
    expect(breaker.state).toBe('open');
    expect(breaker.allows()).toBe(false);
    clock.advance(9_999);
    expect(breaker.state).toBe('open');
    expect(breaker.allows()).toBe(false);
  });

  it('counts consecutive failures only: a success in between starts the count again', () => {
    const breaker = new CircuitBreaker(3, 10_000, manualClock().now);
    breaker.failure();
    breaker.failure();
    breaker.success();
    breaker.failure();
    breaker.failure();
    expect(breaker.state).toBe('closed');
    breaker.failure();
    expect(breaker.state).toBe('open');
  });

  it('lets a trial call through once the cooldown has passed (half open)', () => {
    const clock = manualClock();
    const breaker = new CircuitBreaker(2, 10_000, clock.now);
    breaker.failure();
    breaker.failure();
    clock.advance(10_000);
    expect(breaker.state).toBe('half_open');
    expect(breaker.allows()).toBe(true);
  });

  it('closes when the trial call succeeds, and then needs the full threshold to open again', () => {
    const clock = manualClock();
    const breaker = new CircuitBreaker(2, 10_000, clock.now);
    breaker.failure();
    breaker.failure();
    clock.advance(10_000);
    breaker.success();
    expect(breaker.state).toBe('closed');
    breaker.failure();
    expect(breaker.state).toBe('closed');
    breaker.failure();
    expect(breaker.state).toBe('open');
  });

  it('reopens at once, for a whole new cooldown, when the trial call fails', () => {
    const clock = manualClock();
    const breaker = new CircuitBreaker(5, 10_000, clock.now);
    for (let i = 0; i < 5; i += 1) breaker.failure();
    clock.advance(15_000);
    expect(breaker.state).toBe('half_open');
    breaker.failure();
    expect(breaker.state).toBe('open');
    expect(breaker.allows()).toBe(false);
    clock.advance(9_999);
    expect(breaker.state).toBe('open');
    clock.advance(1);
    expect(breaker.state).toBe('half_open');
  });

  it('opens on the first failure with a threshold of one', () => {
    const breaker = new CircuitBreaker(1, 500, manualClock().now);
    breaker.failure();
    expect(breaker.state).toBe('open');
  });

  it('lets only one trial call through while its outcome is unknown', () => {
    const clock = manualClock(0);
    const breaker = new CircuitBreaker(1, 1_000, clock.now);
    breaker.failure();
    clock.advance(1_000);
    expect([breaker.allows(), breaker.allows(), breaker.allows()]).toEqual([true, false, false]);
    // A trial that never reports (its caller died) does not hold the circuit shut forever.
    clock.advance(1_000);
    expect(breaker.allows()).toBe(true);
    breaker.success();
    expect([breaker.allows(), breaker.allows()]).toEqual([true, true]);
  });

  it('reads the wall clock when given none', () => {
    const breaker = new CircuitBreaker(1, 60_000);
    breaker.failure();
    expect(breaker.state).toBe('open');
    expect(breaker.allows()).toBe(false);
  });

  it('is closed exactly while fewer than threshold failures have run since the last success, and shut for the cooldown after each such failure', () => {
    type Step = { kind: 'failure' } | { kind: 'success' } | { kind: 'wait'; ms: number };
    const step = fc.oneof(
      fc.constant<Step>({ kind: 'failure' }),
      fc.constant<Step>({ kind: 'success' }),
      fc.integer({ min: 0, max: 2_000 }).map<Step>((ms) => ({ kind: 'wait', ms })),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 3_000 }), fc.array(step, { maxLength: 60 }), (threshold, cooldown, steps) => {
        const clock = manualClock(0);
        const breaker = new CircuitBreaker(threshold, cooldown, clock.now);
        let consecutive = 0;
        let lastFailureAt = Number.NEGATIVE_INFINITY;
        let trialAt: number | undefined;
        for (const s of steps) {
          if (s.kind === 'wait') clock.advance(s.ms);
          else if (s.kind === 'success') {
            breaker.success();
            consecutive = 0;
            trialAt = undefined;
          } else {
            breaker.failure();
            consecutive += 1;
            lastFailureAt = clock.now();
            trialAt = undefined;
          }
          expect(breaker.state === 'closed').toBe(consecutive < threshold);
          if (consecutive >= threshold) {
            // Every failure from the threshold on (re)opens it: no call goes out for a cooldown after
            // it; then one trial call, and another only if the first reports nothing for a cooldown.
            const cooled = clock.now() - lastFailureAt >= cooldown;
            expect(breaker.state).toBe(cooled ? 'half_open' : 'open');
            const trialDue = cooled && (trialAt === undefined || clock.now() - trialAt >= cooldown);
            expect(breaker.allows()).toBe(trialDue);
            if (trialDue) trialAt = clock.now();
          } else {
            expect(breaker.allows()).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
