import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../shared/concurrency/token-bucket.js';

describe('TokenBucket', () => {
  it('lets a burst through at once, then spaces events at its rate', () => {
    const bucket = new TokenBucket<string>(5, 3);
    expect([0, 0, 0, 0, 0].map((t) => bucket.reserve('k', t))).toEqual([0, 0, 0, 200, 400]);
    expect(bucket.reserve('other', 0)).toBe(0);
  });

  it('never allows more than burst + rate events in any one-second window', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 300 }), (gaps) => {
        const bucket = new TokenBucket<string>(6, 4);
        // Callers arrive after the given gaps and proceed once their token is valid.
        const times: number[] = [];
        let now = 0;
        for (const gap of gaps) {
          now += gap;
          const at = now + bucket.reserve('k', now);
          times.push(at);
          now = at; // the caller waits for its token before asking again
        }
        for (const start of times) expect(times.filter((t) => t >= start && t < start + 1_000).length).toBeLessThanOrEqual(10);
      }),
    );
  });
});
