import { venueUsdToMicros } from './money.js';

/**
 * One-minute candles as replays read them, and what a venue answers from them at a market
 * instant: the price is the close of the last minute completed at or before it; klines are
 * completed minutes only, never past it (no peeking at the future). The local venue stand-in
 * and `npm run replay` both answer from here, so they see the same market.
 */

export interface Candle {
  readonly openTime: number;
  readonly openMicros: number;
  readonly highMicros: number;
  readonly lowMicros: number;
  readonly closeMicros: number;
  /** Base-asset volume as a decimal string. */
  readonly volume: string;
}

export const CANDLE_MINUTE = 60_000;

const priceOf = (decimal: string) => venueUsdToMicros(decimal.startsWith('-') ? '0' : decimal);

/** Epoch ms from a Binance kline open time: ISO 8601 text, or epoch ms (µs in files since 2025). */
function openTimeOf(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n >= 1e15 ? Math.floor(n / 1_000) : n;
  }
  return Date.parse(text.replace(' ', 'T'));
}

/**
 * Parses a kline CSV: `open_time,open,high,low,close,volume` with a header (ISO 8601 times), or
 * Binance's public kline files (data.binance.vision: epoch times, more columns, with or without
 * a header). Rows come back in time order; a row that is not a candle fails with its number.
 */
export function parseCandlesCsv(text: string): Candle[] {
  const lines = text.split('\n');
  const candles: Candle[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]?.trim();
    if (!line) continue;
    const [time, open, high, low, close, volume] = line.split(',');
    if (i === 0 && time !== undefined && !/^\d/.test(time)) continue; // the header
    const openTime = time === undefined ? Number.NaN : openTimeOf(time);
    if (!Number.isFinite(openTime) || !open || !high || !low || !close || volume === undefined) throw new Error(`malformed candle row ${i + 1}: ${line.slice(0, 120)}`);
    candles.push({ openTime, openMicros: priceOf(open), highMicros: priceOf(high), lowMicros: priceOf(low), closeMicros: priceOf(close), volume });
  }
  return candles.sort((a, b) => a.openTime - b.openTime);
}

/** The symbol a kline file is of, from Binance's naming (`BTCUSDT-1m-2023-03-01.csv`). */
export function symbolOfCandleFile(fileName: string): string | undefined {
  return /^([A-Z0-9]{2,30})-1m-/.exec(fileName)?.[1];
}

/** A symbol's candles, one per minute, answering for any instant. */
export class CandleSeries {
  constructor(readonly candles: readonly Candle[]) {
    if (candles.length === 0) throw new Error('a candle series needs at least one candle');
  }

  get firstOpenTime(): number {
    return (this.candles[0] as Candle).openTime;
  }

  /** When the last candle closes. */
  get endTime(): number {
    return (this.candles.at(-1) as Candle).openTime + CANDLE_MINUTE;
  }

  /** Index of the last candle completed at or before `time` (−1: none yet); a file may have gaps. */
  lastCompletedIndex(time: number): number {
    let low = 0;
    let high = this.candles.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.candles[mid] as Candle).openTime + CANDLE_MINUTE <= time) low = mid + 1;
      else high = mid;
    }
    return low - 1;
  }

  /** The price at `time`: the close of the last completed minute (the first candle's before any). */
  priceAt(time: number): number {
    return (this.candles[Math.max(0, this.lastCompletedIndex(time))] as Candle).closeMicros;
  }

  /** The last `limit` completed candles at `time`, oldest first. */
  completedAt(time: number, limit: number): readonly Candle[] {
    const index = this.lastCompletedIndex(time);
    return this.candles.slice(Math.max(0, index + 1 - limit), index + 1);
  }
}
