import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { USD, ceilDiv, commissionMicros, feeMicros, microsToDecimal, microsToUsd, notionalMicros, usdToMicros, venueUsdToMicros } from '../../../shared/domain/money.js';
import { atomsToQuantity, quantityToAtoms } from '../../../shared/domain/quantity.js';

const anyMicros = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

describe('USD decimal strings → micro-USD', () => {
  it('parses exactly', () => {
    expect(usdToMicros('1000')).toBe(1_000_000_000);
    expect(usdToMicros('0.000001')).toBe(1);
    expect(usdToMicros('23142.31')).toBe(23_142_310_000);
    expect(usdToMicros('5.1000000')).toBe(5_100_000); // trailing zeros beyond a micro lose nothing
  });

  it('refuses what it cannot represent instead of rounding', () => {
    expect(() => usdToMicros('0.0000001')).toThrow(/more than 6 decimals/);
    expect(() => usdToMicros('-1')).toThrow(RangeError);
    expect(() => usdToMicros('1e3')).toThrow(RangeError);
    expect(() => usdToMicros('9007199254.740992')).toThrow(/too large/);
  });

  it('rounds a venue figure finer than a micro to the nearest, halves up', () => {
    expect(venueUsdToMicros('0.01548949')).toBe(15_489);
    expect(venueUsdToMicros('0.0000005')).toBe(1);
    expect(venueUsdToMicros('0.00000049999')).toBe(0);
    expect(venueUsdToMicros('23142.3')).toBe(23_142_300_000);
  });
});

describe('micro-USD → decimal strings', () => {
  it('formats for people with exactly 6 decimals', () => {
    expect(microsToUsd(1_500_000)).toBe('1.500000');
    expect(microsToUsd(-12_500_000)).toBe('-12.500000');
    expect(microsToUsd(7)).toBe('0.000007');
  });

  it('formats for a venue in the shortest exact form', () => {
    expect(microsToDecimal(23_142_310_000)).toBe('23142.31');
    expect(microsToDecimal(100_000)).toBe('0.1');
    expect(microsToDecimal(0)).toBe('0');
    expect(microsToDecimal(Number.MAX_SAFE_INTEGER)).toBe('9007199254.740991');
    expect(() => microsToDecimal(0.5)).toThrow(RangeError);
    expect(() => microsToDecimal(-1)).toThrow(RangeError);
  });

  it('round-trips every safe micro-USD amount through the venue string exactly', () => {
    fc.assert(
      fc.property(anyMicros, (micros) => {
        const text = microsToDecimal(micros);
        expect(text).toMatch(/^(0|[1-9]\d*)(\.\d*[1-9])?$/);
        expect(usdToMicros(text)).toBe(micros);
        expect(venueUsdToMicros(text)).toBe(micros);
        expect(usdToMicros(microsToUsd(micros))).toBe(micros);
      }),
      { numRuns: 5_000 },
    );
  });

  it('round-trips every decimal of at most 6 places back to its shortest spelling', () => {
    const decimal = fc
      .tuple(fc.bigInt({ min: 0n, max: 9_007_199_253n }), fc.stringMatching(/^\d{0,6}$/))
      .map(([whole, fraction]) => (fraction ? `${whole}.${fraction}` : `${whole}`));
    fc.assert(
      fc.property(decimal, (text) => {
        const micros = usdToMicros(text);
        const shortest = text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
        expect(microsToDecimal(micros)).toBe(shortest);
      }),
      { numRuns: 5_000 },
    );
  });
});

describe('quantities in atoms', () => {
  it('round-trips every safe atom count through its decimal string', () => {
    fc.assert(
      fc.property(anyMicros, (atoms) => {
        expect(quantityToAtoms(atomsToQuantity(atoms))).toBe(atoms);
      }),
      { numRuns: 5_000 },
    );
  });

  it('refuses a ninth significant decimal', () => {
    expect(quantityToAtoms('0.015')).toBe(1_500_000);
    expect(quantityToAtoms('0.00100000')).toBe(100_000);
    expect(() => quantityToAtoms('0.000000001')).toThrow(/more than 8 decimals/);
  });
});

describe('rounding against the trader', () => {
  it('rounds notional, margin and fees up', () => {
    expect(notionalMicros('0.015', 23_142_310_000)).toBe(347_134_650); // 347.13465 USD
    expect(notionalMicros('0.0000001', 1)).toBe(1);
    expect(ceilDiv(10, 3)).toBe(4);
    expect(ceilDiv(9, 3)).toBe(3);
    expect(ceilDiv(0, 5)).toBe(0);
    expect(feeMicros(347_134_650, 500)).toBe(173_568); // 0.05% of 347.13465 = 0.17356732…
    expect(feeMicros(2_000_000, 500)).toBe(1_000);
    expect(feeMicros(0, 500)).toBe(0);
  });
});

describe('commissions, from the asset the venue charged them in', () => {
  it('values a stablecoin 1:1 and any other asset at its price, a fee rounded up and a rebate down', () => {
    expect(commissionMicros('0.01548949', USD)).toEqual({ feeMicros: 15_490, rebateMicros: 0 });
    // 0.00033116 BNB at 300 USD = 0.099348 USD.
    expect(commissionMicros('0.00033116', 300 * USD)).toEqual({ feeMicros: 99_348, rebateMicros: 0 });
    expect(commissionMicros('0.000000001', 300 * USD)).toEqual({ feeMicros: 1, rebateMicros: 0 });
    expect(commissionMicros('-0.0000015', USD)).toEqual({ feeMicros: 0, rebateMicros: 1 });
    expect(commissionMicros('-0.01', USD)).toEqual({ feeMicros: 0, rebateMicros: 10_000 });
  });
});
