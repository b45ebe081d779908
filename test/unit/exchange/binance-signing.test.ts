import { describe, expect, it } from 'vitest';
import { buildSignedQuery, signQuery, verifySignedQuery } from '../../../shared/exchange/binance-futures/signing.js';
import { parseCandlesCsv } from '../../../scripts/lib/market-standin.js';

// The example published in Binance's API documentation (SIGNED endpoint security).
const SECRET = 'NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j';
const QUERY = 'symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559';
const SIGNATURE = 'c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71';

describe('Binance request signing', () => {
  it('reproduces the documented example', () => {
    expect(signQuery(QUERY, SECRET)).toBe(SIGNATURE);
    const built = buildSignedQuery(
      { symbol: 'LTCBTC', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', quantity: 1, price: 0.1, recvWindow: 5000, timestamp: 1499827319559 },
      SECRET,
    );
    expect(built).toBe(`${QUERY}&signature=${SIGNATURE}`);
  });

  it('verifies a signed query and refuses a tampered one', () => {
    expect(verifySignedQuery(`${QUERY}&signature=${SIGNATURE}`, SECRET)).toBe(true);
    expect(verifySignedQuery(`${QUERY.replace('quantity=1', 'quantity=2')}&signature=${SIGNATURE}`, SECRET)).toBe(false);
    expect(verifySignedQuery(QUERY, SECRET)).toBe(false);
    expect(verifySignedQuery(`${QUERY}&signature=${SIGNATURE}`, 'another-secret')).toBe(false);
  });
});

describe('candle CSV', () => {
  it('parses rows into micro-USD candles', () => {
    const [candle] = parseCandlesCsv('open_time,open,high,low,close,volume\n2023-03-01 00:00:00+00:00,23140.48,23150.77,23128.52,23142.31,2.131777\n');
    expect(candle).toEqual({
      openTime: Date.parse('2023-03-01T00:00:00Z'),
      openMicros: 23_140_480_000,
      highMicros: 23_150_770_000,
      lowMicros: 23_128_520_000,
      closeMicros: 23_142_310_000,
      volume: '2.131777',
    });
  });
});
