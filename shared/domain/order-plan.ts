import type { SymbolFilters, SymbolSetup } from './exchange.js';
import type { OrderRequest } from './messages.js';
import { microsToUsd } from './money.js';
import { ATOMS_PER_UNIT, atomsToQuantity, floorToStep, notionalOfAtoms, quantityToAtomsRoundedDown } from './quantity.js';

/**
 * Turns an OrderRequest into what a venue accepts: a quantity on the step grid that meets the
 * minimum quantity and notional. Rounding is always down, so an order never asks for more than
 * its signal did, nor more venue margin than was reserved: a notional-sized signal trades at most
 * its notional at the current price; a quantity-sized one at most its quantity, cut to the
 * notional reserved for it at the current price when the price is above the one the signal was
 * priced at (a caller's price is never trusted: 0.5 BTC "at 20 USD" reserves 20 USD / leverage
 * and becomes an order of what that buys, or none, `price_moved`). A close (reduce-only) needs no
 * margin and is sized by what the venue holds (`venueHeldAtoms`, signed, from its positionRisk):
 * at most that, so it closes exactly what is there whatever Sapphire's books say (the venue
 * refuses a reduce-only order larger than the position, -2022); with nothing there to reduce it
 * is refused `nothing_to_close`.
 */

export type OrderPlanResult =
  | { readonly ok: true; readonly quantityAtoms: number }
  | { readonly ok: false; readonly reason: 'invalid_quantity' | 'min_notional' | 'price_moved' | 'nothing_to_close'; readonly detail: string };

/** What a reduce-only order on `side` can close of a venue position of `heldAtoms` (signed). */
export function closableAtoms(side: OrderRequest['side'], heldAtoms: number): number {
  return side === 'SELL' ? Math.max(0, heldAtoms) : Math.max(0, -heldAtoms);
}

export function planOrderQuantity(request: OrderRequest, filters: SymbolFilters, priceMicros: number, venueHeldAtoms?: number): OrderPlanResult {
  const asked =
    request.size.type === 'quantity'
      ? quantityToAtomsRoundedDown(request.size.quantity)
      : (BigInt(request.size.notionalMicros) * BigInt(ATOMS_PER_UNIT)) / BigInt(priceMicros);
  const closable = request.reduceOnly && venueHeldAtoms !== undefined ? BigInt(closableAtoms(request.side, venueHeldAtoms)) : undefined;
  if (closable === 0n) {
    return { ok: false, reason: 'nothing_to_close', detail: `the venue holds no ${request.side === 'SELL' ? 'long' : 'short'} ${request.symbol} position for this reduce-only ${request.side}` };
  }
  const wantedAtoms = closable !== undefined && closable < asked ? closable : asked;
  // Beyond 2^53 atoms no amount is exact any more (and no venue lists such a lot).
  if (wantedAtoms > BigInt(Number.MAX_SAFE_INTEGER)) {
    return { ok: false, reason: 'invalid_quantity', detail: `quantity above ${atomsToQuantity(Number.MAX_SAFE_INTEGER)} ${request.symbol}` };
  }
  // What the reserved notional buys at the current price: the most an opening order may take.
  const affordableAtoms = (BigInt(request.notionalMicros) * BigInt(ATOMS_PER_UNIT)) / BigInt(priceMicros);
  const cut = !request.reduceOnly && request.size.type === 'quantity' && affordableAtoms < wantedAtoms;
  const quantityAtoms = floorToStep(Number(cut ? affordableAtoms : wantedAtoms), filters.stepSizeAtoms);
  if (cut && quantityAtoms < Math.max(filters.minQtyAtoms, 1)) {
    return {
      ok: false,
      reason: 'price_moved',
      detail: `${request.size.type === 'quantity' ? request.size.quantity : ''} ${request.symbol} was priced at ${microsToUsd(request.size.type === 'quantity' ? request.size.priceMicros : 0)} USD; at ${microsToUsd(priceMicros)} USD its reserved ${microsToUsd(request.notionalMicros)} USD of notional buys less than the minimum quantity`,
    };
  }
  if (quantityAtoms < Math.max(filters.minQtyAtoms, 1)) {
    return {
      ok: false,
      reason: 'invalid_quantity',
      detail: `quantity ${atomsToQuantity(quantityAtoms)} is below the minimum ${atomsToQuantity(filters.minQtyAtoms)} for ${request.symbol}`,
    };
  }
  const notional = notionalOfAtoms(quantityAtoms, priceMicros);
  // Venues waive the minimum notional for orders that only reduce a position.
  if (!request.reduceOnly && notional < filters.minNotionalMicros) {
    return {
      ok: false,
      reason: 'min_notional',
      detail: `notional ${microsToUsd(notional)} USD is below the minimum ${microsToUsd(filters.minNotionalMicros)} USD for ${request.symbol}`,
    };
  }
  return { ok: true, quantityAtoms };
}

export type LeverageFit =
  | { readonly ok: true; readonly leverage: number; readonly quantityAtoms: number }
  | { readonly ok: false; readonly reason: 'leverage_mismatch'; readonly detail: string };

/**
 * The leverage an opening order goes out at, and its quantity. A venue has one leverage per
 * account and symbol; Binance refuses to lower it under an open isolated position (-4161), and
 * changing it would move that position's margin too. So while the account holds a position in
 * the symbol at another leverage, the order takes the venue's: at a higher one as planned (it
 * needs less margin than was reserved), at a lower one cut to what its reserved margin carries
 * there — or refused `leverage_mismatch` when that is below the venue's minimum. Never more venue
 * margin than reserved. Flat (or at a venue without a setting), the order keeps its own leverage.
 */
/** Whether the account holds a position in the symbol at a leverage other than `leverage`: one the venue will not change under it. */
export function heldAtOtherLeverage(setup: SymbolSetup, leverage: number): setup is SymbolSetup & { readonly leverage: number } {
  return setup.leverage !== undefined && setup.quantityAtoms !== 0 && setup.leverage !== leverage;
}

export function fitToVenueLeverage(request: OrderRequest, plannedAtoms: number, setup: SymbolSetup, filters: SymbolFilters, priceMicros: number): LeverageFit {
  if (!heldAtOtherLeverage(setup, request.leverage)) return { ok: true, leverage: request.leverage, quantityAtoms: plannedAtoms };
  const venueLeverage = setup.leverage;
  if (venueLeverage > request.leverage) return { ok: true, leverage: venueLeverage, quantityAtoms: plannedAtoms };
  const carried = (BigInt(request.marginMicros) * BigInt(venueLeverage) * BigInt(ATOMS_PER_UNIT)) / BigInt(priceMicros);
  const quantityAtoms = floorToStep(Math.min(plannedAtoms, Number(carried)), filters.stepSizeAtoms);
  if (quantityAtoms < Math.max(filters.minQtyAtoms, 1) || notionalOfAtoms(quantityAtoms, priceMicros) < filters.minNotionalMicros) {
    return {
      ok: false,
      reason: 'leverage_mismatch',
      detail: `the account holds ${request.symbol} at ${venueLeverage}×, which cannot be changed under the position; at ${venueLeverage}× the ${microsToUsd(request.marginMicros)} USD reserved at ${request.leverage}× carries less than the venue's minimum`,
    };
  }
  return { ok: true, leverage: venueLeverage, quantityAtoms };
}
