import { sleep as defaultSleep } from './retry.js';

/**
 * Spaces calls per key at most `perSecond` a second, in this instance: callers wait their turn
 * instead of being refused, so a burst of alerts reaches Slack in order without tripping its
 * one-message-a-second limit.
 */
export class RateLimiter {
  private readonly nextFree = new Map<string, number>();
  private readonly intervalMs: number;

  constructor(
    perSecond: number,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = defaultSleep,
  ) {
    this.intervalMs = 1_000 / perSecond;
  }

  async take(key: string): Promise<void> {
    const now = this.now();
    const slot = Math.max(now, this.nextFree.get(key) ?? 0);
    this.nextFree.set(key, slot + this.intervalMs);
    if (slot > now) await this.sleep(slot - now);
  }
}
