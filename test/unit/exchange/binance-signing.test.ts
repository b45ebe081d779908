import { describe, expect, it } from 'vitest';
import { buildSignedQuery, signQuery, verifySignedQuery } from '../../../shared/exchange/binance-futures/signing.js';

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
