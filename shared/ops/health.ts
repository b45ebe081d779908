import type { Firestore } from '@google-cloud/firestore';
import type { MarkBook } from '../domain/mark-prices.js';
import { COLLECTIONS } from '../firestore/collections.js';
import { HEARTBEAT_DOC, MARKS_DOC } from '../risk/evaluate.js';

/**
 * Readiness as an operator (or an uptime check) needs it: Firestore answers, the drawdown
 * evaluator — the guardrail — has run lately, prices are fresh, and how many messages sit as dead
 * letters. Degraded (HTTP 503) when Firestore fails or the evaluator has been silent too long.
 */

export interface HealthLimits {
  /** The evaluator runs every minute: silent longer than this, the guardrails are down. */
  readonly evaluatorMaxAgeMs: number;
  /** Prices older than this are reported stale (the evaluator's own staleness limit). */
  readonly priceMaxAgeMs: number;
}

export interface Health {
  readonly status: 'ok' | 'degraded';
  readonly checks: {
    readonly firestore: { readonly ok: boolean; readonly error?: string };
    readonly evaluator: { readonly ok: boolean; readonly lastRunAt?: string; readonly ageSeconds?: number };
    readonly prices: { readonly fresh: boolean; readonly newestAgeSeconds?: number };
    readonly deadLetters: { readonly count?: number };
  };
}

export async function readHealth(db: Firestore, now: Date, limits: HealthLimits): Promise<Health> {
  try {
    const state = db.collection(COLLECTIONS.riskState);
    const [heartbeat, marks, deadLetters] = await Promise.all([
      state.doc(HEARTBEAT_DOC).get(),
      state.doc(MARKS_DOC).get(),
      db.collection(COLLECTIONS.deadLetters).count().get(),
    ]);
    const lastRunAt = heartbeat.get('lastRunAt') as string | undefined;
    const age = lastRunAt ? now.getTime() - Date.parse(lastRunAt) : undefined;
    const evaluatorOk = age !== undefined && age <= limits.evaluatorMaxAgeMs;
    const seen = Object.values((marks.get('book') as MarkBook | undefined) ?? {}).map((m) => m.seenAt);
    const newest = seen.length > 0 ? now.getTime() - Math.max(...seen) : undefined;
    return {
      status: evaluatorOk ? 'ok' : 'degraded',
      checks: {
        firestore: { ok: true },
        evaluator: { ok: evaluatorOk, ...(lastRunAt ? { lastRunAt, ageSeconds: Math.round((age as number) / 1000) } : {}) },
        prices: { fresh: newest !== undefined && newest <= limits.priceMaxAgeMs, ...(newest !== undefined ? { newestAgeSeconds: Math.round(newest / 1000) } : {}) },
        deadLetters: { count: deadLetters.data().count },
      },
    };
  } catch (error) {
    return {
      status: 'degraded',
      checks: { firestore: { ok: false, error: (error as Error).message.slice(0, 200) }, evaluator: { ok: false }, prices: { fresh: false }, deadLetters: {} },
    };
  }
}
