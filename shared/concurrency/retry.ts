/**
 * Retry with exponential backoff and jitter, the one loop every client uses (venue REST, alert
 * webhooks, model endpoints, Firestore transactions). Written here rather than taken from
 * p-retry because callers need two things it does not give: a wait the failure itself names
 * (a venue's Retry-After) and an injected sleep, so tests run the real loop without waiting.
 */

export interface BackoffPolicy {
  /** Tries in all, the first one included. */
  readonly attempts: number;
  /** The ceiling of the first wait; it doubles after every failure. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /**
   * `full`: anywhere from 0 to the ceiling (spreads contending writers best); `equal`: from half
   * the ceiling to the ceiling (never retries at once).
   */
  readonly jitter: 'full' | 'equal';
}

/** Whether a failure is worth another try; `{ delayMs }` when the failure says how long to wait. */
export type RetryVerdict = boolean | { readonly delayMs: number };

export interface RetryOptions extends BackoffPolicy {
  readonly retryOn: (error: unknown, attempt: number) => RetryVerdict;
  readonly sleep?: (ms: number) => Promise<void>;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The wait after the `attempt`-th failure (1-based). */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return policy.jitter === 'full' ? random() * ceiling : ceiling * (0.5 + random() / 2);
}

/**
 * Runs `operation` until it succeeds, `retryOn` refuses its error, or the attempts are spent;
 * then the last error is thrown as it was, so callers keep their typed errors.
 */
export async function retryWithBackoff<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const wait = options.sleep ?? sleep;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation(attempt);
    } catch (error) {
      const verdict = attempt < options.attempts ? options.retryOn(error, attempt) : false;
      if (verdict === false) throw error;
      await wait(verdict === true ? backoffDelayMs(options, attempt) : Math.min(verdict.delayMs, options.maxDelayMs));
    }
  }
}
