import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExchangeError } from '../../shared/domain/exchange.js';
import { BinanceFuturesClient } from '../../shared/exchange/binance-futures/client.js';
import type { MarketStandIn } from '../../scripts/lib/market-standin.js';
import { USD } from '../../shared/domain/money.js';
import { placeHeldOrder, startReplayAt } from '../support/market.js';

/** The real Binance futures client against the local stand-in venue over HTTP. */

const API_KEY = 'test-api-key';
const API_SECRET = 'test-api-secret-0123456789';
let venue: MarketStandIn;
let client: BinanceFuturesClient;

beforeAll(async () => {
  venue = await startReplayAt('2023-03-01T00:05:00Z', { apiKey: API_KEY, apiSecret: API_SECRET });
  client = new BinanceFuturesClient({ baseUrl: venue.url, apiKey: API_KEY, apiSecret: API_SECRET, sleep: async () => {} });
});

afterAll(async () => {
  await venue?.close();
});

const posts = () => venue.requests.get('POST /fapi/v1/order') ?? 0;

describe('BinanceFuturesClient', () => {
  it('reads prices, candles and filters from the replay, never past its clock', async () => {
    venue.clock.set(Date.parse('2023-03-01T00:01:00Z'), 0);
    expect(await client.ticker('BTCUSDT')).toMatchObject({ priceMicros: 23_142_310_000 });
    venue.clock.set(Date.parse('2023-03-01T00:05:30Z'), 0);
    const candles = await client.klines('BTCUSDT', 3);
    expect(candles.map((c) => new Date(c.openTime).toISOString())).toEqual([
      '2023-03-01T00:02:00.000Z',
      '2023-03-01T00:03:00.000Z',
      '2023-03-01T00:04:00.000Z',
    ]);
    expect(await client.symbolFilters('BTCUSDT')).toEqual({
      symbol: 'BTCUSDT',
      tickSizeMicros: 100_000,
      stepSizeAtoms: 100_000,
      minQtyAtoms: 100_000,
      minNotionalMicros: 100 * USD,
    });
  });

  it('places a market order that fills once; a placement whose answer is lost is asked about, not sent again', async () => {
    const order = { clientOrderId: 'sph-market-1', symbol: 'BTCUSDT', side: 'BUY' as const, type: 'MARKET' as const, quantity: '0.01', reduceOnly: false, leverage: 5 };
    // The venue executes, then the connection drops: Binance would take the same id sent again
    // as a second order (its client order ids are unique among open orders only).
    venue.injectFault('/fapi/v1/order', { kind: 'execute_then_drop' }, { method: 'POST' });
    const placed = await client.placeOrder(order);
    expect(placed).toMatchObject({ status: 'FILLED', executedQuantity: '0.01' });
    expect(venue.ordersFor('sph-market-1')).toHaveLength(1);
    const fills = await client.orderFills(placed);
    expect(fills).toHaveLength(1);
    expect(fills[0]).toMatchObject({ clientOrderId: 'sph-market-1', exchangeOrderId: placed.exchangeOrderId, quantity: '0.01' });
    // 0.05% of 0.01 × price, rounded up to the micro.
    expect(fills[0]?.feeMicros).toBe(Math.ceil((fills[0]?.priceMicros ?? 0) * 0.01 * 0.0005));
  });

  it('follows an order the venue could not fill at once through a partial fill and a cancel', async () => {
    await placeHeldOrder(venue, client, 'sph-held-1');
    venue.fill('sph-held-1', '0.004');
    expect(await client.getOrder('BTCUSDT', 'sph-held-1')).toMatchObject({ status: 'PARTIALLY_FILLED', executedQuantity: '0.004' });
    expect(await client.cancelOrder('BTCUSDT', 'sph-held-1')).toMatchObject({ status: 'CANCELED' });
    await expect(client.cancelOrder('BTCUSDT', 'sph-held-1')).rejects.toMatchObject({ reason: 'order_not_found', retryable: false });
    expect(await client.getOrder('BTCUSDT', 'no-such-order')).toBeUndefined();
  });

  it('maps refusals to reasons and checks filters before sending', async () => {
    const before = posts();
    await expect(client.placeOrder({ clientOrderId: 'sph-bad-qty', symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quantity: '0.0015', reduceOnly: false, leverage: 5 })).rejects.toMatchObject({ reason: 'invalid_quantity' });
    await expect(client.placeOrder({ clientOrderId: 'sph-small', symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quantity: '0.001', reduceOnly: false, leverage: 5 })).rejects.toMatchObject({ reason: 'min_notional' });
    expect(posts()).toBe(before);
    venue.failNext('/fapi/v1/order', 400, { code: -2019, msg: 'Margin is insufficient.' });
    await expect(client.placeOrder({ clientOrderId: 'sph-margin', symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quantity: '0.01', reduceOnly: false, leverage: 5 })).rejects.toMatchObject({ reason: 'insufficient_margin', retryable: false });
    const wrongSecret = new BinanceFuturesClient({ baseUrl: venue.url, apiKey: API_KEY, apiSecret: 'wrong' });
    await expect(wrongSecret.getOrder('BTCUSDT', 'sph-market-1')).rejects.toMatchObject({ reason: 'auth_failed' });
  });

  it('backs off on 429 and 418, honouring Retry-After, and gives up as retryable', async () => {
    const waits: number[] = [];
    const patient = new BinanceFuturesClient({ baseUrl: venue.url, apiKey: API_KEY, apiSecret: API_SECRET, maxRetries: 2, sleep: async (ms) => void waits.push(ms) });
    venue.failNext('/fapi/v1/ticker/price', 429, { code: -1003, msg: 'Too many requests' }, { 'Retry-After': '3' });
    venue.failNext('/fapi/v1/ticker/price', 418, { code: -1003, msg: 'banned' });
    // After both refusals, the price: the 00:04 close, the last minute closed at 00:05:30.
    expect((await patient.ticker('BTCUSDT')).priceMicros).toBe(23_176_750_000);
    expect(waits[0]).toBe(3_000);
    for (let i = 0; i < 3; i += 1) venue.failNext('/fapi/v1/ticker/price', 429, {});
    const error = await patient.ticker('BTCUSDT').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExchangeError);
    expect(error).toMatchObject({ reason: 'rate_limited', retryable: true });
  });

  it('checks the venue at start, and names a geo-block as the cause instead of failing an order later', async () => {
    expect(await client.checkVenue()).toMatchObject({ symbols: 1 });
    venue.geoBlock(true);
    try {
      const blocked = await new BinanceFuturesClient({ baseUrl: venue.url, apiKey: API_KEY, apiSecret: API_SECRET }).checkVenue().catch((e: unknown) => e);
      expect(blocked).toBeInstanceOf(ExchangeError);
      expect(blocked).toMatchObject({ reason: 'geo_blocked', retryable: false, message: expect.stringMatching(/refuses requests from this location \(HTTP 451\): deploy Sapphire in a region the venue serves/) });
      await expect(client.ticker('BTCUSDT')).rejects.toMatchObject({ reason: 'geo_blocked' });
    } finally {
      venue.geoBlock(false);
    }
  });

  it('signs with the server clock even when the local clock is a minute off', async () => {
    const skewed = new BinanceFuturesClient({ baseUrl: venue.url, apiKey: API_KEY, apiSecret: API_SECRET, now: () => Date.now() + 60_000 });
    expect(await skewed.getOrder('BTCUSDT', 'sph-market-1')).toMatchObject({ status: 'FILLED' });
    // A -1021 makes it measure the offset again and retry once.
    venue.failNext('/fapi/v1/order', 400, { code: -1021, msg: 'Timestamp for this request is outside of the recvWindow.' });
    expect(await skewed.getOrder('BTCUSDT', 'sph-market-1')).toMatchObject({ status: 'FILLED' });
  });
});
