import type { SymbolFilters } from './exchange.js';
import type { OrderRequest } from './messages.js';
import { microsToUsd } from './money.js';
import { ATOMS_PER_UNIT, atomsToQuantity, floorToStep, notionalOfAtoms, quantityToAtomsRoundedDown } from './quantity.js';

/**
 * Turns an OrderRequest into what a venue accepts: a quantity on the step grid that meets the
 * minimum quantity and notional. Rounding is always down, so an order never asks for more than
 * its signal did: a notional-sized signal trades at most its notional at the current price; a
 * quantity-sized one at most its quantity, whose notional exceeds the one reserved for if the
 * price rose since the signal. Margin in use is the reservation either way (positions.ts): the
 * venue, not the ledger, holds the difference, and the mark-to-market drawdown sees it.
 */

export type OrderPlanResult =
  | { readonly ok: true; readonly quantityAtoms: number }
  | { readonly ok: false; readonly reason: 'invalid_quantity' | 'min_notional'; readonly detail: string };

export function planOrderQuantity(request: OrderRequest, filters: SymbolFilters, priceMicros: number): OrderPlanResult {
  const wantedAtoms =
    request.size.type === 'quantity'
      ? quantityToAtomsRoundedDown(request.size.quantity)
      : (BigInt(request.size.notionalMicros) * BigInt(ATOMS_PER_UNIT)) / BigInt(priceMicros);
  // Beyond 2^53 atoms no amount is exact any more (and no venue lists such a lot).
  if (wantedAtoms > BigInt(Number.MAX_SAFE_INTEGER)) {
    return { ok: false, reason: 'invalid_quantity', detail: `quantity above ${atomsToQuantity(Number.MAX_SAFE_INTEGER)} ${request.symbol}` };
  }
  const quantityAtoms = floorToStep(Number(wantedAtoms), filters.stepSizeAtoms);
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
