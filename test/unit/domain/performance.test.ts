import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { USD } from '../../../shared/domain/money.js';
import { dailyReturns, sharpeRatio, sortinoRatio, winRate } from '../../../shared/domain/performance.js';

/** Daily returns within ±20%, in whole basis points. */
const dailyReturnsArb = fc.array(
  fc.integer({ min: -2_000, max: 2_000 }).map((bp) => bp / 10_000),
  { minLength: 2, maxLength: 60 },
);
// From 1 USD up: a swing of ten orders of magnitude would leave 1 + r with too few exact digits to compound back.
const positiveEquity = fc.integer({ min: USD, max: 10_000_000 * USD });

describe('dailyReturns', () => {
  it('measures the first day against the start equity and each next day against the day before', () => {
    expect(dailyReturns([110 * USD, 99 * USD, 99 * USD], 100 * USD)).toEqual([0.1, -0.1, 0]);
  });

  it('gives no return for a day that starts at zero or negative equity', () => {
    expect(dailyReturns([0, 50 * USD, 60 * USD], 100 * USD)).toEqual([-1, 0.2]);
    expect(dailyReturns([10 * USD], 0)).toEqual([]);
    expect(dailyReturns([], 100 * USD)).toEqual([]);
  });

  it('compounds back to the last day’s equity', () => {
    fc.assert(
      fc.property(positiveEquity, fc.array(positiveEquity, { minLength: 1, maxLength: 30 }), (start, days) => {
        const growth = dailyReturns(days, start).reduce((product, r) => product * (1 + r), 1);
        expect(growth / ((days.at(-1) as number) / start)).toBeCloseTo(1, 6);
      }),
    );
  });
});

describe('sharpeRatio', () => {
  it('annualizes mean over sample standard deviation with √365', () => {
    // mean 0.005, sample variance 0.0005 / 3: 0.005 / √(0.0005/3) × √365 = √219 / 2.
    expect(sharpeRatio([0.01, -0.01, 0.02, 0])).toBeCloseTo(Math.sqrt(219) / 2, 12);
  });

  it('is null with fewer than two returns or identical returns', () => {
    expect(sharpeRatio([])).toBeNull();
    expect(sharpeRatio([0.01])).toBeNull();
    expect(sharpeRatio([0.1, 0.1, 0.1])).toBeNull();
  });
});

describe('sortinoRatio', () => {
  it('divides by the root mean square of the losing days over all days', () => {
    // Downside √(0.01² / 4) = 0.005, equal to the mean: the ratio is √365 itself.
    expect(sortinoRatio([0.01, -0.01, 0.02, 0])).toBeCloseTo(Math.sqrt(365), 12);
  });

  it('is null with fewer than two returns or without a losing day', () => {
    expect(sortinoRatio([-0.01])).toBeNull();
    expect(sortinoRatio([0.01, 0.02, 0])).toBeNull();
  });
});

describe('sharpeRatio and sortinoRatio', () => {
  it.each([sharpeRatio, sortinoRatio].map((ratio) => ({ name: ratio.name, ratio })))(
    '$name does not change when every return is scaled by the same positive factor',
    ({ ratio }) => {
      fc.assert(
        fc.property(dailyReturnsArb, fc.integer({ min: 1, max: 1_000 }), (returns, factor) => {
          const scaled = ratio(returns.map((r) => (r * factor) / 100));
          const unscaled = ratio(returns);
          if (unscaled === null) expect(scaled).toBeNull();
          else expect(Math.abs((scaled as number) - unscaled)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(unscaled)));
        }),
      );
    },
  );
});

describe('winRate', () => {
  it('counts closing fills with positive net PnL; break-even is not a win', () => {
    expect(winRate([5 * USD, -3 * USD, 0, 7 * USD])).toBe(0.5);
  });

  it('is null without any closing fill', () => {
    expect(winRate([])).toBeNull();
  });
});
