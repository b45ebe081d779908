import type { ExchangeFill, ExchangeOrder, ExchangeOrderStatus } from './exchange.js';
import type { VenueFacts } from './orders.js';
import type { OrderUpdate } from './order-updates.js';
import { quantityToAtoms } from './quantity.js';
import type { TerminalStatus } from './vocabulary.js';

/** What a venue's or a broker's order status means for Sapphire's order: its end, if it has ended. */
const TERMINAL_STATUS: Partial<Record<ExchangeOrderStatus | OrderUpdate['status'], TerminalStatus>> = {
  FILLED: 'filled',
  CANCELED: 'canceled',
  REJECTED: 'rejected',
  EXPIRED: 'expired',
};

/**
 * The facts a venue's view of an order holds (its id, each of its fills, its end), as the
 * reconciler and the order router read them back after placing or polling: one VenueFacts per
 * fill, the id on the first and the end on the last, so a market order that filled at once is
 * one ledger event, not three.
 */
export function venueFactsFor(orderId: string, venueOrder: ExchangeOrder, fills: readonly ExchangeFill[]): VenueFacts[] {
  const facts: VenueFacts[] = fills
    .filter((fill) => fill.clientOrderId === orderId)
    .map((fill) => ({
      orderId,
      fill: {
        tradeId: fill.tradeId,
        quantityAtoms: quantityToAtoms(fill.quantity),
        priceMicros: fill.priceMicros,
        feeMicros: fill.feeMicros,
        ...(fill.rebateMicros ? { rebateMicros: fill.rebateMicros } : {}),
        time: fill.time,
      },
    }));
  const terminalStatus = TERMINAL_STATUS[venueOrder.status];
  const terminal = terminalStatus && { status: terminalStatus, finalFilledAtoms: quantityToAtoms(venueOrder.executedQuantity) };
  if (facts.length === 0) return [{ orderId, exchangeOrderId: venueOrder.exchangeOrderId, ...(terminal ? { terminal } : {}) }];
  facts[0] = { ...(facts[0] as VenueFacts), exchangeOrderId: venueOrder.exchangeOrderId };
  if (terminal) facts[facts.length - 1] = { ...(facts[facts.length - 1] as VenueFacts), terminal };
  return facts;
}

/** The facts of one broker webhook update. */
export function factsFromOrderUpdate(update: OrderUpdate): VenueFacts {
  const terminal = TERMINAL_STATUS[update.status];
  return {
    orderId: update.orderId,
    exchangeOrderId: update.exchangeOrderId,
    describes: { symbol: update.symbol, side: update.side, quantityAtoms: quantityToAtoms(update.orderQuantity) },
    ...(update.fill
      ? {
          fill: {
            tradeId: update.fill.tradeId,
            quantityAtoms: quantityToAtoms(update.fill.quantity),
            priceMicros: update.fill.priceMicros,
            feeMicros: update.fill.feeMicros,
            ...(update.fill.rebateMicros ? { rebateMicros: update.fill.rebateMicros } : {}),
            time: Date.parse(update.eventTime),
          },
        }
      : {}),
    ...(terminal
      ? {
          terminal: {
            status: terminal,
            finalFilledAtoms: quantityToAtoms(update.cumulativeFilledQuantity),
            ...(update.reason ? { reason: update.reason } : {}),
          },
        }
      : {}),
  };
}

