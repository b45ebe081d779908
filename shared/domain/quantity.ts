import { decimalToUnits, toSafeInteger, unitsToDecimal } from './decimal.js';

/**
 * Quantities of an asset, held as integer "atoms" of 1e-8 (the finest step size any supported
 * venue uses), so fills add up exactly. Decimal strings at the edges, atoms inside.
 */

export const ATOMS_PER_UNIT = 100_000_000;
const ATOM_SCALE = 8;

/** "0.015" → 1_500_000 atoms. More than 8 significant decimals is refused rather than rounded. */
export function quantityToAtoms(quantity: string): number {
  return toSafeInteger(decimalToUnits(quantity, ATOM_SCALE, 'exact', 'quantity'), 'quantity');
}

/** Atoms of `quantity`, finer digits dropped, as a BigInt (the caller bounds it): for sizing down. */
export function quantityToAtomsRoundedDown(quantity: string): bigint {
  return decimalToUnits(quantity, ATOM_SCALE, 'down');
}

/** 1_500_000 atoms → "0.015" (no trailing zeros; "0" for zero). */
export function atomsToQuantity(atoms: number): string {
  if (!Number.isSafeInteger(atoms) || atoms < 0) throw new RangeError(`atoms must be a non-negative safe integer, got ${atoms}`);
  return unitsToDecimal(BigInt(atoms), ATOM_SCALE);
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
