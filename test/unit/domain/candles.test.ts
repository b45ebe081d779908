import { describe, expect, it } from 'vitest';
import { CANDLE_MINUTE, CandleSeries, parseCandlesCsv, symbolOfCandleFile } from '../../../shared/domain/candles.js';

const T0 = Date.parse('2023-03-01T00:00:00Z');

describe('candle CSV', () => {
  it('parses rows with a header into micro-USD candles', () => {
    const [candle] = parseCandlesCsv('open_time,open,high,low,close,volume\n2023-03-01 00:00:00+00:00,23140.48,23150.77,23128.52,23142.31,2.131777\n');
    expect(candle).toEqual({ openTime: T0, openMicros: 23_140_480_000, highMicros: 23_150_770_000, lowMicros: 23_128_520_000, closeMicros: 23_142_310_000, volume: '2.131777' });
  });

  it("reads Binance's public kline files: epoch ms or µs, extra columns, no header", () => {
    const ms = `${T0 + CANDLE_MINUTE},23143.89,23148.8,23137.61,23137.77,0.881378,${T0 + 2 * CANDLE_MINUTE - 1},20400.1,31,0.4,9000.2,0\n${T0},23140.48,23150.77,23128.52,23142.31,2.131777,${T0 + CANDLE_MINUTE - 1},49341.2,52,1.1,25000.3,0\n`;
    const micro = `${T0 * 1000},23140.48,23150.77,23128.52,23142.31,2.131777,${(T0 + CANDLE_MINUTE) * 1000 - 1},49341.2,52,1.1,25000.3,0\n`;
    expect(parseCandlesCsv(ms).map((c) => c.openTime)).toEqual([T0, T0 + CANDLE_MINUTE]);
    expect(parseCandlesCsv(micro)[0]?.openTime).toBe(T0);
  });

  it('names the row that is not a candle', () => {
    expect(() => parseCandlesCsv('open_time,open,high,low,close,volume\n2023-03-01 00:00:00+00:00,1,2\n')).toThrow(/row 2/);
  });

  it('takes the symbol from the file name', () => {
    expect(symbolOfCandleFile('BTCUSDT-1m-20230301-20230321.csv')).toBe('BTCUSDT');
    expect(symbolOfCandleFile('ETHUSDT-1m-2024-01.csv')).toBe('ETHUSDT');
    expect(symbolOfCandleFile('notes.csv')).toBeUndefined();
  });
});

describe('CandleSeries', () => {
  const candle = (minute: number, close: number) => ({ openTime: T0 + minute * CANDLE_MINUTE, openMicros: close, highMicros: close, lowMicros: close, closeMicros: close, volume: '1' });
  // A gap at minute 2.
  const series = new CandleSeries([candle(0, 10), candle(1, 11), candle(3, 13)]);

  it('prices at the close of the last completed minute, never a minute ahead', () => {
    expect(series.priceAt(T0)).toBe(10); // none completed yet: the first candle's
    expect(series.priceAt(T0 + CANDLE_MINUTE - 1)).toBe(10);
    expect(series.priceAt(T0 + 2 * CANDLE_MINUTE)).toBe(11);
    expect(series.priceAt(T0 + 3 * CANDLE_MINUTE + 59_999)).toBe(11);
    expect(series.priceAt(T0 + 4 * CANDLE_MINUTE)).toBe(13);
    expect(series.priceAt(T0 + 100 * CANDLE_MINUTE)).toBe(13);
  });

  it('answers completed candles only, the last `limit` of them', () => {
    expect(series.completedAt(T0 + 2 * CANDLE_MINUTE, 10).map((c) => c.closeMicros)).toEqual([10, 11]);
    expect(series.completedAt(T0 + 4 * CANDLE_MINUTE, 2).map((c) => c.closeMicros)).toEqual([11, 13]);
    expect(series.completedAt(T0, 5)).toEqual([]);
  });
});
