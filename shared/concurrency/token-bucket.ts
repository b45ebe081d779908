import { sleep } from './retry.js';

/**
 * A token bucket per key: at most `burst` events at once, refilled at `ratePerSecond`. Over any
 * window of T seconds a key gets at most burst + ratePerSecond·T events, so burst 4 at 6/s
 * keeps every 1 s window at 10 or fewer. `reserve` takes the next token and says how long to
 * wait for it; the caller sleeps. Pure: time comes from the caller.
 */
export class TokenBucket<Key> {
  private readonly buckets = new Map<Key, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {
    if (!(ratePerSecond > 0) || !(burst >= 1)) throw new RangeError(`need a positive rate and a burst of at least 1, got ${ratePerSecond}/s, ${burst}`);
  }

  /** Takes one token for `key` at time `nowMs`; returns the milliseconds until it is valid (0: now). */
  reserve(key: Key, nowMs: number): number {
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: nowMs };
    const refilled = Math.min(this.burst, bucket.tokens + ((nowMs - bucket.at) * this.ratePerSecond) / 1_000);
    const tokens = refilled - 1; // may go negative: a debt the caller waits out
    this.buckets.set(key, { tokens, at: nowMs });
    return tokens >= 0 ? 0 : Math.ceil((-tokens * 1_000) / this.ratePerSecond);
  }

  /** Gives back a token taken for an event that did not happen (a commit that wrote nothing). */
  refund(key: Key): void {
    const bucket = this.buckets.get(key);
    if (bucket) bucket.tokens = Math.min(this.burst, bucket.tokens + 1);
  }
}

/** Waits for `bucket`'s next token for a key: the pace a GroupCommitter awaits before each batch. */
export function paceBy<Key>(bucket: TokenBucket<Key>, now: () => number = Date.now): (key: Key) => Promise<void> {
  return async (key) => {
    const waitMs = bucket.reserve(key, now());
    if (waitMs > 0) await sleep(waitMs);
  };
}
