import { decimalToUnits, parseDecimal, toSafeInteger, unitsToDecimal } from './decimal.js';

/**
 * Money is integer micro-USD everywhere in storage and the domain. Decimal strings from the
 * outside world are converted exactly (see decimal.ts), never through a float.
 */

/** One USD in micro-USD: write amounts as `50 * USD`. */
export const USD = 1_000_000;
const MICRO_SCALE = 6;

/** Exact USD decimal string → micro-USD; a seventh significant decimal is refused, not rounded. */
export function usdToMicros(usd: string): number {
  return toSafeInteger(decimalToUnits(usd, MICRO_SCALE, 'exact', 'USD amount'), 'USD amount');
}

/**
 * A venue's USD figure → micro-USD, rounded to the nearest micro, halves up. Venues quote prices
 * and commissions finer than a micro ("0.01548949" USDT); where their figure is the truth and
 * not our input, it is rounded rather than refused.
 */
export function venueUsdToMicros(usd: string): number {
  return toSafeInteger(decimalToUnits(usd, MICRO_SCALE, 'half-up'), 'USD amount');
}

/** A venue's signed USD figure (funding paid is negative) → micro-USD, rounded to the nearest micro. */
export function signedVenueUsdToMicros(usd: string): number {
  return usd.startsWith('-') ? -venueUsdToMicros(usd.slice(1)) : venueUsdToMicros(usd);
}

/** micro-USD → the shortest decimal USD string a venue accepts: 23_142_310_000 → "23142.31". */
export function microsToDecimal(micros: number): string {
  if (!Number.isSafeInteger(micros)) throw new RangeError(`micro-USD must be a safe integer, got ${micros}`);
  return unitsToDecimal(BigInt(micros), MICRO_SCALE);
}

/** micro-USD → a USD string with exactly 6 decimals for people and logs ("-12.500000"). */
export function microsToUsd(micros: number): string {
  const sign = micros < 0 ? '-' : '';
  const abs = BigInt(Math.abs(micros));
  const whole = abs / 1_000_000n;
  const fraction = (abs % 1_000_000n).toString().padStart(MICRO_SCALE, '0');
  return `${sign}${whole}.${fraction}`;
}

/** ceil(a / b) for non-negative integers, exact for all safe integers. */
export function ceilDiv(numerator: number, denominator: number): number {
  if (!Number.isSafeInteger(numerator) || !Number.isSafeInteger(denominator) || numerator < 0 || denominator <= 0) {
    throw new RangeError(`ceilDiv needs a non-negative safe integer over a positive one, got ${numerator}/${denominator}`);
  }
  return Number((BigInt(numerator) + BigInt(denominator) - 1n) / BigInt(denominator));
}

/** A fee of `ppm` parts per million on a notional, rounded up (venues round fees against the trader). */
export function feeMicros(notional: number, ppm: number): number {
  return toSafeInteger((BigInt(notional) * BigInt(ppm) + 999_999n) / 1_000_000n, 'fee');
}

/** Stablecoins USDⓈ-M venues charge commission in: valued 1:1 as USD. */
export const USD_STABLE_ASSETS: ReadonlySet<string> = new Set(['USDT', 'USDC', 'BUSD', 'FDUSD']);

/** A trade's commission in micro-USD: a fee charged, or a rebate (maker) credited; never both. */
export interface CommissionMicros {
  readonly feeMicros: number;
  readonly rebateMicros: number;
}

/**
 * A venue's signed commission of `amount` units of its asset (negative: a rebate), valued at
 * `assetPriceMicros` per unit (1 USD for a stablecoin; the venue's price of BNB, say, at the
 * trade's time). A fee rounds up and a rebate down: against the trader, as venues round.
 */
export function commissionMicros(amount: string, assetPriceMicros: number): CommissionMicros {
  const rebate = amount.startsWith('-');
  const value = notionalMicros(rebate ? amount.slice(1) : amount, assetPriceMicros);
  if (!rebate) return { feeMicros: value, rebateMicros: 0 };
  const { units, scale } = parseDecimal(amount.slice(1));
  return { feeMicros: 0, rebateMicros: toSafeInteger((units * BigInt(assetPriceMicros)) / 10n ** BigInt(scale), 'rebate') };
}

/**
 * Notional of `quantity` (decimal string) at `priceMicros`, rounded up to the next micro-USD:
 * rounding up keeps margin checks conservative.
 */
export function notionalMicros(quantity: string, priceMicros: number): number {
  const { units, scale } = parseDecimal(quantity);
  const divisor = 10n ** BigInt(scale);
  const product = units * BigInt(priceMicros);
  return toSafeInteger((product + divisor - 1n) / divisor, 'notional');
}
