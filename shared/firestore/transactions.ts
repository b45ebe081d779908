import type { Firestore, Transaction } from '@google-cloud/firestore';
import { retryWithBackoff } from '../concurrency/retry.js';

/**
 * Firestore transactions with a retry loop of our own, so contention is visible: every attempt,
 * abort and lock timeout is counted (the client library's built-in retries hide them).
 */

export interface TransactionStats {
  attempts: number;
  commits: number;
  /** Attempts that ended ABORTED: contention, retried. */
  aborts: number;
  /** Of those, the emulator's (or Firestore's) "Transaction lock timeout". */
  lockTimeouts: number;
  /** Transactions that gave up after their last attempt. */
  failures: number;
}

export function emptyTransactionStats(): TransactionStats {
  return { attempts: 0, commits: 0, aborts: 0, lockTimeouts: 0, failures: 0 };
}

export interface TransactionOptions {
  readonly maxAttempts?: number;
  readonly stats?: TransactionStats;
}

const ABORTED = 10;
const INVALID_ARGUMENT = 3;
const UNAVAILABLE = 14;
const RETRYABLE = new Set([ABORTED, UNAVAILABLE, 4 /* DEADLINE_EXCEEDED */, 8 /* RESOURCE_EXHAUSTED */]);

function errorCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

export function isLockTimeout(error: unknown): boolean {
  return /lock timeout/i.test((error as { message?: string }).message ?? '');
}

/**
 * The emulator answers INVALID_ARGUMENT "Transaction is invalid or closed" to a transaction whose
 * lock wait it gave up on; Firestore itself says ABORTED. Either way: contention, try again.
 */
function isExpiredTransaction(error: unknown, code: number | undefined): boolean {
  return code === INVALID_ARGUMENT && /transaction is invalid or closed/i.test((error as { message?: string }).message ?? '');
}

export async function runTransaction<T>(
  db: Firestore,
  update: (tx: Transaction) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const stats = options.stats;
  const attempt = async (): Promise<T> => {
    if (stats) stats.attempts += 1;
    try {
      const result = await db.runTransaction(update, { maxAttempts: 1 });
      if (stats) stats.commits += 1;
      return result;
    } catch (error) {
      const code = errorCode(error);
      const expired = isExpiredTransaction(error, code);
      if ((code === ABORTED || expired) && stats) {
        stats.aborts += 1;
        if (isLockTimeout(error) || expired) stats.lockTimeouts += 1;
      }
      throw error;
    }
  };
  try {
    // Full jitter spreads writers that collided: 10 ms, 20 ms, … capped at 1 s.
    return await retryWithBackoff(attempt, {
      attempts: options.maxAttempts ?? 8,
      baseDelayMs: 10,
      maxDelayMs: 1_000,
      jitter: 'full',
      retryOn: (error) => {
        const code = errorCode(error);
        return code !== undefined && (RETRYABLE.has(code) || isExpiredTransaction(error, code));
      },
    });
  } catch (error) {
    if (stats) stats.failures += 1;
    throw error;
  }
}
