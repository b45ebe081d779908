/**
 * The prices the evaluator marks positions at, safe against a failing feed: a fresh quote when
 * the venue answers, else the last good one while it is younger than the staleness limit. Past
 * it the symbol is stale: its last price still values the position (nothing better exists), and
 * the agents holding it may only reduce risk until prices return.
 */

export interface LastMark {
  readonly priceMicros: number;
  /** The venue's time of the price (the market clock). */
  readonly time: number;
  /** When we got it (wall clock, ms): what staleness is measured from. */
  readonly seenAt: number;
}

export type MarkBook = Readonly<Record<string, LastMark>>;

export type Quote = { readonly ok: true; readonly priceMicros: number; readonly time: number } | { readonly ok: false; readonly error: string };

export interface ResolvedMarks {
  /** The price each symbol is marked at; a symbol never quoted has none. */
  readonly prices: ReadonlyMap<string, number>;
  /** Symbols without a price younger than the limit, and why. */
  readonly stale: ReadonlyMap<string, string>;
  /** The marks to remember for the next evaluation. */
  readonly book: MarkBook;
  /**
   * The market's clock: the latest fresh quote's time; with no fresh quote, the last known
   * market time moved on by the wall-clock time since (so a replay's clock is not replaced by
   * the wall clock's year).
   */
  readonly clock: number | undefined;
}

export function resolveMarks(quotes: ReadonlyMap<string, Quote>, book: MarkBook, now: number, stalenessMs: number): ResolvedMarks {
  const prices = new Map<string, number>();
  const stale = new Map<string, string>();
  const next: Record<string, LastMark> = { ...book };
  let clock: number | undefined;
  for (const [symbol, quote] of quotes) {
    if (quote.ok) {
      prices.set(symbol, quote.priceMicros);
      next[symbol] = { priceMicros: quote.priceMicros, time: quote.time, seenAt: now };
      clock = Math.max(clock ?? quote.time, quote.time);
      continue;
    }
    const last = book[symbol];
    if (last) prices.set(symbol, last.priceMicros);
    const age = last ? now - last.seenAt : undefined;
    if (age === undefined || age > stalenessMs) {
      stale.set(symbol, `${symbol}: ${last ? `no price for ${Math.round(age as number / 60_000)} min` : 'never priced'} (${quote.error.slice(0, 120)})`);
    }
  }
  if (clock === undefined) {
    const known = Object.values(book).map((m) => m.time + (now - m.seenAt));
    clock = known.length > 0 ? Math.max(...known) : undefined;
  }
  return { prices, stale, book: next, clock };
}
