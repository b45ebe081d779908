import { CANDLE_MINUTE, type CandleSeries } from '../domain/candles.js';
import { ExchangeError, type Kline, type MarketData, type SymbolFilters, type Ticker } from '../domain/exchange.js';
import { ATOMS_PER_UNIT } from '../domain/quantity.js';

/** Binance's BTCUSDT perpetual filters, which every replayed symbol trades under (as on the local venue stand-in). */
export function replayFilters(symbol: string): SymbolFilters {
  return { symbol, tickSizeMicros: 100_000, stepSizeAtoms: ATOMS_PER_UNIT / 1_000, minQtyAtoms: ATOMS_PER_UNIT / 1_000, minNotionalMicros: 100_000_000 };
}

/** Binance's largest klines page. */
const MAX_KLINES = 1_500;

/**
 * The market of a replay: candle files answered at the replay's clock, with the answers a
 * venue gives (and the local stand-in gives over HTTP): the last completed minute's close as
 * price and mark, completed candles only.
 */
export class ReplayMarket implements MarketData {
  constructor(
    private readonly series: ReadonlyMap<string, CandleSeries>,
    private readonly now: () => number = Date.now,
  ) {}

  get symbols(): string[] {
    return [...this.series.keys()];
  }

  async ticker(symbol: string): Promise<Ticker> {
    const now = this.now();
    return { symbol, priceMicros: this.of(symbol).priceAt(now), time: now };
  }

  markPrice(symbol: string): Promise<Ticker> {
    return this.ticker(symbol);
  }

  async klines(symbol: string, limit: number, endTime?: number): Promise<Kline[]> {
    const end = Math.min(endTime ?? Number.POSITIVE_INFINITY, this.now());
    return this.of(symbol)
      .completedAt(end + 1, Math.min(MAX_KLINES, limit))
      .map((c) => ({ openTime: c.openTime, closeTime: c.openTime + CANDLE_MINUTE - 1, openMicros: c.openMicros, highMicros: c.highMicros, lowMicros: c.lowMicros, closeMicros: c.closeMicros, volume: c.volume }));
  }

  async symbolFilters(symbol: string): Promise<SymbolFilters> {
    this.of(symbol);
    return replayFilters(symbol);
  }

  private of(symbol: string): CandleSeries {
    const series = this.series.get(symbol);
    if (!series) throw new ExchangeError('unknown_symbol', `no candles for ${symbol}`, false, -1121);
    return series;
  }
}
