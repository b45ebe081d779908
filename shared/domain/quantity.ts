import { DECIMAL_PATTERN } from './money.js';

/**
 * Quantities of an asset, held as integer "atoms" of 1e-8 (the finest step size any supported
 * venue uses), so fills add up exactly. Decimal strings at the edges, atoms inside.
 */

export const ATOMS_PER_UNIT = 100_000_000;
const SCALE = 8;

/** "0.015" → 1_500_000 atoms. More than 8 decimals is refused rather than rounded. */
export function quantityToAtoms(quantity: string): number {
  if (!DECIMAL_PATTERN.test(quantity)) throw new RangeError(`not a non-negative decimal quantity: ${JSON.stringify(quantity)}`);
  const [whole = '0', fraction = ''] = quantity.split('.');
  const trimmed = fraction.replace(/0+$/, '');
  if (trimmed.length > SCALE) throw new RangeError(`quantity has more than ${SCALE} decimals: ${quantity}`);
  const atoms = BigInt(whole) * BigInt(ATOMS_PER_UNIT) + BigInt(trimmed.padEnd(SCALE, '0') || '0');
  if (atoms > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`quantity too large: ${quantity}`);
  return Number(atoms);
}

/** 1_500_000 atoms → "0.015" (no trailing zeros; "0" for zero). */
export function atomsToQuantity(atoms: number): string {
  if (!Number.isSafeInteger(atoms) || atoms < 0) throw new RangeError(`atoms must be a non-negative safe integer, got ${atoms}`);
  const whole = Math.floor(atoms / ATOMS_PER_UNIT);
  const fraction = String(atoms % ATOMS_PER_UNIT).padStart(SCALE, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : String(whole);
}

/** Notional in micro-USD of `atoms` at `priceMicros`, rounded down (exact BigInt arithmetic). */
export function notionalOfAtoms(atoms: number, priceMicros: number): number {
  return Number((BigInt(atoms) * BigInt(priceMicros)) / BigInt(ATOMS_PER_UNIT));
}

/** The largest multiple of `stepAtoms` not above `atoms`. */
export function floorToStep(atoms: number, stepAtoms: number): number {
  if (stepAtoms <= 0) throw new RangeError('step must be positive');
  return atoms - (atoms % stepAtoms);
}
