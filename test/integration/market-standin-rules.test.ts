import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ATOMS_PER_UNIT, notionalOfAtoms } from '../../shared/domain/quantity.js';
import { USD, ceilDiv, feeMicros, microsToDecimal, signedVenueUsdToMicros } from '../../shared/domain/money.js';
import { type QueryParams, buildSignedQuery } from '../../shared/exchange/binance-futures/signing.js';
import { type MarketStandIn, STANDIN_FEE_PPM, startMarketStandIn } from '../../scripts/lib/market-standin.js';
import { MARKET_CSV } from '../support/market.js';

/**
 * The stand-in venue holds to Binance USDⓈ-M futures' documented rules and produces the faults
 * the real venue produces. One row per rule, each citing the page it comes from, proved with real
 * signed HTTP requests (not the client, which checks some filters itself before sending).
 */

const DOCS = 'https://developers.binance.com/docs/derivatives/usds-margined-futures';
const DOC = {
  newOrder: `${DOCS}/trade/rest-api (New Order: "newClientOrderId … A unique id among open orders")`,
  queryOrder: `${DOCS}/trade/rest-api/Query-Order`,
  errorCodes: `${DOCS}/error-code`,
  generalInfo: `${DOCS}/general-info`,
  filters: `${DOCS}/common-definition (Filters)`,
  exchangeInfo: `${DOCS}/market-data/rest-api/Exchange-Information`,
  leverage: `${DOCS}/trade/rest-api/Change-Initial-Leverage`,
  marginType: `${DOCS}/trade/rest-api/Change-Margin-Type`,
  userTrades: `${DOCS}/trade/rest-api/Account-Trade-List`,
  income: `${DOCS}/account/rest-api/Get-Income-History`,
  positionRisk: `${DOCS}/trade/rest-api/Position-Information-V2`,
  changeLog: 'https://developers.binance.com/docs/derivatives/change-log (2025-11-06: conditional orders move to the Algo Service on 2025-12-09)',
  newAlgoOrder: `${DOCS}/trade/rest-api/New-Algo-Order (algoType CONDITIONAL; "quantity: Cannot be sent with closePosition=true"; workingType MARK_PRICE)`,
  algoOrders: `${DOCS}/trade/rest-api/Current-All-Algo-Open-Orders, ${DOCS}/trade/rest-api/Cancel-Algo-Order`,
  reduceOnlyCut: 'https://github.com/nautechsystems/nautilus_trader/issues/3983 (Binance cuts a reduce-only order to the position)',
  qtyCodes: 'https://github.com/Drakkar-Software/OctoBot/issues/3539 (-4005), https://github.com/conor19w/Binance-Futures-Trading-Bot/issues/52 (-4003, -4164 texts)',
};

const KEY = 'rules-key';
const SECRET = 'rules-secret-0123456789';
const OTHER = { key: 'other-key', secret: 'other-secret-0123456789' };
const MAIN = { key: KEY, secret: SECRET };
/** The replay stopped at 00:05: the price is the 00:04 close. */
const START = '2023-03-01T00:05:00Z';
const MARK = 23_176_750_000;
const TICK = 100_000;

let venue: MarketStandIn;

beforeEach(async () => {
  venue = await startMarketStandIn({ csvFiles: { BTCUSDT: MARKET_CSV }, apiKey: KEY, apiSecret: SECRET, moreAccounts: { [OTHER.key]: OTHER.secret }, start: Date.parse(START), speed: 0 });
});

afterEach(async () => {
  await venue.close();
});

type Row = Record<string, unknown>;

interface Reply {
  readonly status: number;
  readonly body: Row;
  readonly rows: Row[];
  readonly headers: Headers;
}

interface SendOptions {
  readonly as?: { readonly key: string; readonly secret: string };
  readonly headers?: Record<string, string>;
  readonly timestamp?: number;
  readonly timeoutMs?: number;
}

/** One signed request, as Binance's General Info describes it: HMAC-SHA256 of the query, key in X-MBX-APIKEY. */
async function send(method: 'GET' | 'POST' | 'DELETE', path: string, params: QueryParams = {}, options: SendOptions = {}): Promise<Reply> {
  const as = options.as ?? MAIN;
  const query = buildSignedQuery({ ...params, timestamp: options.timestamp ?? Date.now() }, as.secret);
  const response = await fetch(`${venue.url}${path}?${query}`, {
    method,
    headers: options.headers ?? { 'X-MBX-APIKEY': as.key },
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
  const text = await response.text();
  const json = text.startsWith('{') || text.startsWith('[') ? (JSON.parse(text) as unknown) : text;
  return { status: response.status, body: (Array.isArray(json) ? {} : json) as Row, rows: (Array.isArray(json) ? json : []) as Row[], headers: response.headers };
}

const order = (params: QueryParams, options?: SendOptions) =>
  send('POST', '/fapi/v1/order', { symbol: 'BTCUSDT', type: 'MARKET', newOrderRespType: 'RESULT', ...params }, options);
const queryOrder = (origClientOrderId: string, options?: SendOptions) => send('GET', '/fapi/v1/order', { symbol: 'BTCUSDT', origClientOrderId }, options);
const positionOf = async (options?: SendOptions) => (await send('GET', '/fapi/v2/positionRisk', { symbol: 'BTCUSDT' }, options)).rows[0] as Row;
const stop = (params: QueryParams, options?: SendOptions) =>
  send('POST', '/fapi/v1/algoOrder', { algoType: 'CONDITIONAL', symbol: 'BTCUSDT', type: 'STOP_MARKET', closePosition: 'true', workingType: 'MARK_PRICE', ...params }, options);
const refusal = (status: number, code: number, msg?: string) => ({ status, body: msg === undefined ? { code } : { code, msg } });

/** After a fault: the venue holds exactly one order with this id, and a query by client order id finds it. */
async function executedOnce(clientOrderId: string): Promise<void> {
  expect(venue.ordersFor(clientOrderId)).toHaveLength(1);
  expect(venue.ordersFor(clientOrderId)[0]).toMatchObject({ status: 'FILLED', executedQty: '0.01', apiKey: KEY });
  expect(await queryOrder(clientOrderId)).toMatchObject({ status: 200, body: { clientOrderId, status: 'FILLED', orderId: venue.ordersFor(clientOrderId)[0]?.orderId } });
}

interface Rule {
  readonly rule: string;
  /** The venue codes the row proves; none when the rule is an acceptance. */
  readonly codes: readonly number[];
  readonly doc: string;
  readonly check: () => Promise<void>;
}

const RULES: Rule[] = [
  {
    rule: 'newClientOrderId is unique among OPEN orders: re-sending an open order’s id is -4116 (per account)',
    codes: [-4116],
    doc: `${DOC.newOrder}; ${DOC.errorCodes} -4116 DUPLICATED_CLIENT_ORDER_ID`,
    async check() {
      venue.holdOrders(true);
      expect(await order({ side: 'BUY', quantity: '0.01', newClientOrderId: 'open-1' })).toMatchObject({ status: 200, body: { status: 'NEW' } });
      expect(await order({ side: 'BUY', quantity: '0.01', newClientOrderId: 'open-1' })).toMatchObject(refusal(400, -4116, 'clientOrderId is duplicated'));
      expect(venue.ordersFor('open-1', KEY)).toHaveLength(1);
      // Another account's orders are its own.
      expect(await order({ side: 'BUY', quantity: '0.01', newClientOrderId: 'open-1' }, { as: OTHER })).toMatchObject({ status: 200, body: { status: 'NEW' } });
    },
  },
  {
    rule: 're-sending the id of a FILLED or CANCELED order places a second order; the query answers the latest',
    codes: [],
    doc: `${DOC.newOrder}; ${DOC.queryOrder} (silent on reused ids: the stand-in answers the most recent)`,
    async check() {
      const first = await order({ side: 'BUY', quantity: '0.01', newClientOrderId: 'again-1' });
      const second = await order({ side: 'BUY', quantity: '0.01', newClientOrderId: 'again-1' });
      expect([first.body.status, second.body.status]).toEqual(['FILLED', 'FILLED']);
      expect(second.body.orderId).not.toBe(first.body.orderId);
      expect(venue.ordersFor('again-1').map((o) => o.orderId)).toEqual([first.body.orderId, second.body.orderId]);
      expect((await queryOrder('again-1')).body.orderId).toBe(second.body.orderId);
      expect((await positionOf()).positionAmt).toBe('0.02');
      venue.holdOrders(true);
      const held = await order({ side: 'BUY', quantity: '0.01', newClientOrderId: 'again-2' });
      expect(await send('DELETE', '/fapi/v1/order', { symbol: 'BTCUSDT', origClientOrderId: 'again-2' })).toMatchObject({ status: 200, body: { status: 'CANCELED' } });
      expect(await order({ side: 'BUY', quantity: '0.01', newClientOrderId: 'again-2' })).toMatchObject({ status: 200, body: { status: 'NEW' } });
      expect(venue.ordersFor('again-2').map((o) => o.status)).toEqual(['CANCELED', 'NEW']);
      expect((await queryOrder('again-2')).body.orderId).not.toBe(held.body.orderId);
    },
  },
  {
    rule: 'an order the account does not have is -2013; cancelling one that is not open is -2011',
    codes: [-2013, -2011],
    doc: `${DOC.queryOrder}; ${DOC.errorCodes} -2013 NO_SUCH_ORDER, -2011 CANCEL_REJECTED`,
    async check() {
      expect(await queryOrder('never-sent')).toMatchObject(refusal(400, -2013, 'Order does not exist.'));
      await order({ side: 'BUY', quantity: '0.01', newClientOrderId: 'mine-1' });
      expect(await queryOrder('mine-1', { as: OTHER })).toMatchObject(refusal(400, -2013));
      expect(await send('GET', '/fapi/v1/order', { symbol: 'BTCUSDT' })).toMatchObject(refusal(400, -1102));
      expect(await send('DELETE', '/fapi/v1/order', { symbol: 'BTCUSDT', origClientOrderId: 'mine-1' })).toMatchObject(refusal(400, -2011, 'Unknown order sent.'));
    },
  },
  {
    rule: 'a reduce-only order that would not reduce (no position, or the same side) is -2022',
    codes: [-2022],
    doc: `${DOC.errorCodes} -2022 REDUCE_ONLY_REJECT`,
    async check() {
      expect(await order({ side: 'SELL', quantity: '0.01', reduceOnly: 'true', newClientOrderId: 'ro-flat' })).toMatchObject(refusal(400, -2022, 'ReduceOnly Order is rejected.'));
      await order({ side: 'BUY', quantity: '0.01' });
      expect(await order({ side: 'BUY', quantity: '0.01', reduceOnly: 'true' })).toMatchObject(refusal(400, -2022));
      // An open reduce-only order already closing the whole position leaves nothing for another.
      venue.holdOrders(true);
      expect(await order({ side: 'SELL', quantity: '0.01', reduceOnly: 'true' })).toMatchObject({ status: 200, body: { status: 'NEW' } });
      expect(await order({ side: 'SELL', quantity: '0.01', reduceOnly: 'true' })).toMatchObject(refusal(400, -2022));
      expect(venue.ordersFor('ro-flat')).toEqual([]);
    },
  },
  {
    rule: 'a reduce-only order larger than the position is cut to the position, and exempt from MIN_NOTIONAL',
    codes: [],
    doc: `${DOC.errorCodes} -2022, -4164 "(unless you choose reduce only)"; ${DOC.reduceOnlyCut}`,
    async check() {
      await order({ side: 'BUY', quantity: '0.011' });
      expect(await order({ side: 'SELL', quantity: '0.01' })).toMatchObject({ status: 200 });
      // 0.001 left, $23 of notional: a reduce-only order may be that small, and asks for more.
      expect(await order({ side: 'SELL', quantity: '0.05', reduceOnly: 'true', newClientOrderId: 'ro-cut' })).toMatchObject({
        status: 200,
        body: { status: 'FILLED', origQty: '0.001', executedQty: '0.001', reduceOnly: true },
      });
      expect((await positionOf()).positionAmt).toBe('0');
    },
  },
  {
    rule: 'margin for what an order opens is notional ÷ leverage out of the available balance: short is -2019; closing releases it',
    codes: [-2019],
    doc: `${DOC.errorCodes} -2019 MARGIN_NOT_SUFFICIEN; ${DOC.positionRisk} (isolatedWallet: the margin a position holds)`,
    async check() {
      venue.setBalance(KEY, '1000');
      // At 20× (Binance's default) 1000 USDT carries 20 000 of notional: 0.9 BTC is 20 859.
      expect(await order({ side: 'BUY', quantity: '0.9' })).toMatchObject(refusal(400, -2019, 'Margin is insufficient.'));
      expect(venue.balanceOf(KEY)).toEqual({ walletMicros: 1_000 * USD, availableMicros: 1_000 * USD });
      const atoms = 80_000_000;
      expect(await order({ side: 'BUY', quantity: '0.8' })).toMatchObject({ status: 200, body: { status: 'FILLED' } });
      const fee = feeMicros(notionalOfAtoms(atoms, MARK), STANDIN_FEE_PPM);
      const margin = ceilDiv(notionalOfAtoms(atoms, MARK), 20);
      expect(venue.balanceOf(KEY)).toEqual({ walletMicros: 1_000 * USD - fee, availableMicros: 1_000 * USD - fee - margin });
      // Closing at the same price: the margin comes back, the wallet has paid two fees.
      expect(await order({ side: 'SELL', quantity: '0.8', reduceOnly: 'true' })).toMatchObject({ status: 200 });
      expect(venue.balanceOf(KEY)).toEqual({ walletMicros: 1_000 * USD - 2 * fee, availableMicros: 1_000 * USD - 2 * fee });
    },
  },
  {
    rule: 'reducing releases isolated margin in proportion; realized PnL and commission move the wallet and are income',
    codes: [],
    doc: `${DOC.positionRisk}; ${DOC.income} (REALIZED_PNL, COMMISSION)`,
    async check() {
      await send('POST', '/fapi/v1/marginType', { symbol: 'BTCUSDT', marginType: 'ISOLATED' });
      await send('POST', '/fapi/v1/leverage', { symbol: 'BTCUSDT', leverage: 10 });
      await order({ side: 'BUY', quantity: '0.02' });
      const margin = ceilDiv(notionalOfAtoms(2_000_000, MARK), 10);
      expect((await positionOf()).isolatedWallet).toBe(microsToDecimal(margin));
      venue.clock.set(Date.parse('2023-03-01T00:30:00Z'), 0);
      const later = venue.priceAt('BTCUSDT');
      const before = venue.balanceOf(KEY).walletMicros;
      expect(await order({ side: 'SELL', quantity: '0.01', reduceOnly: 'true' })).toMatchObject({ status: 200 });
      expect((await positionOf()).isolatedWallet).toBe(microsToDecimal(margin - Math.floor(margin / 2)));
      const pnl = Math.trunc(((later - MARK) * 1_000_000) / ATOMS_PER_UNIT);
      const fee = feeMicros(notionalOfAtoms(1_000_000, later), STANDIN_FEE_PPM);
      expect(venue.balanceOf(KEY).walletMicros).toBe(before + pnl - fee);
      const incomes = (await send('GET', '/fapi/v1/income', { symbol: 'BTCUSDT' })).rows;
      expect(incomes.map((i) => [i.incomeType, signedVenueUsdToMicros(String(i.income))]).slice(-2)).toEqual([
        ['REALIZED_PNL', pnl],
        ['COMMISSION', -fee],
      ]);
    },
  },
  {
    rule: 'a symbol starts at 20× cross; lowering leverage on an open isolated position is -4161, raising it is not',
    codes: [-4161, -4028, -2028],
    doc: `${DOC.leverage}; ${DOC.errorCodes} -4161 ISOLATED_LEVERAGE_REJECT_WITH_POSITION, -4028 INVALID_LEVERAGE, -2028 MIN_LEVERAGE_RATIO`,
    async check() {
      expect(await positionOf()).toMatchObject({ leverage: '20', marginType: 'cross' });
      await send('POST', '/fapi/v1/marginType', { symbol: 'BTCUSDT', marginType: 'ISOLATED' });
      expect(await send('POST', '/fapi/v1/leverage', { symbol: 'BTCUSDT', leverage: 126 })).toMatchObject(refusal(400, -4028));
      expect(await send('POST', '/fapi/v1/leverage', { symbol: 'BTCUSDT', leverage: 10 })).toMatchObject({ status: 200, body: { leverage: 10 } });
      await order({ side: 'BUY', quantity: '0.01' });
      expect(await send('POST', '/fapi/v1/leverage', { symbol: 'BTCUSDT', leverage: 5 })).toMatchObject(
        refusal(400, -4161, 'Leverage reduction is not supported in Isolated Margin Mode with open positions'),
      );
      expect(await send('POST', '/fapi/v1/leverage', { symbol: 'BTCUSDT', leverage: 15 })).toMatchObject({ status: 200, body: { leverage: 15 } });
      expect(await positionOf()).toMatchObject({ leverage: '15', marginType: 'isolated' });
      // Cross: lowering is allowed while the account can pay the larger margin, else -2028.
      await order({ side: 'BUY', quantity: '0.01' }, { as: OTHER });
      venue.setBalance(OTHER.key, '20');
      expect(await send('POST', '/fapi/v1/leverage', { symbol: 'BTCUSDT', leverage: 10 }, { as: OTHER })).toMatchObject(
        refusal(400, -2028, 'Leverage is smaller than permitted: insufficient margin balance.'),
      );
      expect(await send('POST', '/fapi/v1/leverage', { symbol: 'BTCUSDT', leverage: 15 }, { as: OTHER })).toMatchObject({ status: 200, body: { leverage: 15 } });
      expect(venue.balanceOf(OTHER.key).availableMicros).toBe(20 * USD - ceilDiv(notionalOfAtoms(1_000_000, MARK), 15));
    },
  },
  {
    rule: 'the margin type: the same again is -4046, with open orders -4047, with a position -4048',
    codes: [-4046, -4047, -4048],
    doc: `${DOC.marginType}; ${DOC.errorCodes} -4046, -4047 THERE_EXISTS_OPEN_ORDERS, -4048 THERE_EXISTS_QUANTITY`,
    async check() {
      expect(await send('POST', '/fapi/v1/marginType', { symbol: 'BTCUSDT', marginType: 'CROSSED' })).toMatchObject(refusal(400, -4046, 'No need to change margin type.'));
      venue.holdOrders(true);
      await order({ side: 'BUY', quantity: '0.01', newClientOrderId: 'resting' });
      expect(await send('POST', '/fapi/v1/marginType', { symbol: 'BTCUSDT', marginType: 'ISOLATED' })).toMatchObject(
        refusal(400, -4047, 'Margin type cannot be changed if there exists open orders.'),
      );
      venue.fill('resting', '0.01');
      expect(await send('POST', '/fapi/v1/marginType', { symbol: 'BTCUSDT', marginType: 'ISOLATED' })).toMatchObject(
        refusal(400, -4048, 'Margin type cannot be changed if there exists position.'),
      );
      expect(venue.setupCalls).toEqual(['marginType rules-key:BTCUSDT', 'marginType rules-key:BTCUSDT', 'marginType rules-key:BTCUSDT']);
    },
  },
  {
    rule: 'LOT_SIZE and MARKET_LOT_SIZE: off the step -1111, zero -4003, above the maximum -4005 (MARKET 120, LIMIT 1000)',
    codes: [-1111, -4003, -4005],
    doc: `${DOC.filters} LOT_SIZE, MARKET_LOT_SIZE; ${DOC.errorCodes}; ${DOC.qtyCodes}`,
    async check() {
      expect(await order({ side: 'BUY', quantity: '0.0015' })).toMatchObject(refusal(400, -1111, 'Precision is over the maximum defined for this asset.'));
      expect(await order({ side: 'BUY', quantity: '0' })).toMatchObject(refusal(400, -4003, 'Quantity less than or equal to zero.'));
      expect(await order({ side: 'BUY', quantity: '121' })).toMatchObject(refusal(400, -4005, 'Quantity greater than max quantity.'));
      expect(await order({ side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', price: '23000', quantity: '121' })).toMatchObject({ status: 200, body: { status: 'NEW', type: 'LIMIT' } });
      expect(await order({ side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', price: '23000', quantity: '1001' })).toMatchObject(refusal(400, -4005));
      const info = (await send('GET', '/fapi/v1/exchangeInfo')).body as { symbols: { filters: Row[] }[] };
      expect(info.symbols[0]?.filters).toEqual(
        expect.arrayContaining([
          { filterType: 'LOT_SIZE', stepSize: '0.001', minQty: '0.001', maxQty: '1000' },
          { filterType: 'MARKET_LOT_SIZE', stepSize: '0.001', minQty: '0.001', maxQty: '120' },
        ]),
      );
    },
  },
  {
    rule: 'MIN_NOTIONAL for orders that are not reduce-only: -4164 below 100 USDT at the mark',
    codes: [-4164],
    doc: `${DOC.filters} MIN_NOTIONAL; ${DOC.errorCodes} -4164 MIN_NOTIONAL`,
    async check() {
      expect(await order({ side: 'BUY', quantity: '0.004' })).toMatchObject(refusal(400, -4164, "Order's notional must be no smaller than 100 (unless you choose reduce only)."));
      expect(await order({ side: 'BUY', quantity: '0.005' })).toMatchObject({ status: 200, body: { status: 'FILLED' } });
    },
  },
  {
    rule: 'PRICE_FILTER and PERCENT_PRICE for priced orders: off the tick -4014, above mark × 1.05 -4016, below mark × 0.95 -4024',
    codes: [-4014, -4016, -4024],
    doc: `${DOC.filters} PRICE_FILTER, PERCENT_PRICE; ${DOC.exchangeInfo}; ${DOC.errorCodes}`,
    async check() {
      // The mark is 23176.75: the cap is 24335.5875, the floor 22017.9125; the tick is 0.1.
      const limit = (side: 'BUY' | 'SELL', price: string) => order({ side, type: 'LIMIT', timeInForce: 'GTC', quantity: '0.01', price });
      expect(await limit('BUY', '23100.05')).toMatchObject(refusal(400, -4014, 'Price not increased by tick size.'));
      expect(await limit('BUY', '24335.6')).toMatchObject(refusal(400, -4016, 'Price is higher than mark price multiplier cap.'));
      expect(await limit('SELL', '22017.9')).toMatchObject(refusal(400, -4024, 'Price is lower than mark price multiplier floor.'));
      expect(await limit('BUY', '24335.5')).toMatchObject({ status: 200, body: { status: 'FILLED', price: '24335.5', avgPrice: '23176.75' } });
      expect(await limit('SELL', '23200')).toMatchObject({ status: 200, body: { status: 'NEW', price: '23200' } });
      expect(await order({ side: 'BUY', type: 'LIMIT', quantity: '0.01', price: '23000' })).toMatchObject(refusal(400, -1102));
      const info = (await send('GET', '/fapi/v1/exchangeInfo')).body as { symbols: { filters: Row[] }[] };
      expect(info.symbols[0]?.filters).toContainEqual({ filterType: 'PERCENT_PRICE', multiplierUp: '1.0500', multiplierDown: '0.9500', multiplierDecimal: '4' });
    },
  },
  {
    rule: 'a timestamp outside recvWindow is -1021, one 1000 ms ahead too; recvWindow above 60 000 is refused',
    codes: [-1021, -1130],
    doc: `${DOC.generalInfo} (Timing Security: timestamp < serverTime + 1000 && serverTime - timestamp <= recvWindow); ${DOC.errorCodes}`,
    async check() {
      const position = { symbol: 'BTCUSDT' };
      expect(await send('GET', '/fapi/v2/positionRisk', position, { timestamp: Date.now() - 6_000 })).toMatchObject(
        refusal(400, -1021, 'Timestamp for this request is outside of the recvWindow.'),
      );
      expect(await send('GET', '/fapi/v2/positionRisk', { ...position, recvWindow: 10_000 }, { timestamp: Date.now() - 6_000 })).toMatchObject({ status: 200 });
      expect(await send('GET', '/fapi/v2/positionRisk', position, { timestamp: Date.now() + 2_000 })).toMatchObject(
        refusal(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time."),
      );
      expect(await send('GET', '/fapi/v2/positionRisk', { ...position, recvWindow: 60_001 })).toMatchObject(refusal(400, -1130, "Data sent for parameter 'recvWindow' is not valid."));
    },
  },
  {
    rule: 'request weight per IP: over the budget HTTP 429 with Retry-After (-1003); sending on is HTTP 418, banned, with Retry-After',
    codes: [-1003],
    doc: `${DOC.generalInfo} (HTTP Return Codes; LIMITS, IP Limits); ${DOC.exchangeInfo} rateLimits; ${DOC.errorCodes} -1003`,
    async check() {
      venue.setRateLimits({ weightPerMinute: 3 });
      const time = () => fetch(`${venue.url}/fapi/v1/time`);
      const used = [];
      for (let i = 0; i < 3; i += 1) used.push((await time()).headers.get('x-mbx-used-weight-1m'));
      expect(used).toEqual(['1', '2', '3']);
      const limited = await time();
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await limited.json()).toMatchObject({ code: -1003, msg: expect.stringMatching(/^Too many requests; current limit is 3 requests per minute/) });
      const banned = await time();
      expect([banned.status, banned.headers.get('retry-after')]).toEqual([418, '120']);
      expect(await banned.json()).toMatchObject({ code: -1003, msg: expect.stringMatching(/^Way too many requests; IP banned until \d+/) });
      expect((await time()).status).toBe(418);
    },
  },
  {
    rule: 'orders per account: over the ORDERS limit HTTP 429 with Retry-After (-1015); placing weighs 0 on the IP budget',
    codes: [-1015],
    doc: `${DOC.newOrder} (Request Weight: 1 on the 10s and 1min order limits, 0 on IP); ${DOC.errorCodes} -1015 TOO_MANY_ORDERS`,
    async check() {
      venue.setRateLimits({ ordersPer10s: 2 });
      const headers = [];
      for (let i = 0; i < 2; i += 1) {
        const placed = await order({ side: 'BUY', quantity: '0.01' });
        headers.push([placed.headers.get('x-mbx-order-count-10s'), placed.headers.get('x-mbx-used-weight-1m')]);
      }
      expect(headers).toEqual([
        ['1', '0'],
        ['2', '0'],
      ]);
      const limited = await order({ side: 'BUY', quantity: '0.01', newClientOrderId: 'one-too-many' });
      expect(limited).toMatchObject(refusal(429, -1015, 'Too many new orders; current limit is 2 orders per 10 SECOND.'));
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(venue.ordersFor('one-too-many')).toEqual([]);
      expect(await order({ side: 'BUY', quantity: '0.01' }, { as: OTHER })).toMatchObject({ status: 200 });
    },
  },
  {
    rule: 'keys and signatures: no key or a malformed one -2014, an unknown key -2015 (HTTP 401), a bad HMAC -1022',
    codes: [-2014, -2015, -1022],
    doc: `${DOC.generalInfo} (Endpoint Security Type, SIGNED Endpoint Security); ${DOC.errorCodes} -2014 BAD_API_KEY_FMT, -2015 REJECTED_MBX_KEY, -1022`,
    async check() {
      const params = { symbol: 'BTCUSDT' };
      expect(await send('GET', '/fapi/v2/positionRisk', params, { headers: {} })).toMatchObject(refusal(401, -2014, 'API-key format invalid.'));
      expect(await send('GET', '/fapi/v2/positionRisk', params, { headers: { 'X-MBX-APIKEY': 'two words' } })).toMatchObject(refusal(401, -2014));
      expect(await send('GET', '/fapi/v2/positionRisk', params, { as: { key: 'no-such-key', secret: SECRET } })).toMatchObject(
        refusal(401, -2015, 'Invalid API-key, IP, or permissions for action.'),
      );
      expect(await send('GET', '/fapi/v2/positionRisk', params, { as: { key: KEY, secret: 'wrong' } })).toMatchObject(refusal(400, -1022, 'Signature for this request is not valid.'));
    },
  },
  {
    rule: 'a MARKET order larger than a book level fills in several trades: FILLED, several userTrades, each a tick further',
    codes: [],
    doc: `${DOC.userTrades} (one row per trade of an order); ${DOC.newOrder} (RESULT: the final FILLED result)`,
    async check() {
      venue.setBookLevel('0.01');
      const placed = await order({ side: 'BUY', quantity: '0.025' });
      expect(placed).toMatchObject({ status: 200, body: { status: 'FILLED', executedQty: '0.025' } });
      const fills = (await send('GET', '/fapi/v1/userTrades', { symbol: 'BTCUSDT', orderId: Number(placed.body.orderId) })).rows;
      expect(fills.map((t) => [t.qty, t.price])).toEqual([
        ['0.01', microsToDecimal(MARK)],
        ['0.01', microsToDecimal(MARK + TICK)],
        ['0.005', microsToDecimal(MARK + 2 * TICK)],
      ]);
      expect(new Set(fills.map((t) => t.id)).size).toBe(3);
      const value = notionalOfAtoms(1_000_000, MARK) + notionalOfAtoms(1_000_000, MARK + TICK) + notionalOfAtoms(500_000, MARK + 2 * TICK);
      expect(placed.body.avgPrice).toBe(microsToDecimal(Math.floor((value * ATOMS_PER_UNIT) / 2_500_000)));
    },
  },
  {
    rule: 'userTrades pages: the most recent by default, fromId forwards, at most seven days a range, this account only',
    codes: [-1127, -1128],
    doc: `${DOC.userTrades} (limit 500, max 1000; fromId not with startTime/endTime; 7 days); ${DOC.errorCodes}`,
    async check() {
      for (let i = 0; i < 4; i += 1) await order({ side: 'BUY', quantity: '0.01' });
      const all = (await send('GET', '/fapi/v1/userTrades', { symbol: 'BTCUSDT' })).rows.map((t) => Number(t.id));
      expect(all).toHaveLength(4);
      expect((await send('GET', '/fapi/v1/userTrades', { symbol: 'BTCUSDT', limit: 2 })).rows.map((t) => Number(t.id))).toEqual(all.slice(2));
      expect((await send('GET', '/fapi/v1/userTrades', { symbol: 'BTCUSDT', fromId: all[1], limit: 2 })).rows.map((t) => Number(t.id))).toEqual(all.slice(1, 3));
      const now = venue.clock.now();
      expect(await send('GET', '/fapi/v1/userTrades', { symbol: 'BTCUSDT', fromId: all[1], startTime: now })).toMatchObject(refusal(400, -1128));
      expect(await send('GET', '/fapi/v1/userTrades', { symbol: 'BTCUSDT', startTime: now - 8 * 86_400_000, endTime: now })).toMatchObject(refusal(400, -1127));
      expect((await send('GET', '/fapi/v1/userTrades', { symbol: 'BTCUSDT' }, { as: OTHER })).rows).toEqual([]);
    },
  },
  {
    rule: 'income pages: limit 100 by default, the most recent without startTime, page forwards from startTime, by type, this account only',
    codes: [],
    doc: `${DOC.income} (limit default 100, max 1000; page; incomeType; last 7 days without a range)`,
    async check() {
      for (const amount of ['0.1', '0.2', '0.3', '0.4', '0.5']) venue.addFunding(KEY, 'BTCUSDT', amount);
      venue.addFunding(OTHER.key, 'BTCUSDT', '9');
      const incomes = (params: QueryParams, options?: SendOptions) => send('GET', '/fapi/v1/income', { incomeType: 'FUNDING_FEE', ...params }, options);
      expect((await incomes({})).rows.map((i) => i.income)).toEqual(['0.1', '0.2', '0.3', '0.4', '0.5']);
      expect((await incomes({ limit: 2 })).rows.map((i) => i.income)).toEqual(['0.4', '0.5']);
      expect((await incomes({ limit: 2, page: 2, startTime: venue.clock.now() })).rows.map((i) => i.income)).toEqual(['0.3', '0.4']);
      expect((await incomes({}, { as: OTHER })).rows.map((i) => i.income)).toEqual(['9']);
      expect(venue.balanceOf(KEY).walletMicros).toBe(1_000_000 * USD + 1_500_000);
    },
  },
  {
    rule: 'conditional order types are refused on /fapi/v1/order with -4120 (Algo Service only since 2025-12-09)',
    codes: [-4120],
    doc: `${DOC.changeLog}; ${DOC.errorCodes} -4120 STOP_ORDER_SWITCH_ALGO`,
    async check() {
      for (const type of ['STOP_MARKET', 'TAKE_PROFIT_MARKET', 'STOP', 'TAKE_PROFIT', 'TRAILING_STOP_MARKET']) {
        expect(await order({ side: 'SELL', type, quantity: '0.01', stopPrice: '20000', newClientOrderId: `stop-${type}` })).toMatchObject(
          refusal(400, -4120, 'Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.'),
        );
      }
      expect(venue.venueOrders()).toEqual([]);
    },
  },
  {
    rule: 'the Algo Service takes a STOP_MARKET closing the whole position, lists it while it waits and cancels it by clientAlgoId; a cancelled or unknown one is -2011',
    codes: [-2011],
    doc: `${DOC.newAlgoOrder}; ${DOC.algoOrders}; ${DOC.errorCodes} -2011 CANCEL_REJECTED`,
    async check() {
      const placed = await stop({ side: 'SELL', triggerPrice: '22000', clientAlgoId: 'sps-rule-1' });
      expect(placed).toMatchObject({ status: 200, body: { clientAlgoId: 'sps-rule-1', algoType: 'CONDITIONAL', orderType: 'STOP_MARKET', algoStatus: 'NEW', triggerPrice: '22000', workingType: 'MARK_PRICE', closePosition: true } });
      expect((await send('GET', '/fapi/v1/openAlgoOrders', { symbol: 'BTCUSDT' })).rows.map((r) => r.clientAlgoId)).toEqual(['sps-rule-1']);
      expect((await send('GET', '/fapi/v1/openAlgoOrders', { symbol: 'BTCUSDT' }, { as: OTHER })).rows).toEqual([]);
      expect(await send('DELETE', '/fapi/v1/algoOrder', { clientAlgoId: 'sps-rule-1' })).toMatchObject({ status: 200, body: { algoStatus: 'CANCELED' } });
      expect(await send('DELETE', '/fapi/v1/algoOrder', { clientAlgoId: 'sps-rule-1' })).toMatchObject(refusal(400, -2011, 'Unknown order sent.'));
      expect((await send('GET', '/fapi/v1/openAlgoOrders', {})).rows).toEqual([]);
      expect(venue.venueOrders()).toEqual([]);
    },
  },
  {
    rule: 'a stop that would trigger at once is -2021; quantity with closePosition is -1106; a trigger off the tick is -4014; a waiting clientAlgoId again is -4116',
    codes: [-2021, -1106, -4014, -4116],
    doc: `${DOC.newAlgoOrder}; ${DOC.errorCodes} -2021 ORDER_WOULD_IMMEDIATELY_TRIGGER, -1106 PARAM_NOT_REQUIRED, -4014 PRICE_NOT_INCREASED_BY_TICK_SIZE, -4116 DUPLICATED_CLIENT_ORDER_ID`,
    async check() {
      // The mark is 23,176.75: a SELL stop at or above it, or a BUY stop at or below it, fires at once.
      expect(await stop({ side: 'SELL', triggerPrice: '23500', clientAlgoId: 'sps-now-1' })).toMatchObject(refusal(400, -2021, 'Order would immediately trigger.'));
      expect(await stop({ side: 'BUY', triggerPrice: '23000', clientAlgoId: 'sps-now-2' })).toMatchObject(refusal(400, -2021, 'Order would immediately trigger.'));
      expect(await stop({ side: 'SELL', triggerPrice: '22000', quantity: '0.01' })).toMatchObject(refusal(400, -1106, "Parameter 'quantity' sent when not required."));
      expect(await stop({ side: 'SELL', triggerPrice: '22000.05' })).toMatchObject(refusal(400, -4014));
      expect((await stop({ side: 'SELL', triggerPrice: '22000', clientAlgoId: 'sps-dup' })).status).toBe(200);
      expect(await stop({ side: 'SELL', triggerPrice: '21000', clientAlgoId: 'sps-dup' })).toMatchObject(refusal(400, -4116));
    },
  },
  {
    rule: 'a waiting stop fires when the mark reaches its trigger, with no client watching: a MARKET order closes the whole position; with nothing to close it expires',
    codes: [],
    doc: DOC.newAlgoOrder,
    async check() {
      await order({ side: 'BUY', quantity: '0.015' });
      expect((await stop({ side: 'SELL', triggerPrice: '22500', clientAlgoId: 'sps-fire-1' })).status).toBe(200);
      expect((await stop({ side: 'BUY', triggerPrice: '24000', clientAlgoId: 'sps-fire-2' })).status).toBe(200);
      // 2023-03-10 00:05: BTC near 20,200, past the SELL stop's 22,500.
      venue.clock.set(Date.parse('2023-03-10T00:05:00Z'), 0);
      expect(venue.positionOf(KEY, 'BTCUSDT').atoms).toBe(0);
      const [fired] = venue.ordersFor('sps-fire-1', KEY);
      expect(fired).toMatchObject({ side: 'SELL', status: 'FILLED', executedQty: '0.015', reduceOnly: true });
      expect((await send('GET', '/fapi/v1/openAlgoOrders', {})).rows.map((r) => r.clientAlgoId)).toEqual(['sps-fire-2']);
    },
  },
  {
    rule: "positionRisk v2 answers Binance's fields, numbers as strings, one-way mode",
    codes: [],
    doc: DOC.positionRisk,
    async check() {
      await send('POST', '/fapi/v1/marginType', { symbol: 'BTCUSDT', marginType: 'ISOLATED' });
      await send('POST', '/fapi/v1/leverage', { symbol: 'BTCUSDT', leverage: 10 });
      await order({ side: 'BUY', quantity: '0.01' });
      const margin = ceilDiv(notionalOfAtoms(1_000_000, MARK), 10);
      expect(await positionOf()).toEqual({
        symbol: 'BTCUSDT',
        positionAmt: '0.01',
        entryPrice: '23176.75',
        markPrice: '23176.75',
        unRealizedProfit: '0',
        // (entry notional − isolated wallet) ÷ (quantity × (1 − 0.4% maintenance))
        liquidationPrice: '20942.846385',
        leverage: '10',
        maxNotionalValue: '1000000',
        marginType: 'isolated',
        isolatedMargin: microsToDecimal(margin),
        isolatedWallet: microsToDecimal(margin),
        isAutoAddMargin: 'false',
        positionSide: 'BOTH',
        notional: '231.7675',
        updateTime: venue.clock.now(),
      });
      await order({ side: 'SELL', quantity: '0.01', newClientOrderId: 'flat' }, { as: OTHER });
      expect(await positionOf({ as: OTHER })).toMatchObject({ positionAmt: '-0.01', notional: '-231.7675', marginType: 'cross', leverage: '20', isolatedWallet: '0' });
    },
  },
  {
    rule: 'fault execute_then_drop: the order executes, the socket closes unanswered; the venue holds it once',
    codes: [],
    doc: `${DOC.generalInfo} (HTTP 5XX and 503: execution status UNKNOWN, "first verify … via orderId queries to avoid duplicates")`,
    async check() {
      venue.injectFault('/fapi/v1/order', { kind: 'execute_then_drop' }, { method: 'POST' });
      await expect(order({ side: 'BUY', quantity: '0.01', newClientOrderId: 'dropped' })).rejects.toThrow(/fetch failed/);
      await executedOnce('dropped');
    },
  },
  {
    rule: 'fault execute_then_status: the order executes, the answer is 503 -1000 "Unknown error…", 400 -1007 or 500 -1006, or plain text',
    codes: [-1000, -1007, -1006],
    doc: `${DOC.generalInfo} (HTTP 503 A: "Unknown error, please check your request or try again later." — execution unknown); ${DOC.errorCodes} -1006, -1007`,
    async check() {
      venue.injectFault('/fapi/v1/order', { kind: 'execute_then_status', status: 503 });
      expect(await order({ side: 'BUY', quantity: '0.01', newClientOrderId: 'unknown-503' })).toMatchObject(
        refusal(503, -1000, 'Unknown error, please check your request or try again later.'),
      );
      await executedOnce('unknown-503');
      venue.injectFault('/fapi/v1/order', { kind: 'execute_then_status', status: 400, code: -1007 });
      expect(await order({ side: 'BUY', quantity: '0.01', newClientOrderId: 'unknown-1007' })).toMatchObject(
        refusal(400, -1007, 'Timeout waiting for response from backend server. Send status unknown; execution status unknown.'),
      );
      await executedOnce('unknown-1007');
      venue.injectFault('/fapi/v1/order', { kind: 'execute_then_status', status: 500, code: -1006 });
      expect(await order({ side: 'BUY', quantity: '0.01', newClientOrderId: 'unknown-1006' })).toMatchObject(
        refusal(500, -1006, 'An unexpected response was received from the message bus. Execution status unknown.'),
      );
      await executedOnce('unknown-1006');
      venue.injectFault('/fapi/v1/order', { kind: 'execute_then_status', status: 504, plainText: 'Gateway Timeout' });
      expect(await order({ side: 'BUY', quantity: '0.01', newClientOrderId: 'unknown-504' })).toMatchObject({ status: 504, body: 'Gateway Timeout' });
      await executedOnce('unknown-504');
    },
  },
  {
    rule: 'fault execute_then_delay: the order executes, the answer comes after the caller has given up',
    codes: [],
    doc: `${DOC.generalInfo} (HTTP 408/503: a timeout waiting for the backend; execution unknown)`,
    async check() {
      venue.injectFault('/fapi/v1/order', { kind: 'execute_then_delay', delayMs: 2_000 });
      await expect(order({ side: 'BUY', quantity: '0.01', newClientOrderId: 'late' }, { timeoutMs: 200 })).rejects.toThrow(/aborted|timeout/i);
      await executedOnce('late');
    },
  },
  {
    rule: 'faults refuse_before and rate_limited answer without executing: no order at the venue, the query finds none',
    codes: [-1001, -1003, -2013],
    doc: `${DOC.generalInfo} (503 "Internal error; unable to process your request. Please try again." is a failure; 429/418 with Retry-After)`,
    async check() {
      venue.failNext('/fapi/v1/order', 503, { code: -1001, msg: 'Internal error; unable to process your request. Please try again.' });
      expect(await order({ side: 'BUY', quantity: '0.01', newClientOrderId: 'refused' })).toMatchObject(refusal(503, -1001));
      venue.injectFault('/fapi/v1/order', { kind: 'rate_limited', status: 429, retryAfterSeconds: 7 });
      const limited = await order({ side: 'BUY', quantity: '0.01', newClientOrderId: 'refused' });
      expect([limited.status, limited.body.code, limited.headers.get('retry-after')]).toEqual([429, -1003, '7']);
      venue.injectFault('/fapi/v1/order', { kind: 'rate_limited', status: 418, retryAfterSeconds: 120 });
      const banned = await order({ side: 'BUY', quantity: '0.01', newClientOrderId: 'refused' });
      expect([banned.status, banned.body.code, banned.headers.get('retry-after')]).toEqual([418, -1003, '120']);
      expect(venue.ordersFor('refused')).toEqual([]);
      expect(await queryOrder('refused')).toMatchObject(refusal(400, -2013));
    },
  },
  {
    rule: 'the admin routes queue faults over HTTP and list every venue order with its key',
    codes: [],
    doc: 'the stand-in itself (POST/DELETE /sapphire-admin/faults, GET /sapphire-admin/orders)',
    async check() {
      const admin = (method: string, path: string, body?: unknown) =>
        fetch(`${venue.url}/sapphire-admin/${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      const queued = await admin('POST', 'faults', { path: '/fapi/v1/order', method: 'POST', kind: 'execute_then_status', status: 503, count: 2 });
      expect([queued.status, await queued.json()]).toEqual([200, { path: '/fapi/v1/order', queued: 2 }]);
      expect((await admin('POST', 'faults', { path: '/fapi/v1/order', kind: 'explode' })).status).toBe(400);
      expect((await order({ side: 'BUY', quantity: '0.01', newClientOrderId: 'via-admin' })).status).toBe(503);
      expect((await admin('DELETE', 'faults')).status).toBe(200);
      expect((await order({ side: 'BUY', quantity: '0.01', newClientOrderId: 'after-clear' })).status).toBe(200);
      const listed = (await (await admin('GET', 'orders')).json()) as Row[];
      expect(listed.map((o) => [o.clientOrderId, o.apiKey, o.status])).toEqual([
        ['via-admin', KEY, 'FILLED'],
        ['after-clear', KEY, 'FILLED'],
      ]);
      expect(venue.requests.get('POST /fapi/v1/order')).toBe(2);
    },
  },
];

describe('the market stand-in holds to Binance USDⓈ-M futures rules', () => {
  it.each(RULES)('$rule [$codes] — $doc', async ({ check }) => {
    await check();
  });
});
