import { z } from 'zod';
import type { StopOrder } from './protective-stop.js';
import type { Side } from './vocabulary.js';

/**
 * What Sapphire needs from a trading venue, whichever it is: Binance-compatible USDⓈ-M futures
 * REST (Binance, Aster DEX) or the paper exchange. Prices are integer micro-USD per unit of the
 * base asset; quantities are decimal strings at this boundary (atoms inside, see quantity.ts).
 */

export const ExchangeOrderStatus = z.enum(['NEW', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED']);
export type ExchangeOrderStatus = z.infer<typeof ExchangeOrderStatus>;

export interface SymbolFilters {
  readonly symbol: string;
  /** PRICE_FILTER tickSize, in micro-USD. */
  readonly tickSizeMicros: number;
  /** LOT_SIZE stepSize and minQty, in atoms. */
  readonly stepSizeAtoms: number;
  readonly minQtyAtoms: number;
  /** MIN_NOTIONAL notional, in micro-USD. */
  readonly minNotionalMicros: number;
}

export interface Ticker {
  readonly symbol: string;
  readonly priceMicros: number;
  /** Venue time of the price, epoch ms. */
  readonly time: number;
}

export interface Kline {
  readonly openTime: number;
  readonly closeTime: number;
  readonly openMicros: number;
  readonly highMicros: number;
  readonly lowMicros: number;
  readonly closeMicros: number;
  /** Base-asset volume as a decimal string. */
  readonly volume: string;
}

export interface PlaceOrderRequest {
  /** Deterministic per Sapphire order (≤ 36 characters): a retried placement never makes a second order. */
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  /** Sapphire places market orders only: agents decide when, not at what price. */
  readonly type: 'MARKET';
  /** Already aligned to the step size. */
  readonly quantity: string;
  readonly reduceOnly: boolean;
  /** The order's leverage: the venue's setting for the symbol is made to match it before placing. */
  readonly leverage: number;
  /** What the venue said of the symbol just before (symbolSetup), when the caller asked: not asked again. */
  readonly venueSetup?: SymbolSetup;
}

export interface ExchangeOrder {
  readonly clientOrderId: string;
  readonly exchangeOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  /** As the venue reports it: orders placed by hand or by the venue's liquidation engine may be LIMIT. */
  readonly type: 'MARKET' | 'LIMIT';
  readonly status: ExchangeOrderStatus;
  readonly quantity: string;
  readonly executedQuantity: string;
  readonly avgPriceMicros?: number;
  readonly reduceOnly: boolean;
  /** Epoch ms of the order's last change at the venue. */
  readonly updateTime: number;
}

export interface ExchangeFill {
  /** The venue's trade id: with the order, the idempotency key of a fill. */
  readonly tradeId: string;
  readonly clientOrderId: string;
  readonly exchangeOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly quantity: string;
  readonly priceMicros: number;
  /** Commission charged, in micro-USD, valued from the asset the venue charged it in. */
  readonly feeMicros: number;
  /** A maker rebate credited, in micro-USD. */
  readonly rebateMicros?: number;
  readonly time: number;
}

/** A payment the venue booked to the account itself: funding, for now. */
export interface VenueIncome {
  /** The venue's transaction id: with the account, the key that applies it once. */
  readonly tranId: string;
  readonly symbol: string;
  readonly type: 'FUNDING_FEE';
  /** Signed: positive received, negative paid. */
  readonly amountMicros: number;
  readonly time: number;
}

/**
 * Client order ids of orders the venue makes itself (Binance: liquidation, ADL, delisting), and
 * of the order a protective stop becomes when the venue fires it (protective-stop.ts).
 */
export const VENUE_MADE_ORDER = /^(autoclose-|adl_autoclose|settlement_autoclose-|sps-[0-9a-f]{32}$)/;

export interface VenuePosition {
  readonly symbol: string;
  /** Signed: positive long, negative short. */
  readonly quantityAtoms: number;
}

/** The account's position in one symbol and what the venue has set for it (Binance: positionRisk). */
export interface SymbolSetup {
  /** Signed: positive long, negative short; 0 when flat. */
  readonly quantityAtoms: number;
  /** The symbol's leverage setting; none at a venue without one (the paper exchange takes any). */
  readonly leverage?: number;
  readonly isolated?: boolean;
}

export interface MarketData {
  /** The last trade price. */
  ticker(symbol: string): Promise<Ticker>;
  /** The mark price: what the venue values positions and liquidates at. */
  markPrice(symbol: string): Promise<Ticker>;
  /** One-minute candles, oldest first, the last `limit` ending at or before `endTime` (default: now). */
  klines(symbol: string, limit: number, endTime?: number): Promise<Kline[]>;
  symbolFilters(symbol: string): Promise<SymbolFilters>;
}

export interface Exchange extends MarketData {
  readonly venue: 'binance' | 'paper';
  placeOrder(order: PlaceOrderRequest): Promise<ExchangeOrder>;
  /** Cancels an order still open at the venue; an ended or unknown one is an `order_not_found` ExchangeError. */
  cancelOrder(symbol: string, clientOrderId: string): Promise<ExchangeOrder>;
  /** undefined when the venue has no order with that client id. */
  getOrder(symbol: string, clientOrderId: string): Promise<ExchangeOrder | undefined>;
  /** The fills of one order, oldest first. */
  orderFills(order: ExchangeOrder): Promise<ExchangeFill[]>;
  /** Orders the venue made on the account by itself in `symbol`: liquidations and auto-deleveraging. */
  venueMadeOrders(symbol: string): Promise<ExchangeOrder[]>;
  /** The account's open positions at the venue, signed (positive long), by symbol. */
  positions(): Promise<VenuePosition[]>;
  /** The account's position in `symbol` and the leverage and margin type the venue has set for it. */
  symbolSetup(symbol: string): Promise<SymbolSetup>;
  /** Funding booked to the account since `startTime` (epoch ms; none: as far back as the venue keeps), oldest first. */
  fundingSince(startTime?: number): Promise<VenueIncome[]>;
}

/**
 * Stops resting at the venue, which fire without Sapphire (Binance: the Algo Service's STOP_MARKET
 * with closePosition, triggered by the mark price). A venue without them (paper) has none.
 */
export interface VenueStops {
  /** Places a stop closing the whole position; one already waiting under this id counts as placed. */
  placeStop(stop: StopOrder): Promise<void>;
  /** The account's stops still waiting. */
  restingStops(): Promise<StopOrder[]>;
  /** Cancels a waiting stop; false when it is no longer waiting (fired, cancelled, unknown). */
  cancelStop(symbol: string, clientAlgoId: string): Promise<boolean>;
}

export function hasVenueStops(exchange: Exchange): exchange is Exchange & VenueStops {
  return 'placeStop' in exchange;
}

export const ExchangeRejectReason = z.enum([
  'insufficient_margin',
  'invalid_quantity',
  'invalid_price',
  'min_notional',
  'unknown_symbol',
  'duplicate_order',
  'order_not_found',
  'venue_setup_failed',
  'geo_blocked',
  'reduce_only_rejected',
  'rate_limited',
  'auth_failed',
  'timestamp_out_of_window',
  'exchange_unavailable',
  /** The venue may have executed the order (a lost or late answer, 5xx, -1006, -1007): ask it before sending anything again. */
  'status_unknown',
  'rejected',
]);
export type ExchangeRejectReason = z.infer<typeof ExchangeRejectReason>;

/** A venue's refusal, mapped to a reason Sapphire acts on. `retryable`: the same call may succeed later. */
export class ExchangeError extends Error {
  override readonly name = 'ExchangeError';
  constructor(
    readonly reason: ExchangeRejectReason,
    message: string,
    readonly retryable: boolean,
    readonly venueCode?: number,
  ) {
    super(message);
  }
}
