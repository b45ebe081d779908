import { describe, expect, it } from 'vitest';
import { type Quote, resolveMarks } from '../../../shared/domain/mark-prices.js';

const MINUTE = 60_000;
const ok = (priceMicros: number, time: number): Quote => ({ ok: true, priceMicros, time });
const down: Quote = { ok: false, error: 'venue answered 503' };
const T0 = Date.parse('2023-03-10T00:00:00Z');
const WALL = Date.parse('2026-11-25T12:00:00Z');

describe('resolveMarks', () => {
  it('marks at fresh quotes and takes the market clock from the latest', () => {
    const marks = resolveMarks(new Map([['BTCUSDT', ok(20_000_000_000, T0)], ['ETHUSDT', ok(1_500_000_000, T0 + MINUTE)]]), {}, WALL, 5 * MINUTE);
    expect([...marks.prices]).toEqual([['BTCUSDT', 20_000_000_000], ['ETHUSDT', 1_500_000_000]]);
    expect(marks.stale.size).toBe(0);
    expect(marks.clock).toBe(T0 + MINUTE);
    expect(marks.book).toEqual({ BTCUSDT: { priceMicros: 20_000_000_000, time: T0, seenAt: WALL }, ETHUSDT: { priceMicros: 1_500_000_000, time: T0 + MINUTE, seenAt: WALL } });
  });

  it('keeps the last good price while it is younger than the limit', () => {
    const book = { BTCUSDT: { priceMicros: 20_000_000_000, time: T0, seenAt: WALL } };
    const marks = resolveMarks(new Map([['BTCUSDT', down]]), book, WALL + 4 * MINUTE, 5 * MINUTE);
    expect(marks.prices.get('BTCUSDT')).toBe(20_000_000_000);
    expect(marks.stale.size).toBe(0);
    // No fresh quote: the market clock moves on with the wall clock from the last one.
    expect(marks.clock).toBe(T0 + 4 * MINUTE);
    expect(marks.book.BTCUSDT).toEqual(book.BTCUSDT);
  });

  it('calls a price stale past the limit, still valuing at the last one, and says why', () => {
    const book = { BTCUSDT: { priceMicros: 20_000_000_000, time: T0, seenAt: WALL } };
    const marks = resolveMarks(new Map([['BTCUSDT', down]]), book, WALL + 10 * MINUTE, 5 * MINUTE);
    expect(marks.prices.get('BTCUSDT')).toBe(20_000_000_000);
    expect(marks.stale.get('BTCUSDT')).toBe('BTCUSDT: no price for 10 min (venue answered 503)');
  });

  it('calls a symbol never priced stale, with no price and no clock', () => {
    const marks = resolveMarks(new Map([['SOLUSDT', down]]), {}, WALL, 5 * MINUTE);
    expect(marks.prices.has('SOLUSDT')).toBe(false);
    expect(marks.stale.get('SOLUSDT')).toBe('SOLUSDT: never priced (venue answered 503)');
    expect(marks.clock).toBeUndefined();
  });

  it('takes the clock from the symbols that answer when others fail', () => {
    const book = { BTCUSDT: { priceMicros: 20_000_000_000, time: T0, seenAt: WALL - 30 * MINUTE } };
    const marks = resolveMarks(new Map([['BTCUSDT', down], ['ETHUSDT', ok(1_500_000_000, T0 + 2 * MINUTE)]]), book, WALL, 5 * MINUTE);
    expect(marks.clock).toBe(T0 + 2 * MINUTE);
    expect([...marks.stale.keys()]).toEqual(['BTCUSDT']);
  });
});
