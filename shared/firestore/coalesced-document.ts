import type { DocumentData, DocumentReference, Firestore } from '@google-cloud/firestore';
import { GroupCommitter, type ItemResult } from '../concurrency/group-commit.js';
import { TokenBucket, paceBy } from '../concurrency/token-bucket.js';
import { StagedTransaction } from './staged-transaction.js';
import { type TransactionStats, emptyTransactionStats, runTransaction } from './transactions.js';

/**
 * The contention strategy for a hot document (an agent's ledger, a paper account): every change
 * to it is a job, and the jobs for one document that arrive together run in one transaction
 * (group commit), each in its own layer, so a job that throws fails alone while the rest commit.
 * Optionally, commits per document are paced by a token bucket: under load, jobs wait and share
 * bigger batches instead of writing the document more often. The document's value is threaded
 * through the jobs of a batch and written once, only if it changed.
 */

/** Jobs of one commit: each writes at most ~5 documents, and a commit holds at most 500 writes. */
export const MAX_JOBS_PER_COMMIT = 99;

export interface DocumentJob<S, R> {
  /** Other documents the job will read, fetched with the hot one in one round trip. */
  readonly reads: readonly DocumentReference[];
  /**
   * Applies the job: reads and stages writes through `stage` only, returns the document's new
   * value (the same object when unchanged) and the job's result. Throwing fails this job alone;
   * it may run more than once if the transaction is retried.
   */
  run(stage: StagedTransaction, value: S): Promise<{ readonly value: S; readonly result: R }>;
}

export interface CoalescedDocumentOptions<S> {
  /** The hot document of a key. */
  readonly ref: (key: string) => DocumentReference;
  /** Its value from stored data (undefined: the document does not exist). */
  readonly parse: (data: DocumentData | undefined) => S;
  /** What to store for a new value; `previous` is the stored data, if any. */
  readonly serialize: (key: string, value: S, previous: DocumentData | undefined) => DocumentData;
  /** Most jobs in one transaction (mind Firestore's 500 writes per commit). */
  readonly maxBatch: number;
  /** Commits per key: a burst, then a steady rate; undefined commits as fast as it can. */
  readonly pace?: { readonly burst: number; readonly ratePerSecond: number };
}

export interface WriteRateStats {
  /** Hot documents written (one per committed batch that changed its value). */
  writes: number;
  /** The most writes to one hot document within any 1 s window. */
  maxWritesPerSecond: number;
}

/** A failure of Firestore itself (it carries a gRPC status code): the whole batch retries. */
function isStoreError(error: unknown): boolean {
  return typeof (error as { code?: unknown }).code === 'number';
}

export class CoalescedDocument<S> {
  readonly transactionStats: TransactionStats = emptyTransactionStats();
  readonly writeStats: WriteRateStats = { writes: 0, maxWritesPerSecond: 0 };
  private readonly committer: GroupCommitter<string, DocumentJob<S, unknown>, unknown>;
  private readonly bucket: TokenBucket<string> | undefined;
  /** Recent write times per key, for the 1 s window. */
  private readonly recentWrites = new Map<string, number[]>();

  constructor(
    private readonly db: Firestore,
    private readonly options: CoalescedDocumentOptions<S>,
  ) {
    const bucket = options.pace && new TokenBucket<string>(options.pace.ratePerSecond, options.pace.burst);
    this.bucket = bucket;
    this.committer = new GroupCommitter((key, jobs) => this.commitBatch(key, jobs), {
      maxBatch: options.maxBatch,
      ...(bucket ? { pace: paceBy(bucket) } : {}),
    });
  }

  /** Runs a job on a key's document, batched with the key's other jobs. */
  submit<R>(key: string, job: DocumentJob<S, R>): Promise<R> {
    return this.committer.submit(key, job as DocumentJob<S, unknown>) as Promise<R>;
  }

  /** Runs a job in a transaction of its own: the naive design, kept for the benchmark. */
  async runAlone<R>(key: string, job: DocumentJob<S, R>): Promise<R> {
    const [result] = await this.commitBatch(key, [job as DocumentJob<S, unknown>]);
    if (!result?.ok) throw result?.error;
    return result.value as R;
  }

  /** Forgets the write-rate window (between benchmark scenarios). */
  resetWriteStats(): void {
    this.writeStats.writes = 0;
    this.writeStats.maxWritesPerSecond = 0;
    this.recentWrites.clear();
  }

  private async commitBatch(key: string, jobs: readonly DocumentJob<S, unknown>[]): Promise<ItemResult<unknown>[]> {
    const ref = this.options.ref(key);
    let wrote = false;
    const results = await runTransaction(
      this.db,
      async (tx) => {
        const root = StagedTransaction.over(tx);
        await root.prefetch([ref, ...jobs.flatMap((j) => j.reads)]);
        const stored = await root.get(ref);
        const before = this.options.parse(stored);
        let value = before;
        const outcomes: ItemResult<unknown>[] = [];
        for (const job of jobs) {
          const layer = root.layer();
          try {
            const done = await job.run(layer, value);
            value = done.value;
            layer.keep();
            outcomes.push({ ok: true, value: done.result });
          } catch (error) {
            if (isStoreError(error)) throw error; // contention or an outage: retry the batch
            outcomes.push({ ok: false, error });
          }
        }
        wrote = value !== before;
        if (wrote) root.set(ref, this.options.serialize(key, value, stored));
        root.flush();
        return outcomes;
      },
      { stats: this.transactionStats },
    );
    if (wrote) this.countWrite(key, Date.now());
    else this.bucket?.refund(key); // the pace is for writes of the hot document; this batch made none
    return results;
  }

  private countWrite(key: string, at: number): void {
    const recent = (this.recentWrites.get(key) ?? []).filter((t) => t > at - 1_000);
    recent.push(at);
    this.recentWrites.set(key, recent);
    this.writeStats.writes += 1;
    this.writeStats.maxWritesPerSecond = Math.max(this.writeStats.maxWritesPerSecond, recent.length);
  }
}
