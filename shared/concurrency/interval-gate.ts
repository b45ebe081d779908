import { sleep } from './retry.js';

/**
 * A gate that opens at most once per interval: callers arriving while it is shut all wait for
 * the same next opening, and pass together. Used where a burst of "something changed" signals
 * should cost one piece of work per interval, not one each (the drawdown evaluator and fills).
 */
export class IntervalGate {
  private lastOpen = Number.NEGATIVE_INFINITY;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
    private readonly wait: (ms: number) => Promise<void> = sleep,
  ) {
    if (!(intervalMs >= 0)) throw new RangeError(`intervalMs must be ≥ 0, got ${intervalMs}`);
  }

  /** Resolves at the gate's next opening: at once when it last opened an interval ago or more. */
  pass(): Promise<void> {
    this.pending ??= this.wait(Math.max(0, this.lastOpen + this.intervalMs - this.now())).then(() => {
      this.pending = undefined;
      this.lastOpen = this.now();
    });
    return this.pending;
  }
}
