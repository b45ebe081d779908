import { ExchangeError, type ExchangeRejectReason } from '../../domain/exchange.js';

/** Binance futures error codes Sapphire acts on; anything else is a plain rejection. */
const REASON_BY_CODE: Record<number, ExchangeRejectReason> = {
  [-2019]: 'insufficient_margin',
  [-1111]: 'invalid_quantity',
  [-4003]: 'invalid_quantity',
  [-4005]: 'invalid_quantity',
  [-4014]: 'invalid_price',
  [-4013]: 'invalid_price',
  [-4164]: 'min_notional',
  [-1121]: 'unknown_symbol',
  [-4116]: 'duplicate_order',
  [-2011]: 'order_not_found',
  [-2013]: 'order_not_found',
  [-2022]: 'reduce_only_rejected',
  [-1021]: 'timestamp_out_of_window',
  [-2014]: 'auth_failed',
  [-2015]: 'auth_failed',
  [-1022]: 'auth_failed',
};

/**
 * Binance: "the execution status is UNKNOWN and could have been a success" — -1006 (an unexpected
 * answer from the message bus) and -1007 (a timeout waiting for the backend), like any 5XX.
 */
export const EXECUTION_STATUS_UNKNOWN_CODES: ReadonlySet<number> = new Set([-1006, -1007]);

export function venueError(code: number, message: string, httpStatus: number): ExchangeError {
  let reason = REASON_BY_CODE[code] ?? 'rejected';
  // -1013 is the generic filter failure; its message says which filter.
  if (code === -1013) reason = /price/i.test(message) ? 'invalid_price' : /notional/i.test(message) ? 'min_notional' : 'invalid_quantity';
  const retryable = reason === 'timestamp_out_of_window' || httpStatus >= 500;
  return new ExchangeError(reason, `venue error ${code}: ${message}`, retryable, code);
}
