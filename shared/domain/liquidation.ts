import type { PositionState } from './positions.js';
import { ATOMS_PER_UNIT } from './quantity.js';

/**
 * Isolated-margin liquidation as a USDⓈ-M futures venue does it, for the paper exchange: a
 * position is liquidated when its margin plus unrealized PnL falls to the maintenance margin
 * (notional × a rate that grows with the notional), and closed at its bankruptcy price, where
 * the loss is exactly its margin. So a paper loss never exceeds what a venue could take.
 */

/** Maintenance margin rate by notional tier (Binance BTCUSDT's lower tiers), parts per million. */
export const MAINTENANCE_TIERS: readonly { readonly upToNotionalMicros: number; readonly ratePpm: number }[] = [
  { upToNotionalMicros: 50_000 * 1_000_000, ratePpm: 4_000 },
  { upToNotionalMicros: 250_000 * 1_000_000, ratePpm: 5_000 },
  { upToNotionalMicros: 3_000_000 * 1_000_000, ratePpm: 10_000 },
  { upToNotionalMicros: Number.MAX_SAFE_INTEGER, ratePpm: 25_000 },
];

export function maintenanceRatePpm(notionalMicros: number): number {
  return (MAINTENANCE_TIERS.find((t) => notionalMicros <= t.upToNotionalMicros) ?? (MAINTENANCE_TIERS.at(-1) as (typeof MAINTENANCE_TIERS)[number])).ratePpm;
}

type Isolated = Pick<PositionState, 'quantityAtoms' | 'costBasis' | 'marginInUseMicros'>;

/**
 * The mark price at which the position is liquidated, micro-USD (rounded toward the position:
 * a long's up, a short's down); undefined when flat.
 */
export function liquidationPriceMicros(position: Isolated): number | undefined {
  const q = BigInt(Math.abs(position.quantityAtoms));
  if (q === 0n) return undefined;
  const cost = BigInt(position.costBasis);
  const margin = BigInt(position.marginInUseMicros) * BigInt(ATOMS_PER_UNIT);
  const rate = BigInt(maintenanceRatePpm(Number((cost / BigInt(ATOMS_PER_UNIT)) as bigint)));
  if (position.quantityAtoms > 0) {
    // margin + q(P − E) = q·P·rate  →  P = (cost − margin) / (q(1 − rate))
    const numerator = (cost - margin) * 1_000_000n;
    const denominator = q * (1_000_000n - rate);
    return numerator <= 0n ? 0 : Number((numerator + denominator - 1n) / denominator);
  }
  // margin + q(E − P) = q·P·rate  →  P = (cost + margin) / (q(1 + rate))
  return Number(((cost + margin) * 1_000_000n) / (q * (1_000_000n + rate)));
}

/** The price at which closing the whole position loses exactly its margin (to the micro, for positions under one unit). */
export function bankruptcyPriceMicros(position: Isolated): number {
  const q = BigInt(Math.abs(position.quantityAtoms));
  const cost = BigInt(position.costBasis);
  const margin = BigInt(position.marginInUseMicros) * BigInt(ATOMS_PER_UNIT);
  if (position.quantityAtoms > 0) {
    const floor = cost - margin;
    return floor <= 0n ? 1 : Number((floor + q - 1n) / q);
  }
  return Number((cost + margin) / q);
}

export function isLiquidated(position: Isolated, markPriceMicros: number): boolean {
  const price = liquidationPriceMicros(position);
  if (price === undefined) return false;
  return position.quantityAtoms > 0 ? markPriceMicros <= price : markPriceMicros >= price;
}
