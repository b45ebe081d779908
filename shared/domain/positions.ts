import { z } from 'zod';
import type { LedgerEffect } from './ledger.js';
import { marginRequiredMicros } from './margin.js';
import { ATOMS_PER_UNIT, notionalOfAtoms } from './quantity.js';
import { Atoms, Leverage, MicroUsd, PositiveMicroUsd, Side, SignedMicroUsd } from './vocabulary.js';

/**
 * The position ledger: pure rules that turn fills into positions and margin.
 *
 * A fill of q atoms of an order of Q atoms that reserved R micro-USD of margin consumes the
 * reserved share floor(R·cum'/Q) − floor(R·cum/Q) (cum = atoms of that order filled before).
 * The shares of all fills telescope to floor(R·filled/Q) whatever the order of arrival, and the
 * terminal event releases the rest, R − floor(R·final/Q): every micro of R is accounted once.
 *
 * Opening fills consume their share and put into use the margin the venue takes for them: the
 * initial margin of the fill's notional at the order's leverage, as an isolated position's wallet
 * grows at Binance. A fill cheaper than reserved frees the rest of its share; slippage beyond
 * it is booked, not hidden. Reducing fills release the position's margin in proportion and
 * realize PnL against the average entry; fees are charged on every fill. A position is the fold of its fills in (time, tradeId) order, so any arrival order of
 * the same fills converges to one state.
 */

export const PositionState = z.object({
  /** Signed: positive long, negative short. */
  quantityAtoms: z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
  /** Σ atoms × price (micro-USD) of the open quantity, exact, as a decimal string (exceeds 2^53). */
  costBasis: z.string().regex(/^\d+$/),
  marginInUseMicros: MicroUsd,
  /** Net of fees. */
  realizedPnlMicros: SignedMicroUsd,
  feesMicros: MicroUsd,
  /** Sort key of the last fill folded in; a fill sorting before it makes the position be rebuilt. */
  lastFillKey: z.string(),
  fillCount: z.number().int().nonnegative(),
});
export type PositionState = z.infer<typeof PositionState>;

export const FLAT_POSITION: PositionState = Object.freeze({
  quantityAtoms: 0,
  costBasis: '0',
  marginInUseMicros: 0,
  realizedPnlMicros: 0,
  feesMicros: 0,
  lastFillKey: '',
  fillCount: 0,
});

/** A fill with what the fold needs of its order. */
export const FillFacts = z.object({
  orderId: z.string(),
  tradeId: z.string(),
  side: Side,
  quantityAtoms: Atoms.positive(),
  priceMicros: PositiveMicroUsd,
  feeMicros: MicroUsd,
  /** A maker rebate credited with the fill: realized PnL, not a negative fee. */
  rebateMicros: MicroUsd.optional(),
  /** Venue time of the trade, epoch ms. */
  time: z.number().int().nonnegative(),
  orderQuantityAtoms: Atoms.positive(),
  orderReservedMicros: MicroUsd,
  orderLeverage: Leverage,
});
export type FillFacts = z.infer<typeof FillFacts>;

export const NO_EFFECT: LedgerEffect = Object.freeze({
  reservedDeltaMicros: 0,
  inUseDeltaMicros: 0,
  realizedPnlDeltaMicros: 0,
  feesDeltaMicros: 0,
});

/** Time first, then trade id, both fixed-width so strings sort like the pair. */
export function fillSortKey(fill: Pick<FillFacts, 'time' | 'tradeId'>): string {
  return `${String(fill.time).padStart(15, '0')}:${fill.tradeId.padStart(24, '0')}`;
}

/** The reserved margin a fill consumes, given the order's atoms filled before it. */
export function reservedShareMicros(reserved: number, orderQuantity: number, filledBefore: number, quantity: number): number {
  const r = BigInt(reserved);
  const q = BigInt(orderQuantity);
  return Number((r * BigInt(filledBefore + quantity)) / q - (r * BigInt(filledBefore)) / q);
}

/** What the order's terminal event releases: everything its final fills will not consume. */
export function terminalReleaseMicros(reserved: number, orderQuantity: number, finalFilled: number): number {
  return reserved - Number((BigInt(reserved) * BigInt(finalFilled)) / BigInt(orderQuantity));
}

/** floor(a / b) for BigInt, rounding toward −∞ (BigInt division truncates toward zero). */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

export interface FoldStep {
  readonly position: PositionState;
  readonly effect: LedgerEffect;
}

/** Folds one fill into a position. `filledBefore`: atoms of the same order folded in earlier. */
export function applyFill(position: PositionState, fill: FillFacts, filledBefore: number): FoldStep {
  const rebate = fill.rebateMicros ?? 0;
  const share = reservedShareMicros(fill.orderReservedMicros, fill.orderQuantityAtoms, filledBefore, fill.quantityAtoms);
  const signed = fill.side === 'BUY' ? fill.quantityAtoms : -fill.quantityAtoms;
  const held = Math.abs(position.quantityAtoms);
  const cost = BigInt(position.costBasis);
  const price = BigInt(fill.priceMicros);
  const key = fillSortKey(fill);
  const base = { lastFillKey: key > position.lastFillKey ? key : position.lastFillKey, fillCount: position.fillCount + 1 };

  if (position.quantityAtoms === 0 || Math.sign(position.quantityAtoms) === Math.sign(signed)) {
    const openedMargin = openingMarginMicros(fill, fill.quantityAtoms);
    return {
      position: {
        ...position,
        ...base,
        quantityAtoms: position.quantityAtoms + signed,
        costBasis: (cost + BigInt(fill.quantityAtoms) * price).toString(),
        marginInUseMicros: position.marginInUseMicros + openedMargin,
        realizedPnlMicros: position.realizedPnlMicros + rebate - fill.feeMicros,
        feesMicros: position.feesMicros + fill.feeMicros,
      },
      effect: {
        reservedDeltaMicros: 0 - share, // never -0: Firestore would keep it as a double
        inUseDeltaMicros: openedMargin,
        realizedPnlDeltaMicros: rebate - fill.feeMicros,
        feesDeltaMicros: fill.feeMicros,
      },
    };
  }

  // Against the position: close up to what is held, open the rest the other way.
  const closing = Math.min(fill.quantityAtoms, held);
  const opening = fill.quantityAtoms - closing;
  const fullClose = closing === held;
  const closedCost = fullClose ? cost : (cost * BigInt(closing)) / BigInt(held);
  const releasedMargin = fullClose
    ? position.marginInUseMicros
    : Number((BigInt(position.marginInUseMicros) * BigInt(closing)) / BigInt(held));
  const exitValue = BigInt(closing) * price;
  const pnlScaled = position.quantityAtoms > 0 ? exitValue - closedCost : closedCost - exitValue;
  const pnl = Number(floorDiv(pnlScaled, BigInt(ATOMS_PER_UNIT)));
  const openedMargin = openingMarginMicros(fill, opening);

  return {
    position: {
      ...position,
      ...base,
      quantityAtoms: position.quantityAtoms + signed,
      costBasis: (cost - closedCost + BigInt(opening) * price).toString(),
      marginInUseMicros: position.marginInUseMicros - releasedMargin + openedMargin,
      realizedPnlMicros: position.realizedPnlMicros + pnl + rebate - fill.feeMicros,
      feesMicros: position.feesMicros + fill.feeMicros,
    },
    effect: {
      reservedDeltaMicros: 0 - share, // never -0: Firestore would keep it as a double
      inUseDeltaMicros: openedMargin - releasedMargin,
      realizedPnlDeltaMicros: pnl + rebate - fill.feeMicros,
      feesDeltaMicros: fill.feeMicros,
    },
  };
}

/** The venue's initial margin for `atoms` of a fill opening a position. */
function openingMarginMicros(fill: FillFacts, atoms: number): number {
  return atoms === 0 ? 0 : marginRequiredMicros(notionalOfAtoms(atoms, fill.priceMicros), fill.orderLeverage);
}

/** The position that a set of fills makes, folded in sort order; and the summed ledger effect. */
export function foldFills(fills: readonly FillFacts[]): FoldStep {
  const sorted = [...fills].sort((a, b) => (fillSortKey(a) < fillSortKey(b) ? -1 : 1));
  const filledByOrder = new Map<string, number>();
  let position: PositionState = FLAT_POSITION;
  let effect: LedgerEffect = NO_EFFECT;
  for (const fill of sorted) {
    const before = filledByOrder.get(fill.orderId) ?? 0;
    const step = applyFill(position, fill, before);
    filledByOrder.set(fill.orderId, before + fill.quantityAtoms);
    position = step.position;
    effect = addEffects(effect, step.effect);
  }
  return { position, effect };
}

export function addEffects(a: LedgerEffect, b: LedgerEffect): LedgerEffect {
  return {
    reservedDeltaMicros: a.reservedDeltaMicros + b.reservedDeltaMicros,
    inUseDeltaMicros: a.inUseDeltaMicros + b.inUseDeltaMicros,
    realizedPnlDeltaMicros: a.realizedPnlDeltaMicros + b.realizedPnlDeltaMicros,
    feesDeltaMicros: a.feesDeltaMicros + b.feesDeltaMicros,
  };
}

/** Average entry price in micro-USD (rounded down), or 0 when flat. */
export function averageEntryMicros(position: PositionState): number {
  const held = Math.abs(position.quantityAtoms);
  return held === 0 ? 0 : Number(BigInt(position.costBasis) / BigInt(held));
}

/** Unrealized PnL at a mark price, micro-USD, rounded toward −∞. */
export function unrealizedPnlMicros(position: PositionState, markMicros: number): number {
  const held = BigInt(Math.abs(position.quantityAtoms));
  const value = held * BigInt(markMicros);
  const cost = BigInt(position.costBasis);
  return Number(floorDiv(position.quantityAtoms >= 0 ? value - cost : cost - value, BigInt(ATOMS_PER_UNIT)));
}
