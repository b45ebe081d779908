import { z } from 'zod';
import { DECIMAL_PATTERN } from './decimal.js';
import { BusinessKey } from './messages.js';
import { quantityToAtoms } from './quantity.js';
import { IsoTime, MicroUsd, PositiveMicroUsd, Side, Symbol, decimalString } from './vocabulary.js';

/**
 * Sapphire's own order-update schema: what a broker or a venue bridge posts to
 * `POST /brokers/{broker}/order-updates` when one of Sapphire's orders changed at the venue.
 * Quantities are decimal strings (at most 8 decimals, see quantity.ts), money is micro-USD.
 */

/** Atoms of a quantity string, or undefined when it has none (the field check reports why). */
function atomsOf(quantity: string): number | undefined {
  try {
    return quantityToAtoms(quantity);
  } catch {
    return undefined;
  }
}

/** A decimal quantity that converts to atoms exactly: refused here rather than thrown later. */
const QuantityString = decimalString('a non-negative decimal such as "0.015"', 40).superRefine((quantity, ctx) => {
    if (!DECIMAL_PATTERN.test(quantity)) return;
    try {
      quantityToAtoms(quantity);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof RangeError ? error.message : 'not a quantity' });
    }
  });

export const OrderUpdateStatus = z.enum(['ACCEPTED', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED']);
export type OrderUpdateStatus = z.infer<typeof OrderUpdateStatus>;

export const OrderUpdateFill = z
  .object({
    /** The venue's trade id: with the order id, the idempotency key of the fill. */
    tradeId: z.string().min(1).max(64),
    quantity: QuantityString.refine((q) => /[1-9]/.test(q), 'must be above zero'),
    priceMicros: PositiveMicroUsd,
    feeMicros: MicroUsd,
    /** A maker rebate credited with the fill. */
    rebateMicros: MicroUsd.optional(),
  })
  .strict();
export type OrderUpdateFill = z.infer<typeof OrderUpdateFill>;

export const OrderUpdate = z
  .object({
    /** The venue's or bridge's unique id of this event; replays of it are refused. */
    eventId: BusinessKey,
    venue: z.string().min(1).max(40),
    /** Sapphire's order id, sent to the venue as the client order id. */
    orderId: BusinessKey,
    exchangeOrderId: z.string().min(1).max(64),
    symbol: Symbol,
    side: Side,
    status: OrderUpdateStatus,
    orderQuantity: QuantityString,
    /** Filled so far, this event's fill included. */
    cumulativeFilledQuantity: QuantityString,
    /** Present iff this event reports a trade. */
    fill: OrderUpdateFill.optional(),
    /** Why, in the venue's words, e.g. a reject message. */
    reason: z.string().max(200).optional(),
    eventTime: IsoTime,
  })
  .strict()
  .superRefine((u, ctx) => {
    // Field checks may have failed without aborting: compare only what converted.
    const order = atomsOf(u.orderQuantity);
    const cumulative = atomsOf(u.cumulativeFilledQuantity);
    const fill = u.fill ? atomsOf(u.fill.quantity) : undefined;
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });

    if (order !== undefined && order === 0) issue(['orderQuantity'], 'must be above zero');
    if (order !== undefined && cumulative !== undefined && cumulative > order) {
      issue(['cumulativeFilledQuantity'], 'must not exceed orderQuantity');
    }
    if (fill !== undefined && cumulative !== undefined && fill > cumulative) {
      issue(['fill', 'quantity'], 'must not exceed cumulativeFilledQuantity');
    }
    switch (u.status) {
      case 'PARTIALLY_FILLED':
        if (!u.fill) issue(['fill'], 'a PARTIALLY_FILLED update reports its fill');
        if (order !== undefined && cumulative !== undefined && !(cumulative > 0 && cumulative < order)) {
          issue(['cumulativeFilledQuantity'], 'PARTIALLY_FILLED needs 0 < cumulativeFilledQuantity < orderQuantity');
        }
        break;
      case 'FILLED':
        if (order !== undefined && cumulative !== undefined && cumulative !== order) {
          issue(['cumulativeFilledQuantity'], 'FILLED needs cumulativeFilledQuantity = orderQuantity');
        }
        break;
      case 'ACCEPTED':
        // An accepted order that traded is PARTIALLY_FILLED or FILLED.
        if (u.fill) issue(['fill'], 'an ACCEPTED update carries no fill');
        break;
      case 'REJECTED':
        // The venue never took a rejected order, so it cannot have traded.
        if (u.fill) issue(['fill'], 'a REJECTED update carries no fill');
        if (cumulative !== undefined && cumulative !== 0) issue(['cumulativeFilledQuantity'], 'a REJECTED order filled nothing');
        break;
      case 'CANCELED':
      case 'EXPIRED':
        // May carry the last fill of an order whose rest then lapsed (IOC).
        break;
    }
  });
export type OrderUpdate = z.infer<typeof OrderUpdate>;
