import { z } from 'zod';
import {
  type Exchange,
  ExchangeError,
  type ExchangeFill,
  type ExchangeOrder,
  ExchangeOrderStatus,
  type Kline,
  VENUE_MADE_ORDER,
  type PlaceOrderRequest,
  type SymbolFilters,
  type Ticker,
  type VenueIncome,
  type SymbolSetup,
  type VenuePosition,
  type VenueStops,
} from '../../domain/exchange.js';
import type { StopOrder } from '../../domain/protective-stop.js';
import { type CommissionMicros, USD, USD_STABLE_ASSETS, commissionMicros, microsToDecimal, signedVenueUsdToMicros } from '../../domain/money.js';
import { retryWithBackoff, sleep } from '../../concurrency/retry.js';
import { canonicalDecimal } from '../../domain/decimal.js';
import { atomsToQuantity, notionalOfAtoms, quantityToAtoms } from '../../domain/quantity.js';
import { EXECUTION_STATUS_UNKNOWN_CODES, venueError } from './errors.js';
import { type QueryParams, buildSignedQuery, encodeQuery } from './signing.js';
import {
  AlgoOrder,
  ExchangeInfo,
  Income,
  KlineRow,
  PositionRisk,
  PremiumIndex,
  ServerTime,
  TickerPrice,
  UserTrade,
  VenueError,
  VenueOrder,
  priceMicros,
} from './wire.js';

/**
 * A Binance-compatible USDⓈ-M futures REST client (Binance, Aster DEX): signed requests with
 * timestamp and recvWindow, the server-clock offset, symbol filters checked before sending,
 * idempotent placement by client order id, and backoff on 429 / 418 / 5xx.
 */

export interface BinanceFuturesOptions {
  readonly baseUrl: string;
  readonly apiKey?: string;
  readonly apiSecret?: string;
  readonly recvWindowMs?: number;
  readonly maxRetries?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly timeoutMs?: number;
}

/** A venue that is busy (429 / 418 / 5xx) or unreachable: worth another try, after the wait it asked for if it did. */
class VenueBusy extends ExchangeError {
  constructor(
    reason: 'rate_limited' | 'exchange_unavailable',
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(reason, message, true);
  }
}

/**
 * A placement whose outcome the venue did not tell: the connection dropped or timed out after the
 * request went out, or the venue answered 5xx, -1006 or -1007. The order may exist; only asking
 * the venue says. Never retried blindly: a MARKET order is FILLED at once, and Binance keeps a
 * client order id unique among open orders only, so the same id sent again is a second order.
 */
class PlacementStatusUnknown extends ExchangeError {
  constructor(message: string) {
    super('status_unknown', message, true);
  }
}

/** The longest wait between two tries of one call. */
const MAX_RETRY_DELAY_MS = 10_000;

/** How many times one placeOrder call sends an order the venue has twice said it does not have. */
const MAX_SENDS = 2;

/** Binance's answer to setting the margin type a symbol already has. */
const NO_NEED_TO_CHANGE_MARGIN_TYPE = -4046;

const CLIENT_ORDER_ID = /^[.A-Z:/a-z0-9_-]{1,36}$/;
const FILTERS_TTL_MS = 5 * 60_000;

interface Call {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly params?: QueryParams;
  readonly signed?: boolean;
  /** A new order: a failure after the request left may have executed it (PlacementStatusUnknown). */
  readonly places?: boolean;
}

/** positionRisk's positionAmt ("-0.015") as signed atoms. */
function signedPositionAtoms(positionAmt: string): number {
  const negative = positionAmt.startsWith('-');
  const atoms = quantityToAtoms(canonicalDecimal(negative ? positionAmt.slice(1) : positionAmt));
  return negative ? -atoms : atoms;
}

export class BinanceFuturesClient implements Exchange, VenueStops {
  readonly venue = 'binance' as const;
  private clockOffsetMs: number | undefined;
  private filters: { at: number; bySymbol: Map<string, SymbolFilters> } | undefined;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: BinanceFuturesOptions) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? sleep;
  }

  /**
   * The venue answers from here, with a sane clock and its symbols: a check to run at start, so
   * a geo-block or a wrong URL is one clear error, not a failure on the first order.
   */
  async checkVenue(): Promise<{ readonly clockOffsetMs: number; readonly symbols: number }> {
    const clockOffsetMs = await this.serverClockOffset();
    const info = ExchangeInfo.parse(await this.call({ method: 'GET', path: '/fapi/v1/exchangeInfo' }));
    return { clockOffsetMs, symbols: info.symbols.length };
  }

  async markPrice(symbol: string): Promise<Ticker> {
    const body = PremiumIndex.parse(await this.call({ method: 'GET', path: '/fapi/v1/premiumIndex', params: { symbol } }));
    return { symbol: body.symbol, priceMicros: priceMicros(body.markPrice), time: body.time ?? this.now() };
  }

  async ticker(symbol: string): Promise<Ticker> {
    const body = TickerPrice.parse(await this.call({ method: 'GET', path: '/fapi/v1/ticker/price', params: { symbol } }));
    return { symbol: body.symbol, priceMicros: priceMicros(body.price), time: body.time ?? this.now() };
  }

  async klines(symbol: string, limit: number, endTime?: number): Promise<Kline[]> {
    const rows = z.array(KlineRow).parse(
      await this.call({ method: 'GET', path: '/fapi/v1/klines', params: { symbol, interval: '1m', limit, endTime } }),
    );
    return rows.map(([openTime, open, high, low, close, volume, closeTime]) => ({
      openTime,
      closeTime,
      openMicros: priceMicros(open),
      highMicros: priceMicros(high),
      lowMicros: priceMicros(low),
      closeMicros: priceMicros(close),
      volume,
    }));
  }

  async symbolFilters(symbol: string): Promise<SymbolFilters> {
    if (!this.filters || this.now() - this.filters.at > FILTERS_TTL_MS) {
      const info = ExchangeInfo.parse(await this.call({ method: 'GET', path: '/fapi/v1/exchangeInfo' }));
      const bySymbol = new Map<string, SymbolFilters>();
      for (const s of info.symbols) {
        const find = (type: string): Record<string, unknown> => s.filters.find((f) => f.filterType === type) ?? {};
        const text = (value: unknown, fallback: string) => (typeof value === 'string' ? value : fallback);
        const price = find('PRICE_FILTER');
        const lot = find('LOT_SIZE');
        const minNotional = find('MIN_NOTIONAL');
        bySymbol.set(s.symbol, {
          symbol: s.symbol,
          tickSizeMicros: Math.max(1, priceMicros(text(price.tickSize, '0.000001'))),
          stepSizeAtoms: Math.max(1, quantityToAtoms(text(lot.stepSize, '0.00000001'))),
          minQtyAtoms: quantityToAtoms(text(lot.minQty, '0')),
          minNotionalMicros: priceMicros(text(minNotional.notional, '0')),
        });
      }
      this.filters = { at: this.now(), bySymbol };
    }
    const filters = this.filters.bySymbol.get(symbol);
    if (!filters) throw new ExchangeError('unknown_symbol', `the venue does not list ${symbol}`, false, -1121);
    return filters;
  }

  async placeOrder(order: PlaceOrderRequest): Promise<ExchangeOrder> {
    if (!CLIENT_ORDER_ID.test(order.clientOrderId)) {
      throw new ExchangeError('rejected', `client order id must match ${CLIENT_ORDER_ID}`, false);
    }
    await this.checkFilters(order);
    // A close never touches leverage or margin type: Binance refuses to lower the leverage of an
    // open isolated position (-4161), and a close needs neither — it only reduces what is there.
    if (!order.reduceOnly) await this.prepareSymbol(order.symbol, order.leverage, order.venueSetup);
    for (let send = 1; ; send += 1) {
      const sentAt = this.now();
      try {
        const body = await this.call({
          method: 'POST',
          path: '/fapi/v1/order',
          signed: true,
          places: true,
          params: {
            symbol: order.symbol,
            side: order.side,
            type: order.type,
            quantity: order.quantity,
            reduceOnly: order.reduceOnly ? 'true' : undefined,
            newClientOrderId: order.clientOrderId,
            newOrderRespType: 'RESULT',
          },
        });
        return toExchangeOrder(VenueOrder.parse(body));
      } catch (error) {
        // An open order already has this id: it is this order, from an earlier send.
        if (error instanceof ExchangeError && error.reason === 'duplicate_order') {
          const existing = await this.getOrder(order.symbol, order.clientOrderId);
          if (existing) return existing;
        }
        if (!(error instanceof PlacementStatusUnknown)) throw error;
        const found = await this.findAfterUnknown(order, sentAt, error);
        if (found) return found;
        if (send >= MAX_SENDS) throw error;
      }
    }
  }

  /**
   * After an unknown answer, the order as the venue has it; undefined only once the venue has
   * said twice that it does not exist, the second time after the lost request's recvWindow had
   * passed (the venue refuses a request older than that, so the lost one can no longer land).
   * Any failure to ask is still unknown: the caller must not treat the order as refused.
   */
  private async findAfterUnknown(order: PlaceOrderRequest, sentAt: number, unknown: PlacementStatusUnknown): Promise<ExchangeOrder | undefined> {
    try {
      const first = await this.getOrder(order.symbol, order.clientOrderId);
      if (first) return first;
      const settle = sentAt + this.recvWindowMs() - this.now();
      if (settle > 0) await this.sleep(settle);
      return await this.getOrder(order.symbol, order.clientOrderId);
    } catch (error) {
      throw new PlacementStatusUnknown(`${unknown.message}; asking the venue failed too: ${(error as Error).message}`);
    }
  }

  async cancelOrder(symbol: string, clientOrderId: string): Promise<ExchangeOrder> {
    const body = await this.call({ method: 'DELETE', path: '/fapi/v1/order', signed: true, params: { symbol, origClientOrderId: clientOrderId } });
    return toExchangeOrder(VenueOrder.parse(body));
  }

  /**
   * A STOP_MARKET with closePosition through the Algo Service (POST /fapi/v1/algoOrder; /fapi/v1/order
   * refuses conditional types with -4120 since 2025-12-09), fired by the mark price. An unknown
   * answer is resolved by asking: waiting under its id, it was placed; otherwise the caller's next
   * run places it again, and -4116 then means an earlier send landed.
   */
  async placeStop(stop: StopOrder): Promise<void> {
    const params = {
      algoType: 'CONDITIONAL',
      symbol: stop.symbol,
      side: stop.side,
      type: 'STOP_MARKET',
      triggerPrice: microsToDecimal(stop.triggerMicros),
      workingType: 'MARK_PRICE',
      closePosition: 'true',
      clientAlgoId: stop.clientAlgoId,
    };
    try {
      await this.call({ method: 'POST', path: '/fapi/v1/algoOrder', signed: true, places: true, params });
    } catch (error) {
      if (error instanceof ExchangeError && error.reason === 'duplicate_order') return;
      if (error instanceof PlacementStatusUnknown && (await this.restingStops()).some((s) => s.clientAlgoId === stop.clientAlgoId)) return;
      throw error;
    }
  }

  async restingStops(): Promise<StopOrder[]> {
    const rows = z.array(AlgoOrder).parse(await this.call({ method: 'GET', path: '/fapi/v1/openAlgoOrders', signed: true }));
    return rows.filter((r) => r.algoStatus === 'NEW').map((r) => ({ clientAlgoId: r.clientAlgoId, symbol: r.symbol, side: r.side, triggerMicros: priceMicros(r.triggerPrice) }));
  }

  async cancelStop(symbol: string, clientAlgoId: string): Promise<boolean> {
    try {
      await this.call({ method: 'DELETE', path: '/fapi/v1/algoOrder', signed: true, params: { symbol, clientAlgoId } });
      return true;
    } catch (error) {
      if (error instanceof ExchangeError && error.reason === 'order_not_found') return false;
      throw error;
    }
  }

  async getOrder(symbol: string, clientOrderId: string): Promise<ExchangeOrder | undefined> {
    try {
      const body = await this.call({ method: 'GET', path: '/fapi/v1/order', signed: true, params: { symbol, origClientOrderId: clientOrderId } });
      return toExchangeOrder(VenueOrder.parse(body));
    } catch (error) {
      if (error instanceof ExchangeError && error.reason === 'order_not_found') return undefined;
      throw error;
    }
  }

  async orderFills(order: ExchangeOrder): Promise<ExchangeFill[]> {
    const params = { symbol: order.symbol, orderId: order.exchangeOrderId };
    const trades = await this.call({ method: 'GET', path: '/fapi/v1/userTrades', signed: true, params }).then((b) => z.array(UserTrade).parse(b));
    const fills: ExchangeFill[] = [];
    for (const t of trades.filter((trade) => trade.orderId === order.exchangeOrderId)) {
      const { feeMicros, rebateMicros } = await this.commissionOf(t);
      fills.push({
        tradeId: t.id,
        clientOrderId: order.clientOrderId,
        exchangeOrderId: t.orderId,
        symbol: t.symbol,
        side: t.side,
        quantity: canonicalDecimal(t.qty),
        priceMicros: priceMicros(t.price),
        feeMicros,
        ...(rebateMicros > 0 ? { rebateMicros } : {}),
        time: t.time,
      });
    }
    return fills.sort((a, b) => a.time - b.time);
  }

  /**
   * A trade's commission in micro-USD, from the asset the venue charged it in: a stablecoin 1:1,
   * any other (BNB with the fee discount) at the venue's price of <ASSET>USDT in the trade's
   * minute. An asset the venue cannot price is refused, naming it, never booked as USD.
   */
  private async commissionOf(trade: z.infer<typeof UserTrade>): Promise<CommissionMicros> {
    const asset = trade.commissionAsset ?? 'USDT';
    if (USD_STABLE_ASSETS.has(asset)) return commissionMicros(trade.commission, USD);
    const candle = await this.klines(`${asset}USDT`, 1, trade.time).then(
      (rows) => rows.at(-1),
      () => undefined,
    );
    if (!candle) throw new ExchangeError('rejected', `trade ${trade.id}: commission ${trade.commission} ${asset} cannot be valued: the venue has no ${asset}USDT price`, false);
    return commissionMicros(trade.commission, candle.closeMicros);
  }

  /**
   * Makes the symbol isolated at the order's `leverage` where the venue has it otherwise — read
   * from the venue now (`known`, or positionRisk), never from a memory of this process, which
   * another instance may have made stale: an order never trades at the venue's defaults (often
   * 20× and cross margin). "No need to change" is success; any other refusal blocks the order
   * with venue_setup_failed.
   */
  private async prepareSymbol(symbol: string, leverage: number, known?: SymbolSetup): Promise<void> {
    const setup = known ?? (await this.symbolSetup(symbol));
    if (setup.isolated && setup.leverage === leverage) return;
    try {
      if (!setup.isolated) {
        await this.call({ method: 'POST', path: '/fapi/v1/marginType', signed: true, params: { symbol, marginType: 'ISOLATED' } }).catch((error: unknown) => {
          if (!(error instanceof ExchangeError && error.venueCode === NO_NEED_TO_CHANGE_MARGIN_TYPE)) throw error;
        });
      }
      if (setup.leverage !== leverage) await this.call({ method: 'POST', path: '/fapi/v1/leverage', signed: true, params: { symbol, leverage } });
    } catch (error) {
      if (error instanceof ExchangeError && !error.retryable) {
        throw new ExchangeError('venue_setup_failed', `could not set ${leverage}× isolated margin on ${symbol}: ${error.message}`, false, error.venueCode);
      }
      throw error;
    }
  }

  async symbolSetup(symbol: string): Promise<SymbolSetup> {
    const rows = z.array(PositionRisk).parse(await this.call({ method: 'GET', path: '/fapi/v2/positionRisk', signed: true, params: { symbol } }));
    const row = rows.find((r) => r.symbol === symbol);
    if (!row) return { quantityAtoms: 0 };
    return { quantityAtoms: signedPositionAtoms(row.positionAmt), ...(row.leverage ? { leverage: Number(row.leverage) } : {}), isolated: row.marginType?.toLowerCase() === 'isolated' };
  }

  async venueMadeOrders(symbol: string): Promise<ExchangeOrder[]> {
    const rows = z.array(VenueOrder).parse(await this.call({ method: 'GET', path: '/fapi/v1/allOrders', signed: true, params: { symbol, limit: 100 } }));
    return rows.filter((o) => VENUE_MADE_ORDER.test(o.clientOrderId)).map(toExchangeOrder);
  }

  async positions(): Promise<VenuePosition[]> {
    const rows = z.array(PositionRisk).parse(await this.call({ method: 'GET', path: '/fapi/v2/positionRisk', signed: true }));
    return rows.flatMap((r) => {
      const atoms = signedPositionAtoms(r.positionAmt);
      return atoms === 0 ? [] : [{ symbol: r.symbol, quantityAtoms: atoms }];
    });
  }

  async fundingSince(startTime?: number): Promise<VenueIncome[]> {
    const params = { incomeType: 'FUNDING_FEE', limit: 1_000, ...(startTime === undefined ? {} : { startTime }) };
    const rows = z.array(Income).parse(await this.call({ method: 'GET', path: '/fapi/v1/income', signed: true, params }));
    return rows
      .filter((r) => r.incomeType === 'FUNDING_FEE')
      .map((r) => ({ tranId: r.tranId, symbol: r.symbol, type: 'FUNDING_FEE' as const, amountMicros: signedVenueUsdToMicros(r.income), time: r.time }))
      .sort((a, b) => a.time - b.time);
  }

  private async checkFilters(order: PlaceOrderRequest): Promise<void> {
    const filters = await this.symbolFilters(order.symbol);
    const atoms = quantityToAtoms(order.quantity);
    if (atoms <= 0 || atoms % filters.stepSizeAtoms !== 0 || atoms < filters.minQtyAtoms) {
      throw new ExchangeError('invalid_quantity', `quantity ${order.quantity} is off the step ${atomsToQuantity(filters.stepSizeAtoms)} or below the minimum`, false);
    }
    if (!order.reduceOnly) {
      const price = (await this.ticker(order.symbol)).priceMicros;
      if (notionalOfAtoms(atoms, price) < filters.minNotionalMicros) {
        throw new ExchangeError('min_notional', `notional below the venue minimum for ${order.symbol}`, false);
      }
    }
  }

  /** One REST call with its retries: backoff on 429/418/5xx and network errors, a clock resync on -1021. */
  private async call(call: Call): Promise<unknown> {
    let resynced = false;
    return retryWithBackoff(() => this.attempt(call), {
      attempts: (this.options.maxRetries ?? 4) + 1,
      baseDelayMs: 250,
      maxDelayMs: MAX_RETRY_DELAY_MS,
      jitter: 'equal',
      sleep: this.sleep,
      retryOn: (error) => {
        if (error instanceof VenueBusy) {
          // A wait longer than our longest backoff (an IP ban, 418) is not slept through here:
          // sending again before it ends only extends the ban. The caller's redelivery comes later.
          if (error.retryAfterMs !== undefined) return error.retryAfterMs <= MAX_RETRY_DELAY_MS ? { delayMs: error.retryAfterMs } : false;
          return true;
        }
        if (error instanceof ExchangeError && error.reason === 'timestamp_out_of_window' && !resynced) {
          // Our clock drifted from the venue's: measure the offset again and retry at once.
          resynced = true;
          this.clockOffsetMs = undefined;
          return { delayMs: 0 };
        }
        return false;
      },
    });
  }

  private async attempt(call: Call): Promise<unknown> {
    let response: Response;
    let text: string;
    try {
      response = await fetch(await this.url(call), {
        method: call.method,
        headers: call.signed && this.options.apiKey ? { 'X-MBX-APIKEY': this.options.apiKey } : {},
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
      text = await response.text();
    } catch (error) {
      // Refused before a connection opened, nothing was sent; anything later (a reset, a timeout) may have executed.
      if (call.places && !neverSent(error)) throw new PlacementStatusUnknown(`no answer to the order: ${causeOf(error)}`);
      throw new VenueBusy('exchange_unavailable', `venue unreachable: ${causeOf(error)}`);
    }
    if (response.ok) return JSON.parse(text) as unknown;
    if (response.status === 451 || (response.status === 403 && !call.signed)) {
      // CloudFront's answer to a restricted location: no retry helps, the deployment must move.
      throw new ExchangeError(
        'geo_blocked',
        `${this.options.baseUrl} refuses requests from this location (HTTP ${response.status}): deploy Sapphire in a region the venue serves (see README, "Going live")`,
        false,
      );
    }
    const parsed = VenueError.safeParse(safeJson(text));
    if (call.places && (response.status >= 500 || (parsed.success && EXECUTION_STATUS_UNKNOWN_CODES.has(parsed.data.code)))) {
      throw new PlacementStatusUnknown(`the venue answered ${response.status}${parsed.success ? ` ${parsed.data.code} ${parsed.data.msg}` : ''}: execution status unknown`);
    }
    if (response.status === 429 || response.status === 418 || response.status >= 500) {
      const retryAfterSeconds = Number(response.headers.get('retry-after'));
      throw new VenueBusy(
        response.status >= 500 ? 'exchange_unavailable' : 'rate_limited',
        `venue answered ${response.status}`,
        Number.isFinite(retryAfterSeconds) && retryAfterSeconds > 0 ? retryAfterSeconds * 1000 : undefined,
      );
    }
    throw parsed.success ? venueError(parsed.data.code, parsed.data.msg, response.status) : new ExchangeError('rejected', `venue answered ${response.status}`, false);
  }

  private async url(call: Call): Promise<string> {
    const base = `${this.options.baseUrl.replace(/\/$/, '')}${call.path}`;
    if (!call.signed) {
      const query = encodeQuery(call.params ?? {});
      return query ? `${base}?${query}` : base;
    }
    if (!this.options.apiKey || !this.options.apiSecret) throw new ExchangeError('auth_failed', 'no API key configured for signed calls', false);
    const offset = await this.serverClockOffset();
    const params = { ...call.params, recvWindow: this.recvWindowMs(), timestamp: Math.round(this.now() + offset) };
    return `${base}?${buildSignedQuery(params, this.options.apiSecret)}`;
  }

  private recvWindowMs(): number {
    return this.options.recvWindowMs ?? 5_000;
  }

  /** Server time minus ours, measured at the request's midpoint; refreshed after a -1021. */
  private async serverClockOffset(): Promise<number> {
    if (this.clockOffsetMs === undefined) {
      const sent = this.now();
      const { serverTime } = ServerTime.parse(await this.call({ method: 'GET', path: '/fapi/v1/time' }));
      this.clockOffsetMs = serverTime - (sent + this.now()) / 2;
    }
    return this.clockOffsetMs;
  }
}

/** A connection refused (or a name that did not resolve) means the request never left. */
function neverSent(error: unknown): boolean {
  const code = ((error as { cause?: { code?: string } }).cause ?? {}).code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function toExchangeOrder(order: VenueOrder): ExchangeOrder {
  const status = ExchangeOrderStatus.safeParse(order.status === 'EXPIRED_IN_MATCH' ? 'EXPIRED' : order.status);
  const avg = order.avgPrice ? priceMicros(order.avgPrice) : 0;
  return {
    clientOrderId: order.clientOrderId,
    exchangeOrderId: order.orderId,
    symbol: order.symbol,
    side: order.side,
    type: order.type === 'LIMIT' ? 'LIMIT' : 'MARKET',
    status: status.success ? status.data : 'NEW',
    quantity: canonicalDecimal(order.origQty),
    executedQuantity: canonicalDecimal(order.executedQty),
    ...(avg > 0 ? { avgPriceMicros: avg } : {}),
    reduceOnly: order.reduceOnly ?? false,
    updateTime: order.updateTime,
  };
}
