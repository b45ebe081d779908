/**
 * Money is integer micro-USD (1 USD = 1,000,000 micros) everywhere in storage and the domain.
 * Decimal strings from the outside world are parsed exactly, never through a float.
 */

/** A non-negative decimal written without exponent: "1000", "0.25", "23142.31". */
export const DECIMAL_PATTERN = /^(0|[1-9]\d*)(\.\d+)?$/;

interface ScaledDecimal {
  readonly units: bigint;
  readonly scale: number;
}

function parseDecimal(text: string): ScaledDecimal {
  if (!DECIMAL_PATTERN.test(text)) throw new RangeError(`not a non-negative decimal: ${JSON.stringify(text)}`);
  const [whole = '0', fraction = ''] = text.split('.');
  return { units: BigInt(whole + fraction), scale: fraction.length };
}

function toSafeInteger(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${what} is too large`);
  return Number(value);
}

/** Exact USD decimal string → micro-USD; more than 6 decimals is refused rather than rounded. */
export function usdToMicros(usd: string): number {
  const { units, scale } = parseDecimal(usd);
  if (scale > 6) throw new RangeError(`USD amount has more than 6 decimals: ${usd}`);
  return toSafeInteger(units * 10n ** BigInt(6 - scale), 'USD amount');
}

/** micro-USD → a decimal USD string with exactly 6 decimals ("-12.500000"). */
export function microsToUsd(micros: number): string {
  const sign = micros < 0 ? '-' : '';
  const abs = BigInt(Math.abs(micros));
  const whole = abs / 1_000_000n;
  const fraction = (abs % 1_000_000n).toString().padStart(6, '0');
  return `${sign}${whole}.${fraction}`;
}

/** ceil(a / b) for non-negative integers, exact for all safe integers. */
export function ceilDiv(numerator: number, denominator: number): number {
  if (!Number.isSafeInteger(numerator) || !Number.isSafeInteger(denominator) || numerator < 0 || denominator <= 0) {
    throw new RangeError(`ceilDiv needs a non-negative safe integer over a positive one, got ${numerator}/${denominator}`);
  }
  return Number((BigInt(numerator) + BigInt(denominator) - 1n) / BigInt(denominator));
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
