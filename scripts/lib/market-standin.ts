import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { CANDLE_MINUTE as MINUTE, CandleSeries, parseCandlesCsv } from '../../shared/domain/candles.js';
import { DECIMAL_PATTERN } from '../../shared/domain/decimal.js';
import { USD, feeMicros, microsToDecimal, signedVenueUsdToMicros, usdToMicros } from '../../shared/domain/money.js';
import { ATOMS_PER_UNIT, atomsToQuantity, notionalOfAtoms, quantityToAtoms } from '../../shared/domain/quantity.js';
import type { Side } from '../../shared/domain/vocabulary.js';
import { verifySignedQuery } from '../../shared/exchange/binance-futures/signing.js';
import { replayFilters } from '../../shared/replay/replay-market.js';
import { marginRequiredMicros } from '../../shared/domain/margin.js';
import { stopReached } from '../../shared/domain/protective-stop.js';

/**
 * A local stand-in for a Binance USDⓈ-M futures venue, speaking the same REST endpoints, so the
 * real client code runs unchanged against it. It is as strict as Binance's documentation
 * (developers.binance.com/docs/derivatives/usds-margined-futures/…), because a venue kinder than
 * the real one hides bugs:
 *  - market data replayed from one-minute candle CSV files on a simulated clock;
 *  - signed endpoints: an unknown API key is -2015, a missing or malformed one -2014, a bad HMAC -1022, a
 *    timestamp outside recvWindow -1021; recvWindow above 60 000 ms is refused;
 *  - request weight per IP (2400 a minute) and orders per account (300 per 10 s, 1200 a minute):
 *    over the budget HTTP 429 with Retry-After and -1003 (-1015 for orders); an IP that keeps
 *    sending while told to back off is banned, HTTP 418 with Retry-After;
 *  - accounts with a USDT wallet, positions per symbol (one-way mode) and Binance's defaults of 20×
 *    cross margin until set: margin for what an order opens is its notional over the leverage, and
 *    an account that cannot pay it is refused -2019; closing releases margin in proportion; realized
 *    PnL, commission and funding move the wallet and appear in /fapi/v1/income;
 *  - orders: newClientOrderId unique among OPEN orders only (-4116), so re-sending the id of a
 *    filled or canceled order places a second order; reduce-only orders that would not reduce are
 *    -2022 and larger ones are cut to the position; LOT_SIZE, MARKET_LOT_SIZE, MIN_NOTIONAL,
 *    PRICE_FILTER and PERCENT_PRICE are enforced; conditional types are -4120 (they moved to the
 *    Algo Service on 2025-12-09, which takes a STOP_MARKET closing the whole position here —
 *    POST/DELETE /fapi/v1/algoOrder, GET /fapi/v1/openAlgoOrders — and fires it when the price
 *    reaches its trigger, whoever is watching); lowering leverage on an open isolated position is -4161 and
 *    changing the margin type with a position -4048; a MARKET order larger than one book level
 *    fills in several trades, each a tick further; a LIMIT order that does not cross the mark rests
 *    until a test fills it;
 *  - test hooks: hold new orders open, then fill, partially fill or cancel them; venue
 *    liquidations, trades by hand and funding; and faults on demand (below).
 *
 * Faults, per path (optionally per method), each used by the next matching request:
 *  - `refuse_before`: answers the given status and body without executing (what `failNext` queues);
 *  - `rate_limited`: HTTP 429 or 418 with Retry-After and -1003, without executing;
 *  - `execute_then_drop`: executes, then destroys the socket without answering;
 *  - `execute_then_status`: executes, then answers an execution-unknown status: 503 with -1000
 *    "Unknown error, please check your request or try again later.", or -1006 / -1007 (any status),
 *    or a plain-text body;
 *  - `execute_then_delay`: executes, then answers only after `delayMs` (past the client's timeout).
 *
 * Admin routes (unsigned, never rate limited, for tests and `npm start`):
 *  - `POST /sapphire-admin/faults` with JSON `{ "path": "/fapi/v1/order", "method": "POST",
 *    "kind": "execute_then_status", "status": 503, "count": 1 }` queues faults;
 *  - `DELETE /sapphire-admin/faults` drops every queued fault;
 *  - `GET /sapphire-admin/orders[?apiKey=…]` lists every venue order, with the key it was placed with.
 */

/** Commission charged on every stand-in trade: Binance futures' 0.05% taker rate. */
export const STANDIN_FEE_PPM = 500;
/** Paid in BNB, USDⓈ-M futures fees are 10% lower (Binance, "BNB fee discount"). */
const BNB_DISCOUNT_PERCENT = 10;
/** BNB amounts carry 8 decimals. */
const BNB_UNITS_PER_COIN = 100_000_000n;

/** Each account's wallet until a test sets it: large enough that only tests about balances run short. */
const DEFAULT_BALANCE_MICROS = 1_000_000 * USD;
/** What Binance sets a symbol to before the account chooses (Change Initial Leverage / Change Margin Type). */
const DEFAULT_LEVERAGE = 20;
const MAX_LEVERAGE = 125;
/** recvWindow when none is sent ("it defaults to 5000"), and the largest accepted (see the signed-request checks). */
const DEFAULT_RECV_WINDOW_MS = 5_000;
const MAX_RECV_WINDOW_MS = 60_000;
/** "timestamp < serverTime + 1000" (General Info, Timing Security). */
const AHEAD_TOLERANCE_MS = 1_000;
/** Lists without a time range answer the last seven days, and a range may not be longer. */
const SEVEN_DAYS_MS = 7 * 24 * 3_600_000;
/** Binance's rule for newClientOrderId (New Order). */
const CLIENT_ORDER_ID = /^[.A-Z:/a-z0-9_-]{1,36}$/;
/** The order types that since 2025-12-09 only the Algo Service takes (change log 2025-11-06). */
const CONDITIONAL_TYPES = new Set(['STOP', 'STOP_MARKET', 'TAKE_PROFIT', 'TAKE_PROFIT_MARKET', 'TRAILING_STOP_MARKET']);
const TIME_IN_FORCE = new Set(['GTC', 'IOC', 'FOK', 'GTX', 'GTD']);
/** BTCUSDT's first maintenance-margin tier (0.40%), for the liquidation price positionRisk reports. */
const MAINTENANCE_MARGIN_PPM = 4_000;
/** BTCUSDT's PERCENT_PRICE multipliers, in units of 1e-4 (multiplierDecimal 4). */
const PERCENT_PRICE_UP = 10_500;
const PERCENT_PRICE_DOWN = 9_500;
const PERCENT_PRICE_SCALE = 10_000;
/** BTCUSDT's LOT_SIZE and MARKET_LOT_SIZE maxima, and its PRICE_FILTER bounds. */
const LIMIT_MAX_QTY_ATOMS = 1_000 * ATOMS_PER_UNIT;
const MARKET_MAX_QTY_ATOMS = 120 * ATOMS_PER_UNIT;
const MIN_PRICE_MICROS = 100_000;
const MAX_PRICE_MICROS = 1_000_000 * USD;
/** What a MARKET order takes from one price level of the book before it walks to the next. */
const DEFAULT_BOOK_LEVEL_ATOMS = ATOMS_PER_UNIT;
const ADMIN_PREFIX = '/sapphire-admin/';

/** Binance USDⓈ-M error codes the stand-in answers with (Error Codes page). */
const CODE = {
  UNKNOWN: -1000,
  DISCONNECTED: -1001,
  TOO_MANY_REQUESTS: -1003,
  UNEXPECTED_RESP: -1006,
  TIMEOUT: -1007,
  TOO_MANY_ORDERS: -1015,
  INVALID_TIMESTAMP: -1021,
  INVALID_SIGNATURE: -1022,
  START_TIME_GREATER_THAN_END_TIME: -1023,
  MANDATORY_PARAM_EMPTY_OR_MALFORMED: -1102,
  PARAM_NOT_REQUIRED: -1106,
  BAD_PRECISION: -1111,
  INVALID_TIF: -1115,
  INVALID_ORDER_TYPE: -1116,
  INVALID_SIDE: -1117,
  BAD_INTERVAL: -1120,
  BAD_SYMBOL: -1121,
  MORE_THAN_XX_HOURS: -1127,
  OPTIONAL_PARAMS_BAD_COMBO: -1128,
  INVALID_PARAMETER: -1130,
  INVALID_NEW_ORDER_RESP_TYPE: -1136,
  CANCEL_REJECTED: -2011,
  NO_SUCH_ORDER: -2013,
  ORDER_WOULD_IMMEDIATELY_TRIGGER: -2021,
  BAD_API_KEY_FMT: -2014,
  REJECTED_MBX_KEY: -2015,
  MARGIN_NOT_SUFFICIENT: -2019,
  REDUCE_ONLY_REJECT: -2022,
  MIN_LEVERAGE_RATIO: -2028,
  PRICE_GREATER_THAN_MAX_PRICE: -4002,
  QTY_LESS_THAN_ZERO: -4003,
  QTY_LESS_THAN_MIN_QTY: -4004,
  QTY_GREATER_THAN_MAX_QTY: -4005,
  PRICE_LESS_THAN_MIN_PRICE: -4013,
  PRICE_NOT_INCREASED_BY_TICK_SIZE: -4014,
  INVALID_CL_ORD_ID_LEN: -4015,
  PRICE_HIGHER_THAN_MULTIPLIER_UP: -4016,
  PRICE_LOWER_THAN_MULTIPLIER_DOWN: -4024,
  INVALID_LEVERAGE: -4028,
  NO_NEED_TO_CHANGE_MARGIN_TYPE: -4046,
  THERE_EXISTS_OPEN_ORDERS: -4047,
  THERE_EXISTS_QUANTITY: -4048,
  DUPLICATED_CLIENT_ORDER_ID: -4116,
  STOP_ORDER_SWITCH_ALGO: -4120,
  ISOLATED_LEVERAGE_REJECT_WITH_POSITION: -4161,
  MIN_NOTIONAL: -4164,
} as const;

/** The messages of the codes that leave an order's execution unknown (Error Codes; General Info, HTTP 503). */
const EXECUTION_UNKNOWN = {
  [CODE.UNKNOWN]: 'Unknown error, please check your request or try again later.',
  [CODE.UNEXPECTED_RESP]: 'An unexpected response was received from the message bus. Execution status unknown.',
  [CODE.TIMEOUT]: 'Timeout waiting for response from backend server. Send status unknown; execution status unknown.',
} as const;

/** Replay time: an anchor instant that runs `speed` times faster than the wall clock, or is set. */
export class ReplayClock {
  private anchorReplay: number;
  private anchorWall = Date.now();

  constructor(start: number, private speed = 1) {
    this.anchorReplay = start;
  }

  now(): number {
    return this.anchorReplay + (Date.now() - this.anchorWall) * this.speed;
  }

  set(time: number, speed = this.speed): void {
    this.anchorReplay = time;
    this.anchorWall = Date.now();
    this.speed = speed;
  }
}

/** Binance's rate limits (exchangeInfo `rateLimits`; General Info, LIMITS), configurable so tests can exhaust them. */
export interface RateLimits {
  /** REQUEST_WEIGHT per IP per minute. */
  readonly weightPerMinute: number;
  /** ORDERS per account per 10 seconds and per minute. */
  readonly ordersPer10s: number;
  readonly ordersPerMinute: number;
  /** How long an IP that kept sending after a 429 is banned: Binance's bans start at 2 minutes. */
  readonly banSeconds: number;
}

export const BINANCE_RATE_LIMITS: RateLimits = { weightPerMinute: 2_400, ordersPer10s: 300, ordersPerMinute: 1_200, banSeconds: 120 };

const FaultSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('refuse_before'), status: z.number().int(), body: z.unknown().optional(), headers: z.record(z.string(), z.string()).optional() }),
  z.object({ kind: z.literal('rate_limited'), status: z.union([z.literal(429), z.literal(418)]), retryAfterSeconds: z.number().int().positive() }),
  z.object({ kind: z.literal('execute_then_drop') }),
  z.object({
    kind: z.literal('execute_then_status'),
    status: z.number().int(),
    code: z.union([z.literal(CODE.UNKNOWN), z.literal(CODE.UNEXPECTED_RESP), z.literal(CODE.TIMEOUT)]).optional(),
    plainText: z.string().optional(),
  }),
  z.object({ kind: z.literal('execute_then_delay'), delayMs: z.number().int().positive() }),
]);
export type VenueFault = z.infer<typeof FaultSchema>;

const FaultRequest = z.intersection(
  z.object({ path: z.string().startsWith('/'), method: z.enum(['GET', 'POST', 'DELETE', 'PUT']).optional(), count: z.number().int().positive().default(1) }),
  FaultSchema,
);

type OrderStatus = 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'EXPIRED';

interface StandInOrder {
  readonly orderId: number;
  readonly apiKey: string;
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly type: 'MARKET' | 'LIMIT';
  readonly timeInForce: string;
  status: OrderStatus;
  readonly quantityAtoms: number;
  executedAtoms: number;
  executedValueMicros: number;
  /** The LIMIT price; 0 for MARKET. */
  readonly limitPriceMicros: number;
  /** The price when it was placed: what a held order fills at unless told otherwise. */
  readonly placedAtMicros: number;
  readonly reduceOnly: boolean;
  readonly time: number;
  updateTime: number;
}

/** A conditional order of the Algo Service: a STOP_MARKET that closes the whole position (closePosition). */
interface StandInAlgoOrder {
  readonly algoId: number;
  readonly apiKey: string;
  readonly clientAlgoId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly triggerMicros: number;
  readonly workingType: 'MARK_PRICE' | 'CONTRACT_PRICE';
  status: 'NEW' | 'CANCELED' | 'FINISHED' | 'EXPIRED';
  readonly createTime: number;
  updateTime: number;
  /** The MARKET order it became when triggered. */
  actualOrderId?: number;
}

interface StandInTrade {
  readonly id: number;
  readonly orderId: number;
  readonly apiKey: string;
  readonly symbol: string;
  readonly side: Side;
  readonly priceMicros: number;
  readonly quantityAtoms: number;
  readonly commissionMicros: number;
  /** The asset the commission was charged in, and its amount there (BNB with the fee discount). */
  readonly commissionAsset: string;
  readonly commission: string;
  readonly realizedPnlMicros: number;
  readonly time: number;
}

interface Income {
  readonly apiKey: string;
  readonly symbol: string;
  readonly incomeType: 'FUNDING_FEE' | 'REALIZED_PNL' | 'COMMISSION';
  /** Signed decimal USDT, as the venue writes it. */
  readonly income: string;
  readonly time: number;
  readonly tranId: number;
  readonly tradeId: string;
}

/** One symbol's position of an account (one-way mode); margin is the isolated wallet, or the cross initial margin. */
interface Position {
  atoms: number;
  entryPriceMicros: number;
  marginMicros: number;
  updateTime: number;
}

/** Counts over fixed windows; a window opens with the first count after the previous one ended. */
class FixedWindow {
  private start = Number.NEGATIVE_INFINITY;
  private count = 0;

  constructor(private readonly lengthMs: number) {}

  add(n: number, now: number): number {
    if (now - this.start >= this.lengthMs) {
      this.start = now;
      this.count = 0;
    }
    this.count += n;
    return this.count;
  }

  get endsAt(): number {
    return this.start + this.lengthMs;
  }
}

interface Account {
  readonly secret: string;
  walletMicros: number;
  readonly positions: Map<string, Position>;
  ordersPer10s: FixedWindow;
  ordersPerMinute: FixedWindow;
}

interface IpBudget {
  readonly weight: FixedWindow;
  /** Told to wait until then (a 429); a request before it earns a ban. */
  backOffUntil: number;
  bannedUntil: number;
}

interface Answer {
  readonly status: number;
  /** JSON, or plain text when a string. */
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

/** A request counted against a rate limit: the usage headers to answer with, and the refusal when over it. */
interface Admission {
  readonly headers: Record<string, string>;
  readonly refusal?: Answer;
}

interface SignedCall {
  readonly params: URLSearchParams;
  readonly apiKey: string;
  readonly account: Account;
}

export interface StandInOptions {
  /** Symbol → candle CSV file. */
  readonly csvFiles: Record<string, string>;
  readonly apiKey: string;
  readonly apiSecret: string;
  /** More accounts (key → secret) besides apiKey's, as a venue has one per agent. */
  readonly moreAccounts?: Readonly<Record<string, string>>;
  /** Replay start (epoch ms); defaults to the first candle. */
  readonly start?: number;
  readonly speed?: number;
  readonly port?: number;
  /** Every account's starting wallet, micro-USD. */
  readonly balanceMicros?: number;
  readonly rateLimits?: Partial<RateLimits>;
  /** The quantity one price level of the book holds (decimal); a larger MARKET order fills in several trades. */
  readonly bookLevelQuantity?: string;
}

/** An order as the venue reports it (the /fapi/v1/order answer), with the key it was placed with. */
export type VenueOrderRow = ReturnType<typeof orderJson> & { readonly apiKey: string };

export interface MarketStandIn {
  readonly url: string;
  readonly clock: ReplayClock;
  /** Requests received, by "METHOD /path". */
  readonly requests: Map<string, number>;
  /** The price now: the close of the last minute completed at or before the replay clock. */
  priceAt(symbol: string, time?: number): number;
  /** Leverage and margin type per account key and symbol, as the venue's setup calls left them; and every setup call in order. */
  readonly accountSettings: Map<string, { leverage?: number; marginType?: string }>;
  readonly setupCalls: string[];
  /** The account key each order was placed with, by client order id (the latest order with that id). */
  readonly orderAccounts: Map<string, string>;
  /** While on, new orders rest open instead of filling at once. */
  holdOrders(on: boolean): void;
  /** Fills `quantity` of the open order with this client order id at the price it was placed at (or `priceMicros`). */
  fill(clientOrderId: string, quantity: string, priceMicros?: number): void;
  cancel(clientOrderId: string): void;
  /** The next request to `path` gets this answer instead, without executing. */
  failNext(path: string, status: number, body?: unknown, headers?: Record<string, string>): void;
  /** Queues `fault` for the next `count` requests to `path` (of `method`, if given). */
  injectFault(path: string, fault: VenueFault, options?: { readonly method?: string; readonly count?: number }): void;
  clearFaults(): void;
  /** Every order the venue holds, of all accounts or of one, in the order placed. */
  venueOrders(apiKey?: string): VenueOrderRow[];
  /** The venue's orders with this client order id, oldest first: several once the earlier ones are no longer open. */
  ordersFor(clientOrderId: string, apiKey?: string): VenueOrderRow[];
  /** Sets an account's wallet: decimal USDT, or micro-USD. */
  setBalance(apiKey: string, usd: string | number): void;
  /** An account's wallet and what it can still open positions with. */
  balanceOf(apiKey: string): { readonly walletMicros: number; readonly availableMicros: number };
  /** The account's position in `symbol`: signed atoms, and its isolated margin (positionRisk's isolatedWallet) in micro-USD. */
  positionOf(apiKey: string, symbol: string): { readonly atoms: number; readonly marginMicros: number };
  /** Changes the rate limits (the rest stay) and forgets what was counted so far. */
  setRateLimits(limits: Partial<RateLimits>): void;
  /** The quantity (decimal) one price level of the book holds. */
  setBookLevel(quantity: string): void;
  /** While on, the account's commissions are charged in BNB at the BNBUSDT replay price (needs BNBUSDT candles), 10% off. */
  payFeesInBnb(apiKey: string, on: boolean): void;
  /** The venue's liquidation engine closes the account's whole position in `symbol` at `priceMicros` (an autoclose-… order). */
  liquidateByVenue(apiKey: string, symbol: string, priceMicros: number): string;
  /** A MARKET trade made by hand on the account (outside Sapphire, a web_… order): it moves the venue's position. */
  tradeByHand(apiKey: string, symbol: string, signedQuantity: string): void;
  /** Books a funding payment (signed decimal USD) to the account with this key, at the replay's clock. */
  addFunding(apiKey: string, symbol: string, income: string): void;
  /** While on, every request is refused as a restricted location (HTTP 451), as Binance answers from the US. */
  geoBlock(on: boolean): void;
  /** Every request to `path` gets `status` until `outage(path, undefined)` (a venue down for a while). */
  outage(path: string, status: number | undefined): void;
  close(): Promise<void>;
}

/** exchangeInfo's entry for a symbol: the filters `npm run replay` trades under too, with Binance's BTCUSDT bounds. */
function symbolInfo(symbol: string) {
  const filters = replayFilters(symbol);
  return {
    symbol,
    pair: symbol,
    contractType: 'PERPETUAL',
    status: 'TRADING',
    filters: [
      { filterType: 'PRICE_FILTER', tickSize: microsToDecimal(filters.tickSizeMicros), minPrice: microsToDecimal(MIN_PRICE_MICROS), maxPrice: microsToDecimal(MAX_PRICE_MICROS) },
      { filterType: 'LOT_SIZE', stepSize: atomsToQuantity(filters.stepSizeAtoms), minQty: atomsToQuantity(filters.minQtyAtoms), maxQty: atomsToQuantity(LIMIT_MAX_QTY_ATOMS) },
      { filterType: 'MARKET_LOT_SIZE', stepSize: atomsToQuantity(filters.stepSizeAtoms), minQty: atomsToQuantity(filters.minQtyAtoms), maxQty: atomsToQuantity(MARKET_MAX_QTY_ATOMS) },
      { filterType: 'MIN_NOTIONAL', notional: microsToDecimal(filters.minNotionalMicros) },
      {
        filterType: 'PERCENT_PRICE',
        multiplierUp: (PERCENT_PRICE_UP / PERCENT_PRICE_SCALE).toFixed(4),
        multiplierDown: (PERCENT_PRICE_DOWN / PERCENT_PRICE_SCALE).toFixed(4),
        multiplierDecimal: '4',
      },
    ],
  };
}

const signedMicros = (micros: number): string => (micros < 0 ? `-${microsToDecimal(-micros)}` : microsToDecimal(micros));
const signedAtoms = (atoms: number): string => (atoms < 0 ? `-${atomsToQuantity(-atoms)}` : atomsToQuantity(atoms));
const isOpen = (o: StandInOrder) => o.status === 'NEW' || o.status === 'PARTIALLY_FILLED';
const refuse = (status: number, code: number, msg: string): Answer => ({ status, body: { code, msg } });
const mandatory = (name: string): Answer =>
  refuse(400, CODE.MANDATORY_PARAM_EMPTY_OR_MALFORMED, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`);
const invalidParameter = (name: string): Answer => refuse(400, CODE.INVALID_PARAMETER, `Data sent for parameter '${name}' is not valid.`);
const retryAfter = (ms: number) => String(Math.max(1, Math.ceil(ms / 1_000)));
const tooManyRequests = (limit: number): Answer =>
  refuse(429, CODE.TOO_MANY_REQUESTS, `Too many requests; current limit is ${limit} requests per minute. Please use the websocket for live updates to avoid polling the API.`);
const ipBanned = (until: number): Answer =>
  refuse(418, CODE.TOO_MANY_REQUESTS, `Way too many requests; IP banned until ${until}. Please use the websocket for live updates to avoid bans.`);

/** The order as /fapi/v1/order answers it. */
function orderJson(o: StandInOrder) {
  const avg = o.executedAtoms > 0 ? Number((BigInt(o.executedValueMicros) * BigInt(ATOMS_PER_UNIT)) / BigInt(o.executedAtoms)) : 0;
  return {
    orderId: o.orderId,
    symbol: o.symbol,
    status: o.status,
    clientOrderId: o.clientOrderId,
    price: microsToDecimal(o.limitPriceMicros),
    avgPrice: microsToDecimal(avg),
    origQty: atomsToQuantity(o.quantityAtoms),
    executedQty: atomsToQuantity(o.executedAtoms),
    cumQty: atomsToQuantity(o.executedAtoms),
    cumQuote: microsToDecimal(o.executedValueMicros),
    timeInForce: o.timeInForce,
    type: o.type,
    origType: o.type,
    reduceOnly: o.reduceOnly,
    closePosition: false,
    side: o.side,
    positionSide: 'BOTH',
    stopPrice: '0',
    workingType: 'CONTRACT_PRICE',
    priceProtect: false,
    priceMatch: 'NONE',
    selfTradePreventionMode: 'EXPIRE_MAKER',
    goodTillDate: 0,
    time: o.time,
    updateTime: o.updateTime,
  };
}

/** Unrealized PnL of a position at `markMicros`, micro-USD (truncated toward zero). */
function unrealizedMicros(p: Position, markMicros: number): number {
  return Number((BigInt(markMicros - p.entryPriceMicros) * BigInt(p.atoms)) / BigInt(ATOMS_PER_UNIT));
}

/** Where the position's margin balance falls to the maintenance margin, as positionRisk reports it; 0 when never. */
function liquidationPriceMicros(p: Position, marginBalanceMicros: number): number {
  if (p.atoms === 0) return 0;
  const held = BigInt(Math.abs(p.atoms));
  const entryNotional = (held * BigInt(p.entryPriceMicros)) / BigInt(ATOMS_PER_UNIT);
  const perUnit = BigInt(ATOMS_PER_UNIT) * 1_000_000n;
  const price =
    p.atoms > 0
      ? ((entryNotional - BigInt(marginBalanceMicros)) * perUnit) / (held * BigInt(1_000_000 - MAINTENANCE_MARGIN_PPM))
      : ((entryNotional + BigInt(marginBalanceMicros)) * perUnit) / (held * BigInt(1_000_000 + MAINTENANCE_MARGIN_PPM));
  return price > 0n ? Number(price) : 0;
}

/** The time range a list answers: startTime and endTime (at most seven days apart), or the last seven days. */
function timeWindow(params: URLSearchParams, now: number): { readonly from: number; readonly to: number } | Answer {
  const start = params.has('startTime') ? Number(params.get('startTime')) : undefined;
  const end = params.has('endTime') ? Number(params.get('endTime')) : undefined;
  if (start !== undefined && end !== undefined) {
    if (start > end) return refuse(400, CODE.START_TIME_GREATER_THAN_END_TIME, 'Start time is greater than end time.');
    if (end - start > SEVEN_DAYS_MS) return refuse(400, CODE.MORE_THAN_XX_HOURS, 'More than 168 hours between startTime and endTime.');
  }
  // Only a lower bound without endTime: the replay clock may be set back, and nothing a venue holds is from the future.
  if (start === undefined && end === undefined) return { from: now - SEVEN_DAYS_MS, to: Number.POSITIVE_INFINITY };
  return { from: start ?? (end as number) - SEVEN_DAYS_MS, to: end ?? (start as number) + SEVEN_DAYS_MS };
}

function limitOf(params: URLSearchParams, fallback: number, max: number): number {
  const limit = Number(params.get('limit') ?? fallback);
  return Number.isInteger(limit) && limit > 0 ? Math.min(limit, max) : fallback;
}

export async function startMarketStandIn(options: StandInOptions): Promise<MarketStandIn> {
  const candles = new Map<string, CandleSeries>();
  for (const [symbol, file] of Object.entries(options.csvFiles)) candles.set(symbol, new CandleSeries(parseCandlesCsv(await readFile(file, 'utf8'))));
  const first = [...candles.values()][0];
  if (!first) throw new Error('the stand-in needs at least one candle file');
  const clock = new ReplayClock(options.start ?? first.firstOpenTime + MINUTE, options.speed ?? 1);
  let limits: RateLimits = { ...BINANCE_RATE_LIMITS, ...options.rateLimits };
  const bnbPayers = new Set<string>();
  let bookLevelAtoms = options.bookLevelQuantity ? quantityToAtoms(options.bookLevelQuantity) : DEFAULT_BOOK_LEVEL_ATOMS;
  const newAccount = (secret: string): Account => ({
    secret,
    walletMicros: options.balanceMicros ?? DEFAULT_BALANCE_MICROS,
    positions: new Map(),
    ordersPer10s: new FixedWindow(10_000),
    ordersPerMinute: new FixedWindow(MINUTE),
  });
  const accounts = new Map<string, Account>(
    [[options.apiKey, options.apiSecret] as const, ...Object.entries(options.moreAccounts ?? {})].map(([key, secret]) => [key, newAccount(secret)]),
  );
  /** Every order the venue ever took, in the order placed. */
  const orders: StandInOrder[] = [];
  const trades: StandInTrade[] = [];
  const algoOrders: StandInAlgoOrder[] = [];
  const incomes: Income[] = [];
  const faults = new Map<string, { readonly method?: string; readonly fault: VenueFault }[]>();
  const ipBudgets = new Map<string, IpBudget>();
  const accountSettings = new Map<string, { leverage?: number; marginType?: string }>();
  const setupCalls: string[] = [];
  const orderAccounts = new Map<string, string>();
  const outages = new Map<string, number>();
  const requests = new Map<string, number>();
  const delayed = new Set<NodeJS.Timeout>();
  let geoBlocked = false;
  let holding = false;
  let nextId = 1_000;

  function seriesOf(symbol: string): CandleSeries {
    const series = candles.get(symbol);
    if (!series) throw Object.assign(new Error('unknown symbol'), { code: CODE.BAD_SYMBOL });
    return series;
  }

  function priceAt(symbol: string, time = clock.now()): number {
    return seriesOf(symbol).priceAt(time);
  }

  function accountOf(apiKey: string): Account {
    const account = accounts.get(apiKey);
    if (!account) throw new Error(`no stand-in account ${apiKey}`);
    return account;
  }

  function settingsOf(apiKey: string, symbol: string): { readonly leverage: number; readonly isolated: boolean } {
    const set = accountSettings.get(`${apiKey}:${symbol}`);
    return { leverage: set?.leverage ?? DEFAULT_LEVERAGE, isolated: set?.marginType === 'ISOLATED' };
  }

  function positionOf(account: Account, symbol: string): Position {
    let position = account.positions.get(symbol);
    if (!position) {
      position = { atoms: 0, entryPriceMicros: 0, marginMicros: 0, updateTime: 0 };
      account.positions.set(symbol, position);
    }
    return position;
  }

  /** Wallet less the margin of positions and of open orders, plus cross positions' unrealized PnL. */
  function availableMicros(apiKey: string): number {
    const account = accountOf(apiKey);
    let available = account.walletMicros;
    for (const [symbol, p] of account.positions) {
      available -= p.marginMicros;
      if (p.atoms !== 0 && !settingsOf(apiKey, symbol).isolated) available += unrealizedMicros(p, priceAt(symbol));
    }
    for (const o of orders) {
      if (o.apiKey !== apiKey || !isOpen(o) || o.reduceOnly) continue;
      available -= marginRequiredMicros(notionalOfAtoms(o.quantityAtoms - o.executedAtoms, o.limitPriceMicros || o.placedAtMicros), settingsOf(apiKey, o.symbol).leverage);
    }
    return available;
  }

  /** What of `atoms` on `side` would grow the position rather than close it. */
  function openingAtoms(p: Position, side: Side, atoms: number): number {
    const buying = side === 'BUY';
    if (p.atoms === 0 || p.atoms > 0 === buying) return atoms;
    return Math.max(0, atoms - Math.abs(p.atoms));
  }

  /** What a reduce-only order on `side` may still close: the position less the open reduce-only orders already closing it. */
  function closableAtoms(apiKey: string, symbol: string, side: Side, except?: StandInOrder): number {
    const p = positionOf(accountOf(apiKey), symbol);
    if (p.atoms === 0 || p.atoms > 0 === (side === 'BUY')) return 0;
    const resting = orders
      .filter((o) => o !== except && o.apiKey === apiKey && o.symbol === symbol && o.side === side && o.reduceOnly && isOpen(o))
      .reduce((sum, o) => sum + o.quantityAtoms - o.executedAtoms, 0);
    return Math.max(0, Math.abs(p.atoms) - resting);
  }

  /** Moves the position by a trade: the closing part realizes PnL and releases margin in proportion, the rest opens at the price. */
  function applyToPosition(apiKey: string, symbol: string, side: Side, atoms: number, price: number, time: number): number {
    const account = accountOf(apiKey);
    const p = positionOf(account, symbol);
    const opening = openingAtoms(p, side, atoms);
    const closing = atoms - opening;
    let realized = 0;
    if (closing > 0) {
      const held = Math.abs(p.atoms);
      const long = p.atoms > 0;
      realized = Number((BigInt(price - p.entryPriceMicros) * BigInt(long ? closing : -closing)) / BigInt(ATOMS_PER_UNIT));
      p.marginMicros -= closing === held ? p.marginMicros : Number((BigInt(p.marginMicros) * BigInt(closing)) / BigInt(held));
      p.atoms += long ? -closing : closing;
      if (p.atoms === 0) p.entryPriceMicros = 0;
    }
    if (opening > 0) {
      const held = Math.abs(p.atoms);
      p.entryPriceMicros = Number((BigInt(held) * BigInt(p.entryPriceMicros) + BigInt(opening) * BigInt(price)) / BigInt(held + opening));
      p.marginMicros += marginRequiredMicros(notionalOfAtoms(opening, price), settingsOf(apiKey, symbol).leverage);
      p.atoms += side === 'BUY' ? opening : -opening;
    }
    p.updateTime = time;
    account.walletMicros += realized;
    return realized;
  }

  /** The commission in the asset the account pays fees in: USDT, or BNB at its price of the trade's minute, discounted. */
  function chargedCommission(apiKey: string, usdtMicros: number, time: number): { commission: number; commissionAsset: string; amount: string } {
    if (!bnbPayers.has(apiKey)) return { commission: usdtMicros, commissionAsset: 'USDT', amount: microsToDecimal(usdtMicros) };
    const discounted = Math.floor((usdtMicros * (100 - BNB_DISCOUNT_PERCENT)) / 100);
    const bnbUnits = (BigInt(discounted) * BNB_UNITS_PER_COIN) / BigInt(priceAt('BNBUSDT', time));
    const whole = bnbUnits / BNB_UNITS_PER_COIN;
    const fraction = (bnbUnits % BNB_UNITS_PER_COIN).toString().padStart(8, '0');
    return { commission: discounted, commissionAsset: 'BNB', amount: `${whole}.${fraction}` };
  }

  function trade(order: StandInOrder, atoms: number, price: number): void {
    const time = clock.now();
    const realized = applyToPosition(order.apiKey, order.symbol, order.side, atoms, price, time);
    const notional = notionalOfAtoms(atoms, price);
    const { commission, commissionAsset, amount } = chargedCommission(order.apiKey, feeMicros(notional, STANDIN_FEE_PPM), time);
    accountOf(order.apiKey).walletMicros -= commission;
    order.executedAtoms += atoms;
    order.executedValueMicros += notional;
    order.status = order.executedAtoms >= order.quantityAtoms ? 'FILLED' : 'PARTIALLY_FILLED';
    order.updateTime = time;
    const id = nextId++;
    trades.push({ id, orderId: order.orderId, apiKey: order.apiKey, symbol: order.symbol, side: order.side, priceMicros: price, quantityAtoms: atoms, commissionMicros: commission, commissionAsset, commission: amount, realizedPnlMicros: realized, time });
    const income = { apiKey: order.apiKey, symbol: order.symbol, time, tradeId: String(id) };
    if (realized !== 0) incomes.push({ ...income, incomeType: 'REALIZED_PNL', income: signedMicros(realized), tranId: nextId++ });
    incomes.push({ ...income, incomeType: 'COMMISSION', income: signedMicros(-commission), tranId: nextId++ });
  }

  /** Takes the book at the mark: one level at a time, each a tick worse, so a large order fills in several trades. */
  function fillAtMarket(order: StandInOrder): void {
    const mark = priceAt(order.symbol);
    const tick = replayFilters(order.symbol).tickSizeMicros;
    let remaining = order.quantityAtoms - order.executedAtoms;
    for (let level = 0; remaining > 0; level += 1) {
      const atoms = Math.min(remaining, bookLevelAtoms);
      trade(order, atoms, order.side === 'BUY' ? mark + level * tick : mark - level * tick);
      remaining -= atoms;
    }
  }

  function newOrderRecord(fields: Omit<StandInOrder, 'orderId' | 'status' | 'executedAtoms' | 'executedValueMicros' | 'time' | 'updateTime'>): StandInOrder {
    const order: StandInOrder = { ...fields, orderId: nextId++, status: 'NEW', executedAtoms: 0, executedValueMicros: 0, time: clock.now(), updateTime: clock.now() };
    orders.push(order);
    orderAccounts.set(order.clientOrderId, order.apiKey);
    return order;
  }

  /** The latest order with this client order id: the open one, if any, since an id is unique among open orders. */
  function latestWithClientId(clientOrderId: string, keep: (o: StandInOrder) => boolean): StandInOrder | undefined {
    return orders.findLast((o) => o.clientOrderId === clientOrderId && keep(o));
  }

  /** The order a query or cancel names: by orderId (then checked against origClientOrderId), else by client order id. */
  function namedOrder(call: SignedCall, symbol: string): StandInOrder | undefined {
    const orderId = call.params.get('orderId');
    const clientId = call.params.get('origClientOrderId');
    const ours = (o: StandInOrder) => o.apiKey === call.apiKey && o.symbol === symbol;
    if (orderId) {
      const found = orders.find((o) => ours(o) && String(o.orderId) === orderId);
      return found && (!clientId || found.clientOrderId === clientId) ? found : undefined;
    }
    return clientId ? latestWithClientId(clientId, ours) : undefined;
  }

  /** LOT_SIZE / MARKET_LOT_SIZE (Filters; Error Codes 40xx): the quantity in atoms, or the refusal. */
  function checkQuantity(symbol: string, type: 'MARKET' | 'LIMIT', text: string): number | Answer {
    if (text.startsWith('-')) return refuse(400, CODE.QTY_LESS_THAN_ZERO, 'Quantity less than or equal to zero.');
    if (!DECIMAL_PATTERN.test(text)) return mandatory('quantity');
    const filters = replayFilters(symbol);
    let atoms: number;
    try {
      atoms = quantityToAtoms(text);
    } catch {
      return refuse(400, CODE.BAD_PRECISION, 'Precision is over the maximum defined for this asset.');
    }
    if (atoms === 0) return refuse(400, CODE.QTY_LESS_THAN_ZERO, 'Quantity less than or equal to zero.');
    // Steps are powers of ten: a quantity off the step has more decimals than the symbol's precision.
    if (atoms % filters.stepSizeAtoms !== 0) return refuse(400, CODE.BAD_PRECISION, 'Precision is over the maximum defined for this asset.');
    if (atoms < filters.minQtyAtoms) return refuse(400, CODE.QTY_LESS_THAN_MIN_QTY, 'Quantity less than min quantity.');
    if (atoms > (type === 'MARKET' ? MARKET_MAX_QTY_ATOMS : LIMIT_MAX_QTY_ATOMS)) return refuse(400, CODE.QTY_GREATER_THAN_MAX_QTY, 'Quantity greater than max quantity.');
    return atoms;
  }

  /** PRICE_FILTER and PERCENT_PRICE (against the mark) for a priced order: the price in micro-USD, or the refusal. */
  function checkPrice(symbol: string, side: Side, text: string): number | Answer {
    if (!DECIMAL_PATTERN.test(text)) return mandatory('price');
    let price: number;
    try {
      price = usdToMicros(text);
    } catch {
      return refuse(400, CODE.BAD_PRECISION, 'Precision is over the maximum defined for this asset.');
    }
    if (price < MIN_PRICE_MICROS) return refuse(400, CODE.PRICE_LESS_THAN_MIN_PRICE, 'Price less than min price.');
    if (price > MAX_PRICE_MICROS) return refuse(400, CODE.PRICE_GREATER_THAN_MAX_PRICE, 'Price greater than max price.');
    if ((price - MIN_PRICE_MICROS) % replayFilters(symbol).tickSizeMicros !== 0) return refuse(400, CODE.PRICE_NOT_INCREASED_BY_TICK_SIZE, 'Price not increased by tick size.');
    const mark = BigInt(priceAt(symbol));
    if (side === 'BUY' && BigInt(price) * BigInt(PERCENT_PRICE_SCALE) > mark * BigInt(PERCENT_PRICE_UP)) {
      return refuse(400, CODE.PRICE_HIGHER_THAN_MULTIPLIER_UP, 'Price is higher than mark price multiplier cap.');
    }
    if (side === 'SELL' && BigInt(price) * BigInt(PERCENT_PRICE_SCALE) < mark * BigInt(PERCENT_PRICE_DOWN)) {
      return refuse(400, CODE.PRICE_LOWER_THAN_MULTIPLIER_DOWN, 'Price is lower than mark price multiplier floor.');
    }
    return price;
  }

  /** The account's order rate limits (ORDERS, per account): over either, HTTP 429 and -1015. */
  function countOrder(account: Account): Admission {
    const now = Date.now();
    const in10s = account.ordersPer10s.add(1, now);
    const inMinute = account.ordersPerMinute.add(1, now);
    const headers = { 'X-MBX-ORDER-COUNT-10S': String(in10s), 'X-MBX-ORDER-COUNT-1M': String(inMinute) };
    const over =
      in10s > limits.ordersPer10s
        ? { limit: limits.ordersPer10s, per: '10 SECOND', window: account.ordersPer10s }
        : inMinute > limits.ordersPerMinute
          ? { limit: limits.ordersPerMinute, per: '1 MINUTE', window: account.ordersPerMinute }
          : undefined;
    if (!over) return { headers };
    const refusal = refuse(429, CODE.TOO_MANY_ORDERS, `Too many new orders; current limit is ${over.limit} orders per ${over.per}.`);
    return { headers, refusal: { ...refusal, headers: { ...headers, 'Retry-After': retryAfter(over.window.endsAt - now) } } };
  }

  /** POST /fapi/v1/order (New Order): counted against the account's ORDERS limits, then placed. */
  function newOrder(call: SignedCall): Answer {
    const counted = countOrder(call.account);
    if (counted.refusal) return counted.refusal;
    const answer = placeOrder(call);
    return { ...answer, headers: { ...counted.headers, ...answer.headers } };
  }

  /** The parameters, the filters, the id, reduce-only and margin, in that order; then the order executes unless held. */
  function placeOrder({ params, apiKey }: SignedCall): Answer {
    for (const name of ['symbol', 'side', 'type']) if (!params.get(name)) return mandatory(name);
    const symbol = params.get('symbol') as string;
    if (!candles.has(symbol)) return refuse(400, CODE.BAD_SYMBOL, 'Invalid symbol.');
    const side = params.get('side');
    if (side !== 'BUY' && side !== 'SELL') return refuse(400, CODE.INVALID_SIDE, 'Invalid side.');
    const type = params.get('type') as string;
    if (CONDITIONAL_TYPES.has(type)) return refuse(400, CODE.STOP_ORDER_SWITCH_ALGO, 'Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.');
    if (type !== 'MARKET' && type !== 'LIMIT') return refuse(400, CODE.INVALID_ORDER_TYPE, 'Invalid orderType.');
    const reduceOnlyText = params.get('reduceOnly') ?? 'false';
    if (reduceOnlyText !== 'true' && reduceOnlyText !== 'false') return invalidParameter('reduceOnly');
    const reduceOnly = reduceOnlyText === 'true';
    const respType = params.get('newOrderRespType') ?? 'ACK';
    if (respType !== 'ACK' && respType !== 'RESULT') return refuse(400, CODE.INVALID_NEW_ORDER_RESP_TYPE, 'Invalid newOrderRespType.');
    const clientOrderId = params.get('newClientOrderId') ?? randomBytes(16).toString('base64url').slice(0, 22);
    if (!CLIENT_ORDER_ID.test(clientOrderId)) return refuse(400, CODE.INVALID_CL_ORD_ID_LEN, 'Client order id is not valid.');
    const quantityText = params.get('quantity');
    if (!quantityText) return mandatory('quantity');
    const quantity = checkQuantity(symbol, type, quantityText);
    if (typeof quantity !== 'number') return quantity;
    let limitPriceMicros = 0;
    let timeInForce = 'GTC';
    if (type === 'LIMIT') {
      timeInForce = params.get('timeInForce') ?? '';
      if (!timeInForce) return mandatory('timeInForce');
      if (!TIME_IN_FORCE.has(timeInForce)) return refuse(400, CODE.INVALID_TIF, 'Invalid timeInForce.');
      const priceText = params.get('price');
      if (!priceText) return mandatory('price');
      const price = checkPrice(symbol, side, priceText);
      if (typeof price !== 'number') return price;
      limitPriceMicros = price;
    }
    // Unique among OPEN orders only: the id of a filled, canceled or expired order may be used again.
    if (orders.some((o) => o.apiKey === apiKey && o.clientOrderId === clientOrderId && isOpen(o))) {
      return refuse(400, CODE.DUPLICATED_CLIENT_ORDER_ID, 'clientOrderId is duplicated');
    }
    const mark = priceAt(symbol);
    let atoms = quantity;
    if (reduceOnly) {
      // One-way mode: nothing to reduce on this side is a refusal; more than the position is cut to it.
      const closable = closableAtoms(apiKey, symbol, side);
      if (closable === 0) return refuse(400, CODE.REDUCE_ONLY_REJECT, 'ReduceOnly Order is rejected.');
      atoms = Math.min(atoms, closable);
    } else {
      const minNotional = replayFilters(symbol).minNotionalMicros;
      if (notionalOfAtoms(atoms, limitPriceMicros || mark) < minNotional) {
        return refuse(400, CODE.MIN_NOTIONAL, `Order's notional must be no smaller than ${microsToDecimal(minNotional)} (unless you choose reduce only).`);
      }
      const opening = openingAtoms(positionOf(accountOf(apiKey), symbol), side, atoms);
      const margin = marginRequiredMicros(notionalOfAtoms(opening, limitPriceMicros || mark), settingsOf(apiKey, symbol).leverage);
      if (margin > availableMicros(apiKey)) return refuse(400, CODE.MARGIN_NOT_SUFFICIENT, 'Margin is insufficient.');
    }
    const order = newOrderRecord({ apiKey, clientOrderId, symbol, side, type, timeInForce, quantityAtoms: atoms, limitPriceMicros, placedAtMicros: mark, reduceOnly });
    // ACK answers before the matching engine has seen the order: NEW, nothing executed.
    const acknowledged = orderJson(order);
    const marketable = type === 'MARKET' || (side === 'BUY' ? limitPriceMicros >= mark : limitPriceMicros <= mark);
    if (!holding && marketable) fillAtMarket(order);
    else if (!holding && (timeInForce === 'IOC' || timeInForce === 'FOK')) order.status = 'EXPIRED';
    return { status: 200, body: respType === 'RESULT' ? orderJson(order) : acknowledged };
  }

  /** GET /fapi/v1/order (Query Order): this account's order on this symbol, the latest with a reused client order id. */
  function queryOrder(call: SignedCall): Answer {
    const symbol = call.params.get('symbol');
    if (!symbol) return mandatory('symbol');
    if (!call.params.get('orderId') && !call.params.get('origClientOrderId')) {
      return refuse(400, CODE.MANDATORY_PARAM_EMPTY_OR_MALFORMED, "Param 'orderId' or 'origClientOrderId' must be sent, but both were empty/null!");
    }
    const order = namedOrder(call, symbol);
    return order ? { status: 200, body: orderJson(order) } : refuse(400, CODE.NO_SUCH_ORDER, 'Order does not exist.');
  }

  /** DELETE /fapi/v1/order (Cancel Order): only an open order; anything else is "Unknown order sent." */
  function cancelOrder(call: SignedCall): Answer {
    const symbol = call.params.get('symbol');
    if (!symbol) return mandatory('symbol');
    const order = namedOrder(call, symbol);
    if (!order || !isOpen(order)) return refuse(400, CODE.CANCEL_REJECTED, 'Unknown order sent.');
    order.status = 'CANCELED';
    order.updateTime = clock.now();
    return { status: 200, body: orderJson(order) };
  }

  /**
   * The Algo Service's watch: every open stop whose trigger the price has reached becomes a MARKET
   * order closing the whole position (closePosition), or expires when there is none that way. It
   * runs before anything observes the venue (each request; the test hooks that read positions,
   * orders and balances), so a stop has fired by the time anyone could see it, whether or not a
   * client is there.
   */
  function triggerStops(): void {
    for (const stop of algoOrders) {
      if (stop.status !== 'NEW' || !stopReached(stop, priceAt(stop.symbol))) continue;
      const held = positionOf(accountOf(stop.apiKey), stop.symbol).atoms;
      const closable = stop.side === 'SELL' ? Math.max(0, held) : Math.max(0, -held);
      stop.updateTime = clock.now();
      if (closable === 0) {
        stop.status = 'EXPIRED';
        continue;
      }
      const order = newOrderRecord({ apiKey: stop.apiKey, clientOrderId: stop.clientAlgoId, symbol: stop.symbol, side: stop.side, type: 'MARKET', timeInForce: 'GTC', quantityAtoms: closable, limitPriceMicros: 0, placedAtMicros: priceAt(stop.symbol), reduceOnly: true });
      fillAtMarket(order);
      stop.status = 'FINISHED';
      stop.actualOrderId = order.orderId;
    }
  }

  function algoJson(stop: StandInAlgoOrder) {
    return {
      algoId: stop.algoId,
      clientAlgoId: stop.clientAlgoId,
      algoType: 'CONDITIONAL',
      orderType: 'STOP_MARKET',
      symbol: stop.symbol,
      side: stop.side,
      positionSide: 'BOTH',
      timeInForce: 'GTC',
      quantity: '0',
      algoStatus: stop.status,
      triggerPrice: microsToDecimal(stop.triggerMicros),
      price: '0',
      workingType: stop.workingType,
      closePosition: true,
      reduceOnly: true,
      createTime: stop.createTime,
      updateTime: stop.updateTime,
      ...(stop.actualOrderId === undefined ? {} : { actualOrderId: String(stop.actualOrderId) }),
    };
  }

  /**
   * POST /fapi/v1/algoOrder (New Algo Order): conditional orders moved here from /fapi/v1/order on
   * 2025-12-09. The stand-in takes what Sapphire uses — a STOP_MARKET with closePosition=true —
   * and refuses the rest by the documented codes: no quantity with closePosition (-1106), the
   * trigger on the tick grid (-4014), a stop that would trigger at once (-2021), a clientAlgoId
   * unique among open algo orders (-4116).
   */
  function newAlgoOrder(call: SignedCall): Answer {
    const counted = countOrder(call.account);
    if (counted.refusal) return counted.refusal;
    const { params, apiKey } = call;
    for (const name of ['algoType', 'symbol', 'side', 'type']) if (!params.get(name)) return mandatory(name);
    if (params.get('algoType') !== 'CONDITIONAL') return invalidParameter('algoType');
    const symbol = params.get('symbol') as string;
    if (!candles.has(symbol)) return refuse(400, CODE.BAD_SYMBOL, 'Invalid symbol.');
    const side = params.get('side');
    if (side !== 'BUY' && side !== 'SELL') return refuse(400, CODE.INVALID_SIDE, 'Invalid side.');
    if (params.get('type') !== 'STOP_MARKET') return refuse(400, CODE.INVALID_ORDER_TYPE, 'Invalid orderType.');
    if (params.get('closePosition') !== 'true') return invalidParameter('closePosition');
    if (params.has('quantity')) return refuse(400, CODE.PARAM_NOT_REQUIRED, "Parameter 'quantity' sent when not required.");
    const workingType = params.get('workingType') ?? 'CONTRACT_PRICE';
    if (workingType !== 'MARK_PRICE' && workingType !== 'CONTRACT_PRICE') return invalidParameter('workingType');
    const triggerText = params.get('triggerPrice');
    if (!triggerText || !DECIMAL_PATTERN.test(triggerText)) return mandatory('triggerPrice');
    let trigger: number;
    try {
      trigger = usdToMicros(triggerText);
    } catch {
      return refuse(400, CODE.BAD_PRECISION, 'Precision is over the maximum defined for this asset.');
    }
    if (trigger <= 0 || trigger % replayFilters(symbol).tickSizeMicros !== 0) return refuse(400, CODE.PRICE_NOT_INCREASED_BY_TICK_SIZE, 'Price not increased by tick size.');
    const clientAlgoId = params.get('clientAlgoId') ?? randomBytes(16).toString('base64url').slice(0, 22);
    if (!CLIENT_ORDER_ID.test(clientAlgoId)) return refuse(400, CODE.INVALID_CL_ORD_ID_LEN, 'Client order id is not valid.');
    if (algoOrders.some((a) => a.apiKey === apiKey && a.clientAlgoId === clientAlgoId && a.status === 'NEW')) return refuse(400, CODE.DUPLICATED_CLIENT_ORDER_ID, 'ClientOrderId is duplicated.');
    const stop: StandInAlgoOrder = { algoId: nextId++, apiKey, clientAlgoId, symbol, side, triggerMicros: trigger, workingType, status: 'NEW', createTime: clock.now(), updateTime: clock.now() };
    if (stopReached(stop, priceAt(symbol))) return refuse(400, CODE.ORDER_WOULD_IMMEDIATELY_TRIGGER, 'Order would immediately trigger.');
    algoOrders.push(stop);
    return { status: 200, body: algoJson(stop), headers: counted.headers };
  }

  /** GET /fapi/v1/openAlgoOrders: the account's algo orders still waiting, of one symbol or all. */
  function openAlgoOrders({ params, apiKey }: SignedCall): Answer {
    const symbol = params.get('symbol');
    return { status: 200, body: algoOrders.filter((a) => a.apiKey === apiKey && a.status === 'NEW' && (!symbol || a.symbol === symbol)).map(algoJson) };
  }

  /** DELETE /fapi/v1/algoOrder (Cancel Algo Order): by algoId or clientAlgoId; only a waiting one, else -2011. */
  function cancelAlgoOrder({ params, apiKey }: SignedCall): Answer {
    const algoId = params.get('algoId');
    const clientAlgoId = params.get('clientAlgoId');
    if (!algoId && !clientAlgoId) return mandatory('algoId');
    const stop = algoOrders.findLast((a) => a.apiKey === apiKey && (algoId ? String(a.algoId) === algoId : a.clientAlgoId === clientAlgoId));
    if (!stop || stop.status !== 'NEW') return refuse(400, CODE.CANCEL_REJECTED, 'Unknown order sent.');
    stop.status = 'CANCELED';
    stop.updateTime = clock.now();
    return { status: 200, body: algoJson(stop) };
  }

  /** GET /fapi/v1/allOrders: from orderId up, or the most recent in the time range; limit 500, at most 1000. */
  function allOrders({ params, apiKey }: SignedCall): Answer {
    const symbol = params.get('symbol');
    if (!symbol) return mandatory('symbol');
    const window = timeWindow(params, clock.now());
    if ('status' in window) return window;
    const limit = limitOf(params, 500, 1_000);
    const fromId = params.has('orderId') ? Number(params.get('orderId')) : undefined;
    const rows = orders.filter((o) => o.apiKey === apiKey && o.symbol === symbol && (fromId === undefined ? o.time >= window.from && o.time <= window.to : o.orderId >= fromId));
    return { status: 200, body: (fromId === undefined ? rows.slice(-limit) : rows.slice(0, limit)).map(orderJson) };
  }

  /** GET /fapi/v1/userTrades (Account Trade List): this account's trades; fromId or a time range, limit 500, at most 1000. */
  function userTrades({ params, apiKey }: SignedCall): Answer {
    const symbol = params.get('symbol');
    if (!symbol) return mandatory('symbol');
    const fromId = params.has('fromId') ? Number(params.get('fromId')) : undefined;
    if (fromId !== undefined && (params.has('startTime') || params.has('endTime'))) {
      return refuse(400, CODE.OPTIONAL_PARAMS_BAD_COMBO, 'Combination of optional parameters invalid.');
    }
    const window = timeWindow(params, clock.now());
    if ('status' in window) return window;
    const limit = limitOf(params, 500, 1_000);
    const orderId = params.get('orderId');
    const rows = trades.filter(
      (t) =>
        t.apiKey === apiKey &&
        t.symbol === symbol &&
        (orderId === null || String(t.orderId) === orderId) &&
        (fromId === undefined ? t.time >= window.from && t.time <= window.to : t.id >= fromId),
    );
    const page = fromId !== undefined || params.has('startTime') ? rows.slice(0, limit) : rows.slice(-limit);
    return {
      status: 200,
      body: page.map((t) => ({
        id: t.id,
        orderId: t.orderId,
        symbol: t.symbol,
        side: t.side,
        positionSide: 'BOTH',
        buyer: t.side === 'BUY',
        maker: false,
        price: microsToDecimal(t.priceMicros),
        qty: atomsToQuantity(t.quantityAtoms),
        quoteQty: microsToDecimal(notionalOfAtoms(t.quantityAtoms, t.priceMicros)),
        realizedPnl: signedMicros(t.realizedPnlMicros),
        commission: t.commission,
        commissionAsset: t.commissionAsset,
        time: t.time,
      })),
    };
  }

  /** GET /fapi/v1/income (Get Income History): this account's income; limit 100, at most 1000, paged by `page`. */
  function income({ params, apiKey }: SignedCall): Answer {
    const window = timeWindow(params, clock.now());
    if ('status' in window) return window;
    const limit = limitOf(params, 100, 1_000);
    const page = Math.max(1, Number(params.get('page') ?? 1) || 1);
    const symbol = params.get('symbol');
    const type = params.get('incomeType');
    const rows = incomes.filter((i) => i.apiKey === apiKey && (!symbol || i.symbol === symbol) && (!type || i.incomeType === type) && i.time >= window.from && i.time <= window.to);
    // From startTime forwards; without one, the most recent first pages back.
    const slice = params.has('startTime') ? rows.slice((page - 1) * limit, page * limit) : rows.slice(Math.max(0, rows.length - page * limit), rows.length - (page - 1) * limit);
    return { status: 200, body: slice.map(({ apiKey: _key, ...row }) => ({ ...row, asset: 'USDT', info: row.incomeType })) };
  }

  /** GET /fapi/v2/positionRisk (Position Information V2): one row per symbol, one-way mode, numbers as strings. */
  function positionRisk({ params, apiKey, account }: SignedCall): Answer {
    const only = params.get('symbol');
    if (only && !candles.has(only)) return refuse(400, CODE.BAD_SYMBOL, 'Invalid symbol.');
    const isolatedMargins = [...account.positions].filter(([symbol]) => settingsOf(apiKey, symbol).isolated).reduce((sum, [, p]) => sum + p.marginMicros, 0);
    const rows = [...candles.keys()]
      .filter((symbol) => !only || symbol === only)
      .map((symbol) => {
        const p = positionOf(account, symbol);
        const { leverage, isolated } = settingsOf(apiKey, symbol);
        const mark = priceAt(symbol);
        const unrealized = p.atoms === 0 ? 0 : unrealizedMicros(p, mark);
        const notional = Number((BigInt(p.atoms) * BigInt(mark)) / BigInt(ATOMS_PER_UNIT));
        return {
          symbol,
          positionAmt: signedAtoms(p.atoms),
          entryPrice: microsToDecimal(p.entryPriceMicros),
          markPrice: microsToDecimal(mark),
          unRealizedProfit: signedMicros(unrealized),
          liquidationPrice: microsToDecimal(liquidationPriceMicros(p, isolated ? p.marginMicros : account.walletMicros - isolatedMargins)),
          leverage: String(leverage),
          maxNotionalValue: '1000000',
          marginType: isolated ? 'isolated' : 'cross',
          isolatedMargin: signedMicros(isolated ? p.marginMicros + unrealized : 0),
          isolatedWallet: microsToDecimal(isolated ? p.marginMicros : 0),
          isAutoAddMargin: 'false',
          positionSide: 'BOTH',
          notional: signedMicros(notional),
          updateTime: p.updateTime,
        };
      });
    return { status: 200, body: rows };
  }

  /** POST /fapi/v1/leverage (Change Initial Leverage): 1 to 125; never lower on an open isolated position. */
  function changeLeverage({ params, apiKey, account }: SignedCall): Answer {
    const symbol = params.get('symbol') ?? '';
    if (!candles.has(symbol)) return refuse(400, CODE.BAD_SYMBOL, 'Invalid symbol.');
    const key = `${apiKey}:${symbol}`;
    setupCalls.push(`leverage ${key}`);
    const leverage = Number(params.get('leverage'));
    if (!Number.isInteger(leverage) || leverage < 1 || leverage > MAX_LEVERAGE) return refuse(400, CODE.INVALID_LEVERAGE, `Leverage ${params.get('leverage')} is not valid`);
    const current = settingsOf(apiKey, symbol);
    const p = positionOf(account, symbol);
    if (p.atoms !== 0 && leverage < current.leverage) {
      if (current.isolated) return refuse(400, CODE.ISOLATED_LEVERAGE_REJECT_WITH_POSITION, 'Leverage reduction is not supported in Isolated Margin Mode with open positions');
      // Cross: the position's margin grows to the new leverage, if the account can pay it.
      const needed = marginRequiredMicros(notionalOfAtoms(Math.abs(p.atoms), p.entryPriceMicros), leverage);
      if (needed - p.marginMicros > availableMicros(apiKey)) return refuse(400, CODE.MIN_LEVERAGE_RATIO, 'Leverage is smaller than permitted: insufficient margin balance.');
      p.marginMicros = needed;
    }
    accountSettings.set(key, { ...accountSettings.get(key), leverage });
    return { status: 200, body: { symbol, leverage, maxNotionalValue: '1000000' } };
  }

  /** POST /fapi/v1/marginType (Change Margin Type): not to the same type, nor with open orders or a position. */
  function changeMarginType({ params, apiKey, account }: SignedCall): Answer {
    const symbol = params.get('symbol') ?? '';
    if (!candles.has(symbol)) return refuse(400, CODE.BAD_SYMBOL, 'Invalid symbol.');
    const key = `${apiKey}:${symbol}`;
    setupCalls.push(`marginType ${key}`);
    const marginType = params.get('marginType');
    if (marginType !== 'ISOLATED' && marginType !== 'CROSSED') return invalidParameter('marginType');
    if ((settingsOf(apiKey, symbol).isolated ? 'ISOLATED' : 'CROSSED') === marginType) return refuse(400, CODE.NO_NEED_TO_CHANGE_MARGIN_TYPE, 'No need to change margin type.');
    if (orders.some((o) => o.apiKey === apiKey && o.symbol === symbol && isOpen(o))) {
      return refuse(400, CODE.THERE_EXISTS_OPEN_ORDERS, 'Margin type cannot be changed if there exists open orders.');
    }
    if (positionOf(account, symbol).atoms !== 0) return refuse(400, CODE.THERE_EXISTS_QUANTITY, 'Margin type cannot be changed if there exists position.');
    accountSettings.set(key, { ...accountSettings.get(key), marginType });
    return { status: 200, body: { code: 200, msg: 'success' } };
  }

  const signedRoutes: Record<string, (call: SignedCall) => Answer> = {
    'POST /fapi/v1/order': newOrder,
    'GET /fapi/v1/order': queryOrder,
    'DELETE /fapi/v1/order': cancelOrder,
    'GET /fapi/v1/allOrders': allOrders,
    'GET /fapi/v1/userTrades': userTrades,
    'GET /fapi/v1/income': income,
    'GET /fapi/v2/positionRisk': positionRisk,
    'POST /fapi/v1/leverage': changeLeverage,
    'POST /fapi/v1/marginType': changeMarginType,
    'POST /fapi/v1/algoOrder': newAlgoOrder,
    'GET /fapi/v1/openAlgoOrders': openAlgoOrders,
    'DELETE /fapi/v1/algoOrder': cancelAlgoOrder,
  };

  const tickerOf = (symbol: string) => ({ symbol, price: microsToDecimal(priceAt(symbol)), time: clock.now() });
  // The replay has trades only: the mark is the last close, as close as a mark gets.
  const premiumIndexOf = (symbol: string) => {
    const mark = microsToDecimal(priceAt(symbol));
    return { symbol, markPrice: mark, indexPrice: mark, lastFundingRate: '0.00010000', nextFundingTime: clock.now() + 8 * 3_600_000, time: clock.now() };
  };
  /** A market-data answer for one symbol (`symbol`), or for all when none is named. */
  const perSymbol = (params: URLSearchParams, answer: (symbol: string) => unknown): Answer => {
    const symbol = params.get('symbol');
    if (symbol === null) return { status: 200, body: [...candles.keys()].map(answer) };
    return candles.has(symbol) ? { status: 200, body: answer(symbol) } : refuse(400, CODE.BAD_SYMBOL, 'Invalid symbol.');
  };

  const publicRoutes: Record<string, (params: URLSearchParams) => Answer> = {
    'GET /fapi/v1/time': () => ({ status: 200, body: { serverTime: Date.now() } }),
    'GET /fapi/v1/exchangeInfo': () => ({
      status: 200,
      body: {
        timezone: 'UTC',
        serverTime: Date.now(),
        rateLimits: [
          { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: limits.weightPerMinute },
          { rateLimitType: 'ORDERS', interval: 'MINUTE', intervalNum: 1, limit: limits.ordersPerMinute },
          { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: limits.ordersPer10s },
        ],
        exchangeFilters: [],
        symbols: [...candles.keys()].map(symbolInfo),
      },
    }),
    'GET /fapi/v1/ticker/price': (params) => perSymbol(params, tickerOf),
    'GET /fapi/v1/premiumIndex': (params) => perSymbol(params, premiumIndexOf),
    'GET /fapi/v1/klines': (params) => {
      const symbol = params.get('symbol');
      if (!symbol) return mandatory('symbol');
      if (!candles.has(symbol)) return refuse(400, CODE.BAD_SYMBOL, 'Invalid symbol.');
      // The replay holds one-minute candles only: any other interval would be answered wrongly.
      if (params.get('interval') !== '1m') return refuse(400, CODE.BAD_INTERVAL, 'Invalid interval.');
      const limit = limitOf(params, 500, 1_500);
      // Completed minutes only, never past the replay clock: no peeking at the future.
      const end = Math.min(Number(params.get('endTime') ?? Number.POSITIVE_INFINITY), clock.now());
      const rows = seriesOf(symbol).completedAt(end + 1, limit);
      return {
        status: 200,
        body: rows.map((c) => [c.openTime, microsToDecimal(c.openMicros), microsToDecimal(c.highMicros), microsToDecimal(c.lowMicros), microsToDecimal(c.closeMicros), c.volume, c.openTime + MINUTE - 1]),
      };
    },
  };

  /** Each route's IP weight ("Request Weight" on its page); placing an order weighs 0 and counts against the account's ORDERS. */
  function weightOf(route: string, params: URLSearchParams): number {
    switch (route) {
      case 'GET /fapi/v1/klines': {
        const limit = limitOf(params, 500, 1_500);
        return limit < 100 ? 1 : limit < 500 ? 2 : limit <= 1_000 ? 5 : 10;
      }
      case 'GET /fapi/v1/ticker/price':
        return params.has('symbol') ? 1 : 2;
      case 'GET /fapi/v1/premiumIndex':
        return params.has('symbol') ? 1 : 10;
      case 'POST /fapi/v1/order':
      case 'POST /fapi/v1/algoOrder':
        return 0;
      case 'GET /fapi/v1/openAlgoOrders':
        return params.has('symbol') ? 1 : 40;
      case 'GET /fapi/v1/allOrders':
      case 'GET /fapi/v1/userTrades':
      case 'GET /fapi/v2/positionRisk':
        return 5;
      case 'GET /fapi/v1/income':
        return 30;
      default:
        return 1;
    }
  }

  /** The IP's weight budget: over it 429 with Retry-After; a request before Retry-After has passed is banned with 418. */
  function admitByWeight(ip: string, weight: number): Admission {
    const now = Date.now();
    let budget = ipBudgets.get(ip);
    if (!budget) {
      budget = { weight: new FixedWindow(MINUTE), backOffUntil: 0, bannedUntil: 0 };
      ipBudgets.set(ip, budget);
    }
    if (now < budget.backOffUntil && now >= budget.bannedUntil) budget.bannedUntil = now + limits.banSeconds * 1_000;
    if (now < budget.bannedUntil) {
      return { headers: {}, refusal: { ...ipBanned(budget.bannedUntil), headers: { 'Retry-After': retryAfter(budget.bannedUntil - now) } } };
    }
    const used = budget.weight.add(weight, now);
    const headers = { 'X-MBX-USED-WEIGHT-1M': String(used) };
    if (used <= limits.weightPerMinute) return { headers };
    budget.backOffUntil = budget.weight.endsAt;
    return { headers, refusal: { ...tooManyRequests(limits.weightPerMinute), headers: { ...headers, 'Retry-After': retryAfter(budget.backOffUntil - now) } } };
  }

  /**
   * The signed-request checks (General Info, Endpoint Security and Timing Security): the API key
   * (-2014 when absent or not a key at all, -2015 when no account has it), the HMAC over query and
   * body (-1022), and timestamp within recvWindow (-1021). The USDⓈ-M pages set no maximum
   * recvWindow; the stand-in holds to Binance's 60 000 ms elsewhere (Spot) as the stricter reading.
   */
  function authenticate(req: IncomingMessage, totalParams: string, params: URLSearchParams): { readonly apiKey: string; readonly account: Account } | Answer {
    const apiKey = String(req.headers['x-mbx-apikey'] ?? '');
    if (!/^[\x21-\x7e]{1,128}$/.test(apiKey)) return refuse(401, CODE.BAD_API_KEY_FMT, 'API-key format invalid.');
    const account = accounts.get(apiKey);
    if (!account) return refuse(401, CODE.REJECTED_MBX_KEY, 'Invalid API-key, IP, or permissions for action.');
    if (!verifySignedQuery(totalParams, account.secret)) return refuse(400, CODE.INVALID_SIGNATURE, 'Signature for this request is not valid.');
    const timestampText = params.get('timestamp');
    if (!timestampText) return mandatory('timestamp');
    const recvWindow = Number(params.get('recvWindow') ?? DEFAULT_RECV_WINDOW_MS);
    if (!Number.isInteger(recvWindow) || recvWindow <= 0 || recvWindow > MAX_RECV_WINDOW_MS) return invalidParameter('recvWindow');
    const timestamp = Number(timestampText);
    const serverTime = Date.now();
    if (!Number.isFinite(timestamp) || timestamp >= serverTime + AHEAD_TOLERANCE_MS) {
      return refuse(400, CODE.INVALID_TIMESTAMP, "Timestamp for this request was 1000ms ahead of the server's time.");
    }
    if (serverTime - timestamp > recvWindow) return refuse(400, CODE.INVALID_TIMESTAMP, 'Timestamp for this request is outside of the recvWindow.');
    return { apiKey, account };
  }

  function nextFault(path: string, method: string): VenueFault | undefined {
    const queue = faults.get(path);
    const index = queue?.findIndex((f) => f.method === undefined || f.method === method) ?? -1;
    return index < 0 ? undefined : queue?.splice(index, 1)[0]?.fault;
  }

  function injectFault(path: string, fault: VenueFault, { method, count = 1 }: { readonly method?: string; readonly count?: number } = {}): void {
    const queue = faults.get(path) ?? [];
    for (let i = 0; i < count; i += 1) queue.push({ method, fault });
    faults.set(path, queue);
  }

  /** The answer to a venue request, before any fault that comes after execution. */
  function execute(req: IncomingMessage, url: URL, body: string): Answer {
    const method = req.method ?? 'GET';
    const route = `${method} ${url.pathname}`;
    // Parameters may also come in a form body; the query string wins where both have one (General Info).
    const params = new URLSearchParams(body);
    for (const [name, value] of url.searchParams) params.set(name, value);
    const publicRoute = publicRoutes[route];
    if (publicRoute) return publicRoute(params);
    const signedRoute = signedRoutes[route];
    if (!signedRoute) return refuse(404, CODE.UNKNOWN, 'unknown endpoint');
    const caller = authenticate(req, url.search.slice(1) + body, params);
    if ('status' in caller) return caller;
    return signedRoute({ params, ...caller });
  }

  /** The venue: geo-block, rate limits, faults before and after execution, outages. */
  function serveVenue(req: IncomingMessage, res: ServerResponse, url: URL, body: string): void {
    const method = req.method ?? 'GET';
    const route = `${method} ${url.pathname}`;
    requests.set(route, (requests.get(route) ?? 0) + 1);
    triggerStops();
    if (geoBlocked) {
      write(res, { status: 451, body: { code: 0, msg: "Service unavailable from a restricted location according to 'b. Eligibility' in https://www.binance.com/en/terms." } });
      return;
    }
    const admitted = admitByWeight(req.socket.remoteAddress ?? '', weightOf(route, url.searchParams));
    if (admitted.refusal) {
      write(res, admitted.refusal);
      return;
    }
    const fault = nextFault(url.pathname, method);
    if (fault?.kind === 'refuse_before') {
      write(res, { status: fault.status, body: fault.body ?? {}, headers: fault.headers });
      return;
    }
    if (fault?.kind === 'rate_limited') {
      const refusal = fault.status === 429 ? tooManyRequests(limits.weightPerMinute) : ipBanned(Date.now() + fault.retryAfterSeconds * 1_000);
      write(res, { ...refusal, headers: { 'Retry-After': String(fault.retryAfterSeconds) } });
      return;
    }
    const down = outages.get(url.pathname);
    if (down !== undefined) {
      write(res, refuse(down, CODE.DISCONNECTED, 'Internal error; unable to process your request. Please try again.'));
      return;
    }
    let answer: Answer;
    try {
      answer = execute(req, url, body);
    } catch (error) {
      answer = refuse(400, (error as { code?: number }).code ?? CODE.UNKNOWN, (error as Error).message);
    }
    answer = { ...answer, headers: { ...admitted.headers, ...answer.headers } };
    switch (fault?.kind) {
      case 'execute_then_drop':
        req.socket.destroy();
        return;
      case 'execute_then_status': {
        const code = fault.code ?? (fault.status === 503 ? CODE.UNKNOWN : CODE.TIMEOUT);
        write(res, { status: fault.status, body: fault.plainText ?? { code, msg: EXECUTION_UNKNOWN[code] } });
        return;
      }
      case 'execute_then_delay': {
        const timer = setTimeout(() => {
          delayed.delete(timer);
          write(res, answer);
        }, fault.delayMs);
        delayed.add(timer);
        return;
      }
      default:
        write(res, answer);
    }
  }

  function serveAdmin(method: string, url: URL, body: string): Answer {
    const route = `${method} ${url.pathname.slice(ADMIN_PREFIX.length - 1)}`;
    if (route === 'POST /faults') {
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        return { status: 400, body: { error: 'the body must be JSON' } };
      }
      const parsed = FaultRequest.safeParse(json);
      if (!parsed.success) return { status: 400, body: { error: 'not a fault', issues: parsed.error.issues } };
      const { path, method: faultMethod, count, ...fault } = parsed.data;
      injectFault(path, fault as VenueFault, { method: faultMethod, count });
      return { status: 200, body: { path, queued: faults.get(path)?.length ?? 0 } };
    }
    if (route === 'DELETE /faults') {
      faults.clear();
      return { status: 200, body: { cleared: true } };
    }
    if (route === 'GET /orders') return { status: 200, body: venueOrders(url.searchParams.get('apiKey') ?? undefined) };
    return { status: 404, body: { error: `no admin route ${route}` } };
  }

  function write(res: ServerResponse, answer: Answer): void {
    if (res.destroyed || res.writableEnded) return;
    const text = typeof answer.body === 'string';
    res.writeHead(answer.status, { 'content-type': text ? 'text/plain' : 'application/json', ...answer.headers });
    res.end(text ? answer.body : JSON.stringify(answer.body));
  }

  function venueOrders(apiKey?: string): VenueOrderRow[] {
    triggerStops();
    return orders.filter((o) => apiKey === undefined || o.apiKey === apiKey).map((o) => ({ ...orderJson(o), apiKey: o.apiKey }));
  }

  function openOrderWithClientId(clientOrderId: string): StandInOrder {
    const order = latestWithClientId(clientOrderId, isOpen);
    if (!order) throw new Error(`no open stand-in order ${clientOrderId}`);
    return order;
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const body = Buffer.concat(chunks).toString('utf8');
      if (url.pathname.startsWith(ADMIN_PREFIX)) write(res, serveAdmin(req.method ?? 'GET', url, body));
      else serveVenue(req, res, url, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    clock,
    requests,
    priceAt,
    accountSettings,
    setupCalls,
    orderAccounts,
    holdOrders(on) {
      holding = on;
    },
    fill(clientOrderId, quantity, price) {
      const order = openOrderWithClientId(clientOrderId);
      // A reduce-only order never turns into a position the other way: with nothing left to close it expires.
      const atoms = order.reduceOnly ? Math.min(quantityToAtoms(quantity), closableAtoms(order.apiKey, order.symbol, order.side, order)) : quantityToAtoms(quantity);
      if (atoms > 0) trade(order, atoms, price ?? order.placedAtMicros);
      else {
        order.status = 'EXPIRED';
        order.updateTime = clock.now();
      }
    },
    cancel(clientOrderId) {
      const order = openOrderWithClientId(clientOrderId);
      order.status = 'CANCELED';
      order.updateTime = clock.now();
    },
    failNext(path, status, body = {}, headers = {}) {
      injectFault(path, { kind: 'refuse_before', status, body, headers });
    },
    injectFault,
    clearFaults() {
      faults.clear();
    },
    venueOrders,
    ordersFor(clientOrderId, apiKey) {
      return venueOrders(apiKey).filter((o) => o.clientOrderId === clientOrderId);
    },
    setBalance(apiKey, usd) {
      accountOf(apiKey).walletMicros = typeof usd === 'number' ? usd : usdToMicros(usd);
    },
    balanceOf(apiKey) {
      triggerStops();
      return { walletMicros: accountOf(apiKey).walletMicros, availableMicros: availableMicros(apiKey) };
    },
    positionOf(apiKey, symbol) {
      triggerStops();
      const held = accountOf(apiKey).positions.get(symbol);
      return { atoms: held?.atoms ?? 0, marginMicros: held && settingsOf(apiKey, symbol).isolated ? held.marginMicros : 0 };
    },
    setRateLimits(changed) {
      limits = { ...limits, ...changed };
      ipBudgets.clear();
      for (const account of accounts.values()) {
        account.ordersPer10s = new FixedWindow(10_000);
        account.ordersPerMinute = new FixedWindow(MINUTE);
      }
    },
    setBookLevel(quantity) {
      bookLevelAtoms = quantityToAtoms(quantity);
    },
    payFeesInBnb(apiKey, on) {
      if (on) bnbPayers.add(apiKey);
      else bnbPayers.delete(apiKey);
    },
    liquidateByVenue(apiKey, symbol, price) {
      const held = positionOf(accountOf(apiKey), symbol).atoms;
      if (held === 0) throw new Error(`nothing held in ${symbol} on ${apiKey}`);
      const order = newOrderRecord({
        apiKey,
        clientOrderId: `autoclose-${nextId}`,
        symbol,
        side: held > 0 ? 'SELL' : 'BUY',
        type: 'LIMIT',
        timeInForce: 'IOC',
        quantityAtoms: Math.abs(held),
        limitPriceMicros: price,
        placedAtMicros: price,
        reduceOnly: true,
      });
      trade(order, order.quantityAtoms, price);
      return order.clientOrderId;
    },
    tradeByHand(apiKey, symbol, signedQuantity) {
      const negative = signedQuantity.startsWith('-');
      const mark = priceAt(symbol);
      const order = newOrderRecord({
        apiKey,
        clientOrderId: `web_${randomBytes(12).toString('base64url')}`,
        symbol,
        side: negative ? 'SELL' : 'BUY',
        type: 'MARKET',
        timeInForce: 'GTC',
        quantityAtoms: quantityToAtoms(negative ? signedQuantity.slice(1) : signedQuantity),
        limitPriceMicros: 0,
        placedAtMicros: mark,
        reduceOnly: false,
      });
      trade(order, order.quantityAtoms, mark);
    },
    addFunding(apiKey, symbol, amount) {
      accountOf(apiKey).walletMicros += signedVenueUsdToMicros(amount);
      incomes.push({ apiKey, symbol, incomeType: 'FUNDING_FEE', income: amount, time: clock.now(), tranId: nextId++, tradeId: '' });
    },
    geoBlock(on) {
      geoBlocked = on;
    },
    outage(path, status) {
      if (status === undefined) outages.delete(path);
      else outages.set(path, status);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of delayed) clearTimeout(timer);
        delayed.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
