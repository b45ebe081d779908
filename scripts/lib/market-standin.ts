import { readFile } from 'node:fs/promises';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CANDLE_MINUTE as MINUTE, CandleSeries, parseCandlesCsv } from '../../shared/domain/candles.js';
import { verifySignedQuery } from '../../shared/exchange/binance-futures/signing.js';
import { feeMicros, microsToDecimal } from '../../shared/domain/money.js';
import { ATOMS_PER_UNIT, atomsToQuantity, notionalOfAtoms, quantityToAtoms } from '../../shared/domain/quantity.js';
import type { Side } from '../../shared/domain/vocabulary.js';
import { replayFilters } from '../../shared/replay/replay-market.js';

/**
 * A local stand-in for a Binance USDⓈ-M futures venue, speaking the same REST endpoints, so the
 * real client code runs unchanged against it:
 *  - market data replayed from one-minute candle CSV files on a simulated clock;
 *  - signed trading endpoints that check the API key, the HMAC signature and the timestamp
 *    window, keep orders in memory, fill MARKET orders at the replayed price, and let a test
 *    hold new orders open (a venue that cannot fill at once), then fill, partially fill or cancel
 *    them, or inject venue failures.
 */

/** Commission charged on every stand-in trade: Binance futures' 0.05% taker rate. */
export const STANDIN_FEE_PPM = 500;

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

interface StandInOrder {
  orderId: number;
  clientOrderId: string;
  symbol: string;
  side: Side;
  status: 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'EXPIRED';
  quantityAtoms: number;
  executedAtoms: number;
  priceMicros: number;
  reduceOnly: boolean;
  time: number;
  updateTime: number;
}

interface StandInTrade {
  id: number;
  orderId: number;
  symbol: string;
  side: Side;
  priceMicros: number;
  quantityAtoms: number;
  commissionMicros: number;
  time: number;
}

interface InjectedFailure {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Record<string, string>;
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
}

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
  /** The account key each order was placed with. */
  readonly orderAccounts: Map<string, string>;
  /** While on, new orders rest open instead of filling at once. */
  holdOrders(on: boolean): void;
  /** Fills `quantity` of a resting order at the price it was placed at (or `priceMicros`). */
  fill(clientOrderId: string, quantity: string, priceMicros?: number): void;
  cancel(clientOrderId: string): void;
  /** The next request to `path` gets this answer instead. */
  failNext(path: string, status: number, body?: unknown, headers?: Record<string, string>): void;
  /** The venue's liquidation engine closes the account's whole position in `symbol` at `priceMicros` (an autoclose-… order). */
  liquidateByVenue(apiKey: string, symbol: string, priceMicros: number): string;
  /** A trade made by hand on the account (outside Sapphire): it moves the venue's position only. */
  tradeByHand(apiKey: string, symbol: string, signedQuantity: string): void;
  /** Books a funding payment (signed decimal USD) to the account with this key, at the replay's clock. */
  addFunding(apiKey: string, symbol: string, income: string): void;
  /** While on, every request is refused as a restricted location (HTTP 451), as Binance answers from the US. */
  geoBlock(on: boolean): void;
  /** Every request to `path` gets `status` until `outage(path, undefined)` (a venue down for a while). */
  outage(path: string, status: number | undefined): void;
  close(): Promise<void>;
}

/** exchangeInfo's entry for a symbol: the filters `npm run replay` trades under too. */
function FILTERS(symbol: string) {
  const filters = replayFilters(symbol);
  return {
    symbol,
    status: 'TRADING',
    filters: [
      { filterType: 'PRICE_FILTER', tickSize: microsToDecimal(filters.tickSizeMicros), minPrice: '0.10', maxPrice: '1000000' },
      { filterType: 'LOT_SIZE', stepSize: atomsToQuantity(filters.stepSizeAtoms), minQty: atomsToQuantity(filters.minQtyAtoms), maxQty: '1000' },
      { filterType: 'MIN_NOTIONAL', notional: microsToDecimal(filters.minNotionalMicros) },
    ],
  };
}

export async function startMarketStandIn(options: StandInOptions): Promise<MarketStandIn> {
  const candles = new Map<string, CandleSeries>();
  for (const [symbol, file] of Object.entries(options.csvFiles)) candles.set(symbol, new CandleSeries(parseCandlesCsv(await readFile(file, 'utf8'))));
  const first = [...candles.values()][0];
  if (!first) throw new Error('the stand-in needs at least one candle file');
  const clock = new ReplayClock(options.start ?? first.firstOpenTime + MINUTE, options.speed ?? 1);
  const orders = new Map<string, StandInOrder>();
  const trades: StandInTrade[] = [];
  const failures = new Map<string, InjectedFailure[]>();
  const secrets = new Map([[options.apiKey, options.apiSecret], ...Object.entries(options.moreAccounts ?? {})]);
  const accountSettings = new Map<string, { leverage?: number; marginType?: string }>();
  const setupCalls: string[] = [];
  const orderAccounts = new Map<string, string>();
  /** Net position per account key and symbol, in atoms. */
  const positions = new Map<string, number>();
  const incomes: { apiKey: string; symbol: string; incomeType: string; income: string; asset: string; time: number; tranId: number; info: string }[] = [];
  const outages = new Map<string, number>();
  let geoBlocked = false;
  const requests = new Map<string, number>();
  let nextId = 1_000;
  let holding = false;

  function seriesOf(symbol: string): CandleSeries {
    const series = candles.get(symbol);
    if (!series) throw Object.assign(new Error('unknown symbol'), { code: -1121 });
    return series;
  }

  function priceAt(symbol: string, time = clock.now()): number {
    return seriesOf(symbol).priceAt(time);
  }

  function trade(order: StandInOrder, atoms: number, price: number): void {
    const key = `${orderAccounts.get(order.clientOrderId) ?? options.apiKey}:${order.symbol}`;
    positions.set(key, (positions.get(key) ?? 0) + (order.side === 'BUY' ? atoms : -atoms));
    order.executedAtoms += atoms;
    order.status = order.executedAtoms >= order.quantityAtoms ? 'FILLED' : 'PARTIALLY_FILLED';
    order.updateTime = clock.now();
    const commission = feeMicros(notionalOfAtoms(atoms, price), STANDIN_FEE_PPM);
    trades.push({ id: nextId++, orderId: order.orderId, symbol: order.symbol, side: order.side, priceMicros: price, quantityAtoms: atoms, commissionMicros: commission, time: clock.now() });
  }

  function orderJson(o: StandInOrder) {
    const executedValue = trades.filter((t) => t.orderId === o.orderId).reduce((s, t) => s + notionalOfAtoms(t.quantityAtoms, t.priceMicros), 0);
    const avg = o.executedAtoms > 0 ? Number((BigInt(executedValue) * BigInt(ATOMS_PER_UNIT)) / BigInt(o.executedAtoms)) : 0;
    return {
      orderId: o.orderId,
      clientOrderId: o.clientOrderId,
      symbol: o.symbol,
      side: o.side,
      type: 'MARKET',
      status: o.status,
      origQty: atomsToQuantity(o.quantityAtoms),
      executedQty: atomsToQuantity(o.executedAtoms),
      price: '0',
      avgPrice: microsToDecimal(avg),
      reduceOnly: o.reduceOnly,
      time: o.time,
      updateTime: o.updateTime,
    };
  }

  const venueError = (status: number, code: number, msg: string) => ({ status, body: { code, msg } });

  function handleSigned(method: string, path: string, params: URLSearchParams, apiKey: string): { status: number; body: unknown } {
    const symbol = params.get('symbol') ?? '';
    const clientId = params.get('origClientOrderId') ?? params.get('newClientOrderId') ?? '';
    if (method === 'GET' && path === '/fapi/v2/positionRisk') {
      const rows = [...positions].filter(([key]) => key.startsWith(`${apiKey}:`));
      return {
        status: 200,
        body: rows.map(([key, atoms]) => ({ symbol: key.slice(apiKey.length + 1), positionAmt: `${atoms < 0 ? '-' : ''}${atomsToQuantity(Math.abs(atoms))}`, marginType: 'isolated' })),
      };
    }
    if (method === 'GET' && path === '/fapi/v1/income') {
      const since = Number(params.get('startTime') ?? 0);
      return { status: 200, body: incomes.filter((i) => i.apiKey === apiKey && i.time >= since).map(({ apiKey: _key, ...row }) => row) };
    }
    if (method === 'POST' && (path === '/fapi/v1/leverage' || path === '/fapi/v1/marginType')) {
      if (!candles.has(symbol)) return venueError(400, -1121, 'Invalid symbol.');
      const key = `${apiKey}:${symbol}`;
      const settings = accountSettings.get(key) ?? {};
      setupCalls.push(`${path.slice('/fapi/v1/'.length)} ${key}`);
      if (path === '/fapi/v1/leverage') {
        const leverage = Number(params.get('leverage'));
        if (!Number.isInteger(leverage) || leverage < 1 || leverage > 125) return venueError(400, -4028, 'Leverage is not valid');
        accountSettings.set(key, { ...settings, leverage });
        return { status: 200, body: { symbol, leverage, maxNotionalValue: '1000000' } };
      }
      const marginType = params.get('marginType');
      if (settings.marginType === marginType) return venueError(400, -4046, 'No need to change margin type.');
      accountSettings.set(key, { ...settings, marginType: marginType ?? undefined });
      return { status: 200, body: { code: 200, msg: 'success' } };
    }
    if (method === 'POST' && path === '/fapi/v1/order') {
      if (orders.has(clientId)) return venueError(400, -4116, 'ClientOrderId is duplicated.');
      if (!candles.has(symbol)) return venueError(400, -1121, 'Invalid symbol.');
      const order: StandInOrder = {
        orderId: nextId++,
        clientOrderId: clientId,
        symbol,
        side: params.get('side') === 'SELL' ? 'SELL' : 'BUY',
        status: 'NEW',
        quantityAtoms: quantityToAtoms(params.get('quantity') ?? '0'),
        executedAtoms: 0,
        priceMicros: priceAt(symbol),
        reduceOnly: params.get('reduceOnly') === 'true',
        time: clock.now(),
        updateTime: clock.now(),
      };
      orders.set(clientId, order);
      orderAccounts.set(clientId, apiKey);
      if (!holding) trade(order, order.quantityAtoms, order.priceMicros);
      return { status: 200, body: orderJson(order) };
    }
    if (path === '/fapi/v1/order') {
      const order = orders.get(clientId);
      if (!order) return venueError(400, -2013, 'Order does not exist.');
      if (method === 'DELETE') {
        if (order.status !== 'NEW' && order.status !== 'PARTIALLY_FILLED') return venueError(400, -2011, 'Unknown order sent.');
        order.status = 'CANCELED';
        order.updateTime = clock.now();
      }
      return { status: 200, body: orderJson(order) };
    }
    const since = Number(params.get('startTime') ?? 0);
    if (path === '/fapi/v1/allOrders') {
      return { status: 200, body: [...orders.values()].filter((o) => o.symbol === symbol && o.updateTime >= since && orderAccounts.get(o.clientOrderId) === apiKey).map(orderJson) };
    }
    if (path === '/fapi/v1/userTrades') {
      return {
        status: 200,
        body: trades
          .filter((t) => t.symbol === symbol && t.time >= since && (!params.has('orderId') || String(t.orderId) === params.get('orderId')))
          .map((t) => ({
            id: t.id,
            orderId: t.orderId,
            symbol: t.symbol,
            side: t.side,
            price: microsToDecimal(t.priceMicros),
            qty: atomsToQuantity(t.quantityAtoms),
            commission: microsToDecimal(t.commissionMicros),
            commissionAsset: 'USDT',
            time: t.time,
          })),
      };
    }
    return venueError(404, -1000, 'unknown endpoint');
  }

  function handle(req: IncomingMessage): { status: number; body: unknown; headers?: Record<string, string> } {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const method = req.method ?? 'GET';
    const key = `${method} ${url.pathname}`;
    requests.set(key, (requests.get(key) ?? 0) + 1);
    if (geoBlocked) {
      return { status: 451, body: { code: 0, msg: "Service unavailable from a restricted location according to 'b. Eligibility' in https://www.binance.com/en/terms." } };
    }
    const injected = failures.get(url.pathname)?.shift();
    if (injected) return injected;
    const down = outages.get(url.pathname);
    if (down !== undefined) return venueError(down, -1001, 'Internal error; unable to process your request. Please try again.');
    const params = url.searchParams;
    switch (url.pathname) {
      case '/fapi/v1/time':
        return { status: 200, body: { serverTime: Date.now() } };
      case '/fapi/v1/exchangeInfo':
        return { status: 200, body: { timezone: 'UTC', serverTime: Date.now(), symbols: [...candles.keys()].map(FILTERS) } };
      case '/fapi/v1/ticker/price': {
        const symbol = params.get('symbol') ?? '';
        if (!candles.has(symbol)) return venueError(400, -1121, 'Invalid symbol.');
        return { status: 200, body: { symbol, price: microsToDecimal(priceAt(symbol)), time: clock.now() } };
      }
      case '/fapi/v1/premiumIndex': {
        // The replay has trades only: the mark is the last close, as close as a mark gets.
        const symbol = params.get('symbol') ?? '';
        if (!candles.has(symbol)) return venueError(400, -1121, 'Invalid symbol.');
        const mark = microsToDecimal(priceAt(symbol));
        return { status: 200, body: { symbol, markPrice: mark, indexPrice: mark, lastFundingRate: '0.00010000', nextFundingTime: clock.now() + 8 * 3_600_000, time: clock.now() } };
      }
      case '/fapi/v1/klines': {
        const symbol = params.get('symbol') ?? '';
        if (!candles.has(symbol)) return venueError(400, -1121, 'Invalid symbol.');
        const limit = Math.min(1_500, Number(params.get('limit') ?? 500));
        // Completed minutes only, never past the replay clock: no peeking at the future.
        const end = Math.min(Number(params.get('endTime') ?? Number.POSITIVE_INFINITY), clock.now());
        const rows = seriesOf(symbol).completedAt(end + 1, limit);
        return {
          status: 200,
          body: rows.map((c) => [c.openTime, microsToDecimal(c.openMicros), microsToDecimal(c.highMicros), microsToDecimal(c.lowMicros), microsToDecimal(c.closeMicros), c.volume, c.openTime + MINUTE - 1]),
        };
      }
    }
    const query = url.search.slice(1);
    const apiKey = String(req.headers['x-mbx-apikey'] ?? '');
    const secret = secrets.get(apiKey);
    if (secret === undefined) return venueError(401, -2014, 'API-key format invalid.');
    if (!verifySignedQuery(query, secret)) return venueError(400, -1022, 'Signature for this request is not valid.');
    const timestamp = Number(params.get('timestamp'));
    const recvWindow = Number(params.get('recvWindow') ?? 5_000);
    if (!Number.isFinite(timestamp) || timestamp > Date.now() + 1_000 || Date.now() - timestamp > recvWindow) {
      return venueError(400, -1021, "Timestamp for this request is outside of the recvWindow.");
    }
    return handleSigned(method, url.pathname, params, apiKey);
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      let answer: { status: number; body: unknown; headers?: Record<string, string> };
      try {
        answer = handle(req);
      } catch (error) {
        const code = (error as { code?: number }).code ?? -1000;
        answer = venueError(400, code, (error as Error).message);
      }
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(JSON.stringify(answer.body));
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
      const order = orders.get(clientOrderId);
      if (!order) throw new Error(`no stand-in order ${clientOrderId}`);
      trade(order, quantityToAtoms(quantity), price ?? order.priceMicros);
    },
    cancel(clientOrderId) {
      const order = orders.get(clientOrderId);
      if (!order) throw new Error(`no stand-in order ${clientOrderId}`);
      order.status = 'CANCELED';
      order.updateTime = clock.now();
    },
    liquidateByVenue(apiKey, symbol, price) {
      const held = positions.get(`${apiKey}:${symbol}`) ?? 0;
      if (held === 0) throw new Error(`nothing held in ${symbol} on ${apiKey}`);
      const clientOrderId = `autoclose-${nextId}`;
      const order: StandInOrder = {
        orderId: nextId++,
        clientOrderId,
        symbol,
        side: held > 0 ? 'SELL' : 'BUY',
        status: 'NEW',
        quantityAtoms: Math.abs(held),
        executedAtoms: 0,
        priceMicros: price,
        reduceOnly: true,
        time: clock.now(),
        updateTime: clock.now(),
      };
      orders.set(clientOrderId, order);
      orderAccounts.set(clientOrderId, apiKey);
      trade(order, order.quantityAtoms, price);
      return clientOrderId;
    },
    tradeByHand(apiKey, symbol, signedQuantity) {
      const negative = signedQuantity.startsWith('-');
      const atoms = quantityToAtoms(negative ? signedQuantity.slice(1) : signedQuantity);
      positions.set(`${apiKey}:${symbol}`, (positions.get(`${apiKey}:${symbol}`) ?? 0) + (negative ? -atoms : atoms));
    },
    addFunding(apiKey, symbol, income) {
      incomes.push({ apiKey, symbol, incomeType: 'FUNDING_FEE', income, asset: 'USDT', time: clock.now(), tranId: nextId++, info: 'FUNDING_FEE' });
    },
    geoBlock(on) {
      geoBlocked = on;
    },
    outage(path, status) {
      if (status === undefined) outages.delete(path);
      else outages.set(path, status);
    },
    failNext(path, status, body = {}, headers = {}) {
      failures.set(path, [...(failures.get(path) ?? []), { status, body, headers }]);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
