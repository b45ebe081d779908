import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseBinanceOrderTradeUpdate } from '../../../shared/domain/binance-order-update.js';
import { OrderUpdate } from '../../../shared/domain/order-updates.js';
import { venueUsdToMicros } from '../../../shared/domain/money.js';

const CLIENT_ID = 'sph-e87e5b1c0d2f4a6b8c9d0e1f2a3b4c5d';
const E = 1_767_323_045_651;

type Json = Record<string, unknown>;

/** A USDⓈ-M ORDER_TRADE_UPDATE as the venue pushes it: a market BUY of 0.010 BTC. */
function event(o: Json = {}, top: Json = {}): Json {
  return {
    e: 'ORDER_TRADE_UPDATE',
    E,
    T: E - 1,
    o: {
      s: 'BTCUSDT',
      c: CLIENT_ID,
      S: 'BUY',
      o: 'MARKET',
      f: 'GTC',
      q: '0.010',
      p: '0',
      ap: '0',
      sp: '0',
      x: 'NEW',
      X: 'NEW',
      i: 4_061_887_921,
      l: '0',
      z: '0',
      L: '0',
      N: 'USDT',
      n: '0',
      T: E - 1,
      t: 0,
      b: '0',
      a: '0',
      m: false,
      R: false,
      wt: 'CONTRACT_PRICE',
      ot: 'MARKET',
      ps: 'BOTH',
      cp: false,
      rp: '0',
      pP: false,
      si: 0,
      ss: 0,
      V: 'EXPIRE_MAKER',
      pm: 'NONE',
      gtd: 0,
      ...o,
    },
    ...top,
  };
}

const PARTIAL = { x: 'TRADE', X: 'PARTIALLY_FILLED', l: '0.004', z: '0.004', L: '67012.30', ap: '67012.30', n: '0.10721968', t: 5_512_398_001 };
const FINAL = { x: 'TRADE', X: 'FILLED', l: '0.006', z: '0.010', L: '67012.40', ap: '67012.36', n: '0.16082976', t: 5_512_398_002 };

function ok(json: unknown, venue: 'binance' | 'aster' = 'binance'): OrderUpdate {
  const result = parseBinanceOrderTradeUpdate(json, venue);
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.fields)}`);
  return result.update;
}

function fields(json: unknown): string[] {
  const result = parseBinanceOrderTradeUpdate(json, 'binance');
  if (result.ok) throw new Error('expected field errors');
  return result.fields.map((f) => f.field);
}

describe('parseBinanceOrderTradeUpdate', () => {
  it('maps NEW to ACCEPTED without a fill', () => {
    expect(ok(event())).toEqual({
      eventId: `binance:4061887921:NEW:${E}`,
      venue: 'binance',
      orderId: CLIENT_ID,
      exchangeOrderId: '4061887921',
      symbol: 'BTCUSDT',
      side: 'BUY',
      status: 'ACCEPTED',
      orderQuantity: '0.010',
      cumulativeFilledQuantity: '0',
      eventTime: new Date(E).toISOString(),
    });
  });

  it('maps a partial TRADE to PARTIALLY_FILLED with its fill, rounding price and fee to the micro', () => {
    const update = ok(event(PARTIAL));
    expect(update.status).toBe('PARTIALLY_FILLED');
    expect(update.eventId).toBe('binance:4061887921:TRADE:5512398001');
    expect(update.cumulativeFilledQuantity).toBe('0.004');
    // 0.10721968 USDT → 0.107220 (half up).
    expect(update.fill).toEqual({ tradeId: '5512398001', quantity: '0.004', priceMicros: 67_012_300_000, feeMicros: 107_220 });
  });

  it('maps the final TRADE to FILLED with its fill', () => {
    const update = ok(event(FINAL));
    expect(update.status).toBe('FILLED');
    expect(update.eventId).toBe('binance:4061887921:TRADE:5512398002');
    expect(update.fill).toEqual({ tradeId: '5512398002', quantity: '0.006', priceMicros: 67_012_400_000, feeMicros: 160_830 });
  });

  it('maps CANCELED and EXPIRED, EXPIRED_IN_MATCH included', () => {
    const canceled = ok(event({ x: 'CANCELED', X: 'CANCELED', o: 'LIMIT', p: '60000', z: '0.004' }));
    expect(canceled).toMatchObject({ status: 'CANCELED', cumulativeFilledQuantity: '0.004', eventId: `binance:4061887921:CANCELED:${E}` });
    expect(canceled.fill).toBeUndefined();

    const expired = ok(event({ x: 'EXPIRED', X: 'EXPIRED', f: 'IOC', z: '0.004' }));
    expect(expired).toMatchObject({ status: 'EXPIRED', eventId: `binance:4061887921:EXPIRED:${E}` });
    expect(expired.reason).toBeUndefined();

    const inMatch = ok(event({ x: 'EXPIRED', X: 'EXPIRED_IN_MATCH' }));
    expect(inMatch).toMatchObject({ status: 'EXPIRED', reason: 'expired in match (self-trade prevention)' });
  });

  it('names the venue it was given', () => {
    const update = ok(event(PARTIAL), 'aster');
    expect(update.venue).toBe('aster');
    expect(update.eventId).toBe('aster:4061887921:TRADE:5512398001');
  });

  it('reads a fill without commission as fee-free', () => {
    const { N: _N, n: _n, ...withoutCommission } = event(FINAL).o as Json;
    expect(ok({ ...event(), o: withoutCommission }).fill?.feeMicros).toBe(0);
  });

  it('accepts string ids from bridges that keep 64-bit ids exact', () => {
    const update = ok(event({ ...FINAL, i: '4061887921', t: '5512398002' }));
    expect(update.exchangeOrderId).toBe('4061887921');
    expect(update.fill?.tradeId).toBe('5512398002');
  });

  it('treats a fill-less change of a partly filled order as accepted', () => {
    expect(ok(event({ x: 'AMENDMENT', X: 'PARTIALLY_FILLED', z: '0.004' })).status).toBe('ACCEPTED');
  });

  it('refuses a commission it cannot value in USD here, naming the asset, and credits a maker rebate', () => {
    const result = parseBinanceOrderTradeUpdate(event({ ...FINAL, N: 'BNB', n: '0.00024719' }), 'binance');
    expect(result).toEqual({ ok: false, fields: [{ field: 'o.N', message: expect.stringMatching(/commission in BNB cannot be valued/) }] });
    expect(ok(event({ ...FINAL, N: 'USDC' })).fill?.feeMicros).toBe(160_830);
    // A negative commission is a rebate: credited, never a negative fee.
    expect(ok(event({ ...FINAL, n: '-0.01' })).fill).toMatchObject({ feeMicros: 0, rebateMicros: 10_000 });
  });

  it('reports missing and malformed fields by their Binance names', () => {
    const { c: _c, q: _q, ...rest } = event().o as Json;
    expect(fields({ ...event(), o: rest })).toEqual(expect.arrayContaining(['o.c', 'o.q']));
    expect(fields(event({}, { e: 'ACCOUNT_UPDATE' }))).toEqual(['e']);
    expect(fields(event({ X: 'WHATEVER' }))).toEqual(['o.X']);
    expect(fields(event({ l: 0.004 }))).toEqual(['o.l']);
    expect(fields({ e: 'ORDER_TRADE_UPDATE', E })).toEqual(['o']);
    expect(fields(null)).toEqual(['(body)']);
  });

  it('reports inconsistent or unrepresentable events against the venue fields', () => {
    expect(fields(event({ ...PARTIAL, z: '0.010' }))).toContain('o.z');
    expect(fields(event({ ...FINAL, z: '0.009' }))).toContain('o.z');
    expect(fields(event({ ...FINAL, t: 0 }))).toEqual(['o.t']);
    expect(fields(event({ ...FINAL, l: '0' }))).toEqual(['o.l']);
    expect(fields(event({ c: 'web_has/slash' }))).toEqual(['o.c']);
    expect(fields(event({ s: 'btcusdt' }))).toEqual(['o.s']);
    expect(fields(event({ q: '0.000000001' }))).toContain('o.q');
    expect(fields(event({ ...FINAL, L: '0.0000001' }))).toEqual(['o.L']);
  });

  it('never throws, whatever JSON arrives', () => {
    const anyJson = fc.jsonValue();
    fc.assert(
      fc.property(anyJson, (json) => {
        expect(() => OrderUpdate.safeParse(json)).not.toThrow();
        expect(() => parseBinanceOrderTradeUpdate(json, 'binance')).not.toThrow();
      }),
      { numRuns: 500 },
    );
    // Near-valid events reach the mapping and the OrderUpdate checks too.
    const fieldValue = fc.oneof(fc.jsonValue(), fc.constantFrom('0', '0.010', '0.004', '67012.30', '1e3', '-1', '0.000000001', 'USDT', 'BNB', 'TRADE', 'FILLED'));
    const keys = ['s', 'c', 'S', 'q', 'x', 'X', 'i', 'l', 'z', 'L', 'N', 'n', 't'] as const;
    fc.assert(
      fc.property(fc.constantFrom(event(), event(PARTIAL), event(FINAL)), fc.dictionary(fc.constantFrom(...keys), fieldValue), (base, overrides) => {
        const json = { ...base, o: { ...(base.o as Json), ...overrides } };
        expect(() => parseBinanceOrderTradeUpdate(json, 'aster')).not.toThrow();
        const result = parseBinanceOrderTradeUpdate(json, 'aster');
        if (result.ok) expect(OrderUpdate.safeParse(result.update).success).toBe(true);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.record({ orderQuantity: fieldValue, cumulativeFilledQuantity: fieldValue, status: fieldValue, fill: fc.jsonValue() }), (overrides) => {
        expect(() =>
          OrderUpdate.safeParse({ eventId: 'e', venue: 'v', orderId: 'o', exchangeOrderId: '1', symbol: 'BTCUSDT', side: 'BUY', eventTime: new Date(E).toISOString(), ...overrides }),
        ).not.toThrow();
      }),
      { numRuns: 1000 },
    );
  });
});

describe('venueUsdToMicros', () => {
  it('rounds to the nearest micro, halves up', () => {
    expect(venueUsdToMicros('67012.30')).toBe(67_012_300_000);
    expect(venueUsdToMicros('0.0000004')).toBe(0);
    expect(venueUsdToMicros('0.0000005')).toBe(1);
    expect(venueUsdToMicros('0.00000049999')).toBe(0);
    expect(venueUsdToMicros('1.9999995')).toBe(2_000_000);
    expect(venueUsdToMicros('7')).toBe(7_000_000);
    expect(() => venueUsdToMicros('-1')).toThrow(RangeError);
    expect(() => venueUsdToMicros('1e9')).toThrow(RangeError);
    expect(() => venueUsdToMicros('99999999999')).toThrow(/too large/);
  });
});
