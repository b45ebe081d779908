import type { SymbolFilters } from './exchange.js';
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
 * and becomes an order of what that buys, or none, `price_moved`). A close is never cut: it needs
 * no margin and only reduces what the venue holds.
 */

export type OrderPlanResult =
  | { readonly ok: true; readonly quantityAtoms: number }
  | { readonly ok: false; readonly reason: 'invalid_quantity' | 'min_notional' | 'price_moved'; readonly detail: string };

export function planOrderQuantity(request: OrderRequest, filters: SymbolFilters, priceMicros: number): OrderPlanResult {
  const wantedAtoms =
    request.size.type === 'quantity'
      ? quantityToAtomsRoundedDown(request.size.quantity)
      : (BigInt(request.size.notionalMicros) * BigInt(ATOMS_PER_UNIT)) / BigInt(priceMicros);
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
