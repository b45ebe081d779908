/**
 * Decimal strings, the one way numbers cross Sapphire's edges (venue prices and quantities, USD
 * amounts in webhooks): parsed into a BigInt of units at a scale and formatted back, never
 * through a float.
 */

/** A non-negative decimal written without exponent: "1000", "0.25", "23142.31". */
export const DECIMAL_PATTERN = /^(0|[1-9]\d*)(\.\d+)?$/;
/** The same with an optional minus: what venues send for PnL and commissions that can be rebates. */
export const SIGNED_DECIMAL_PATTERN = /^-?(0|[1-9]\d*)(\.\d+)?$/;

export interface ScaledDecimal {
  /** The digits as one integer: "12.50" → 1250n. */
  readonly units: bigint;
  /** Digits after the point: "12.50" → 2. */
  readonly scale: number;
}

export function parseDecimal(text: string): ScaledDecimal {
  if (!DECIMAL_PATTERN.test(text)) throw new RangeError(`not a non-negative decimal: ${JSON.stringify(text.slice(0, 64))}`);
  const [whole = '0', fraction = ''] = text.split('.');
  return { units: BigInt(whole + fraction), scale: fraction.length };
}

/**
 * `text` as integer units of 10^-scale. `exact` refuses digits beyond the scale (other than
 * trailing zeros) rather than dropping them; `half-up` rounds to the nearest unit; `down` drops them.
 */
export function decimalToUnits(text: string, scale: number, rounding: 'exact' | 'half-up' | 'down', what = 'decimal'): bigint {
  const parsed = parseDecimal(text);
  if (parsed.scale <= scale) return parsed.units * 10n ** BigInt(scale - parsed.scale);
  const divisor = 10n ** BigInt(parsed.scale - scale);
  const kept = parsed.units / divisor;
  const dropped = parsed.units % divisor;
  if (rounding === 'exact') {
    if (dropped !== 0n) throw new RangeError(`${what} has more than ${scale} decimals: ${text.slice(0, 64)}`);
    return kept;
  }
  if (rounding === 'down') return kept;
  return dropped * 2n >= divisor ? kept + 1n : kept;
}

/** Integer units of 10^-scale → the shortest decimal string: (1500000n, 8) → "0.015", 0n → "0". */
export function unitsToDecimal(units: bigint, scale: number): string {
  if (units < 0n) throw new RangeError(`a decimal string here is non-negative, got ${units}`);
  const digits = units.toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale).replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : whole;
}

/** The shortest spelling of a decimal: "0.00100000" → "0.001", "5.0" → "5". */
export function canonicalDecimal(text: string): string {
  const { units, scale } = parseDecimal(text);
  return unitsToDecimal(units, scale);
}

/** A BigInt that must fit a JavaScript number exactly. */
export function toSafeInteger(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${what} is too large`);
  return Number(value);
}
