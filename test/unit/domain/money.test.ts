import { describe, expect, it } from 'vitest';
import { ceilDiv, microsToUsd, notionalMicros, usdToMicros } from '../../../shared/domain/money.js';

describe('money in micro-USD', () => {
  it('parses USD decimals exactly', () => {
    expect(usdToMicros('1000')).toBe(1_000_000_000);
    expect(usdToMicros('0.000001')).toBe(1);
    expect(usdToMicros('23142.31')).toBe(23_142_310_000);
  });

  it('refuses what it cannot represent instead of rounding', () => {
    expect(() => usdToMicros('0.0000001')).toThrow(/more than 6 decimals/);
    expect(() => usdToMicros('-1')).toThrow(RangeError);
    expect(() => usdToMicros('1e3')).toThrow(RangeError);
  });

  it('formats micros back to USD', () => {
    expect(microsToUsd(1_500_000)).toBe('1.500000');
    expect(microsToUsd(-12_500_000)).toBe('-12.500000');
    expect(microsToUsd(7)).toBe('0.000007');
  });

  it('rounds notional and margin up, never in the agent’s favour', () => {
    expect(notionalMicros('0.015', 23_142_310_000)).toBe(347_134_650); // 347.13465 USD
    expect(notionalMicros('0.0000001', 1)).toBe(1);
    expect(ceilDiv(10, 3)).toBe(4);
    expect(ceilDiv(9, 3)).toBe(3);
    expect(ceilDiv(0, 5)).toBe(0);
  });
});
