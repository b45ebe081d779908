import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CANDLE_MINUTE } from '../../../shared/domain/candles.js';
import { readCandleFolder } from '../../../shared/replay/candle-files.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const row = (time: number, close: string) => `${time},${close},${close},${close},${close},1.0,${time + CANDLE_MINUTE - 1},100,3,0.5,50,0`;
let dir: string | undefined;

afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('readCandleFolder', () => {
  it("joins a symbol's daily Binance files into one series, symbols in name order, other files ignored", async () => {
    dir = await mkdtemp(join(tmpdir(), 'klines-'));
    await writeFile(join(dir, 'BTCUSDT-1m-2024-01-02.csv'), `${row(T0 + 1_440 * CANDLE_MINUTE, '42001.5')}\n`);
    await writeFile(join(dir, 'BTCUSDT-1m-2024-01-01.csv'), `${row(T0, '42000')}\n${row(T0 + CANDLE_MINUTE, '42000.1')}\n`);
    await writeFile(join(dir, 'ETHUSDT-1m-2024-01.csv'), `open_time,open,high,low,close,volume\n2024-01-01 00:00:00+00:00,2300,2301,2299,2300.5,10\n`);
    await writeFile(join(dir, 'notes.csv'), 'not,a,kline\n');
    await writeFile(join(dir, 'README.md'), '# data\n');
    const { series, files } = await readCandleFolder(dir);
    expect([...series.keys()]).toEqual(['BTCUSDT', 'ETHUSDT']);
    expect(files).toEqual(['BTCUSDT-1m-2024-01-01.csv', 'BTCUSDT-1m-2024-01-02.csv', 'ETHUSDT-1m-2024-01.csv']);
    expect(series.get('BTCUSDT')?.candles.map((c) => c.closeMicros)).toEqual([42_000_000_000, 42_000_100_000, 42_001_500_000]);
    // A gap of a day between the files: the price holds the last close until the next candle completes.
    expect(series.get('BTCUSDT')?.priceAt(T0 + 600 * CANDLE_MINUTE)).toBe(42_000_100_000);
    expect(series.get('ETHUSDT')?.priceAt(T0 + CANDLE_MINUTE)).toBe(2_300_500_000);
  });

  it('says where it looked when a folder has no kline files', async () => {
    dir = await mkdtemp(join(tmpdir(), 'klines-'));
    await expect(readCandleFolder(dir)).rejects.toThrow(`no kline files (<SYMBOL>-1m-….csv) in ${dir}`);
  });
});
