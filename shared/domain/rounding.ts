import { DECIMAL_PATTERN } from './money.js';

/**
 * Venues quote prices and commissions with more decimals than a micro-USD holds
 * ("0.01548949" USDT). Where the venue's figure is the truth and not our input, we round it
 * to the nearest micro instead of refusing it as usdToMicros does.
 */

/** Non-negative USD decimal string → micro-USD, rounded to the nearest micro, halves up. */
export function decimalUsdToMicrosRounded(usd: string): number {
  if (!DECIMAL_PATTERN.test(usd)) throw new RangeError(`not a non-negative decimal: ${JSON.stringify(usd)}`);
  const [whole = '0', fraction = ''] = usd.split('.');
  const kept = BigInt(whole + fraction.slice(0, 6).padEnd(6, '0'));
  // Only the first dropped digit decides a half-up rounding.
  const roundUp = (fraction[6] ?? '0') >= '5';
  const micros = roundUp ? kept + 1n : kept;
  if (micros > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`USD amount too large: ${usd}`);
  return Number(micros);
}
