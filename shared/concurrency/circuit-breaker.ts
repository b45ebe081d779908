/**
 * A circuit breaker per dependency: after `threshold` consecutive failures calls stop for
 * `cooldownMs`; then one trial call is let through, and its outcome closes or reopens it.
 */
export type CircuitState = 'closed' | 'open' | 'half_open';

export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | undefined;
  /** When the current half-open trial went out; later callers wait for its outcome. */
  private trialAt: number | undefined;

  constructor(
    private readonly threshold: number,
    private readonly cooldownMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): CircuitState {
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt >= this.cooldownMs ? 'half_open' : 'open';
  }

  /** Whether a call may go out now: always when closed; once when half open, until its outcome (or another cooldown) is known. */
  allows(): boolean {
    const state = this.state;
    if (state !== 'half_open') return state === 'closed';
    const now = this.now();
    if (this.trialAt !== undefined && now - this.trialAt < this.cooldownMs) return false;
    this.trialAt = now;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.openedAt = undefined;
    this.trialAt = undefined;
  }

  failure(): void {
    this.failures += 1;
    // A failed trial call reopens at once; otherwise open once the threshold is reached.
    if (this.state === 'half_open' || this.failures >= this.threshold) {
      this.openedAt = this.now();
      this.trialAt = undefined;
    }
  }
}
