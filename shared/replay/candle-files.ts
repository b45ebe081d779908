import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CandleSeries, parseCandlesCsv, symbolOfCandleFile } from '../domain/candles.js';

export interface CandleFolder {
  readonly series: Map<string, CandleSeries>;
  /** The files read, by name, in order. */
  readonly files: string[];
}

/**
 * A folder of Binance kline CSV files (`<SYMBOL>-1m-….csv`): every file of a symbol (a month's
 * daily files, say) joined into one series, symbols in name order.
 */
export async function readCandleFolder(dir: string): Promise<CandleFolder> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.csv') && symbolOfCandleFile(name)).sort();
  if (files.length === 0) throw new Error(`no kline files (<SYMBOL>-1m-….csv) in ${dir}`);
  const bySymbol = new Map<string, ReturnType<typeof parseCandlesCsv>>();
  for (const name of files) {
    const symbol = symbolOfCandleFile(name) as string;
    const candles = parseCandlesCsv(await readFile(join(dir, name), 'utf8'));
    bySymbol.set(symbol, [...(bySymbol.get(symbol) ?? []), ...candles]);
  }
  const series = new Map([...bySymbol].sort(([a], [b]) => (a < b ? -1 : 1)).map(([symbol, candles]) => [symbol, new CandleSeries(candles.sort((a, b) => a.openTime - b.openTime))]));
  return { series, files };
}
