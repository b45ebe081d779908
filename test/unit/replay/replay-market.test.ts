import { describe, expect, it } from 'vitest';
import { CANDLE_MINUTE, CandleSeries } from '../../../shared/domain/candles.js';
import { ExchangeError } from '../../../shared/domain/exchange.js';
import { ReplayMarket, replayFilters } from '../../../shared/replay/replay-market.js';

const T0 = Date.parse('2023-03-10T00:00:00Z');
const candle = (minute: number, close: number) => ({ openTime: T0 + minute * CANDLE_MINUTE, openMicros: close - 1, highMicros: close + 1, lowMicros: close - 2, closeMicros: close, volume: '1.5' });

describe('ReplayMarket', () => {
  let now = T0;
  const market = new ReplayMarket(new Map([['BTCUSDT', new CandleSeries([0, 1, 2, 3].map((m) => candle(m, 20_000_000_000 + m)))]]), () => now);

  it('prices at the last completed minute of its clock, the mark too', async () => {
    now = T0 + 2 * CANDLE_MINUTE + 30_000;
    expect(await market.ticker('BTCUSDT')).toEqual({ symbol: 'BTCUSDT', priceMicros: 20_000_000_001, time: now });
    expect(await market.markPrice('BTCUSDT')).toEqual(await market.ticker('BTCUSDT'));
  });

  it('answers completed klines only, as the venue shapes them, never past its clock', async () => {
    now = T0 + 2 * CANDLE_MINUTE;
    const klines = await market.klines('BTCUSDT', 10, T0 + 60 * CANDLE_MINUTE);
    expect(klines.map((k) => k.closeMicros)).toEqual([20_000_000_000, 20_000_000_001]);
    expect(klines[0]).toEqual({ openTime: T0, closeTime: T0 + CANDLE_MINUTE - 1, openMicros: 19_999_999_999, highMicros: 20_000_000_001, lowMicros: 19_999_999_998, closeMicros: 20_000_000_000, volume: '1.5' });
    expect((await market.klines('BTCUSDT', 1)).map((k) => k.openTime)).toEqual([T0 + CANDLE_MINUTE]);
  });

  it("trades under the stand-in venue's filters and refuses a symbol it has no candles of", async () => {
    expect(await market.symbolFilters('BTCUSDT')).toEqual(replayFilters('BTCUSDT'));
    await expect(market.ticker('ETHUSDT')).rejects.toBeInstanceOf(ExchangeError);
    await expect(market.symbolFilters('ETHUSDT')).rejects.toMatchObject({ reason: 'unknown_symbol' });
  });
});
