import type { Firestore } from '@google-cloud/firestore';
import { aggregateFields } from './client.js';
import { COLLECTIONS } from './collections.js';

/**
 * The signal path's latencies and failures, counted by Firestore from the records the path
 * writes anyway (a decision's latency on its reservation, a placement's on its order, a fill's on
 * its fill): no extra write on the hot path, the same answer from every instance, and counts
 * that only grow, as Prometheus counters must. Each figure is one aggregation query, so a scrape
 * costs a read per thousand records counted, not a read per record.
 */

/** Upper bounds of the latency buckets, in milliseconds (Prometheus's `le`, in seconds, × 1000). */
export const LATENCY_BUCKET_BOUNDS_MS = [10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000] as const;

export interface LatencyDistribution {
  /** Records at or under each bound of LATENCY_BUCKET_BOUNDS_MS (cumulative, as `le` buckets are). */
  readonly atOrUnder: readonly number[];
  readonly count: number;
  readonly sumMs: number;
}

/** Where each latency is recorded: collection and numeric field (milliseconds). */
export const RECORDED_LATENCIES = {
  decision: { collection: COLLECTIONS.reservations, field: 'decisionLatencyMs' },
  placement: { collection: COLLECTIONS.orders, field: 'placementLatencyMs' },
  venueRequest: { collection: COLLECTIONS.orders, field: 'venueLatencyMs' },
  fill: { collection: COLLECTIONS.fills, field: 'fillLatencyMs' },
} as const;

export type RecordedLatency = keyof typeof RECORDED_LATENCIES;

export async function latencyDistribution(db: Firestore, latency: RecordedLatency): Promise<LatencyDistribution> {
  const { collection, field } = RECORDED_LATENCIES[latency];
  const records = db.collection(collection);
  const { count, sum } = aggregateFields();
  const [atOrUnder, total] = await Promise.all([
    Promise.all(LATENCY_BUCKET_BOUNDS_MS.map(async (bound) => (await records.where(field, '<=', bound).count().get()).data().count)),
    records.where(field, '>=', 0).aggregate({ count: count(), sum: sum(field) }).get(),
  ]);
  return { atOrUnder, count: total.data().count, sumMs: total.data().sum ?? 0 };
}

/** Orders the venue refused (their terminal status is `rejected`). */
export async function venueRefusals(db: Firestore): Promise<number> {
  return (await db.collection(COLLECTIONS.orders).where('terminalStatus', '==', 'rejected').count().get()).data().count;
}

/** Dead letters kept, per source subscription. */
export async function deadLettersBySource(db: Firestore, sources: readonly string[]): Promise<Map<string, number>> {
  const counts = await Promise.all(sources.map(async (source) => (await db.collection(COLLECTIONS.deadLetters).where('source', '==', source).count().get()).data().count));
  return new Map(sources.map((source, i) => [source, counts[i] as number]));
}
