import type { DocumentReference, Firestore } from '@google-cloud/firestore';
import type { Config } from '../config.js';
import { GroupCommitter, type ItemResult } from '../concurrency/group-commit.js';
import { TokenBucket } from '../concurrency/token-bucket.js';
import { EMPTY_LEDGER, MarginLedgerState } from '../domain/ledger.js';
import { COLLECTIONS } from './collections.js';
import { StagedTransaction } from './staged-transaction.js';
import { type TransactionStats, emptyTransactionStats, runTransaction } from './transactions.js';

/**
 * The only code that reads and writes `marginLedgers` documents. Everything that changes an
 * agent's ledger — reservations, releases, order claims, fills, order ends — is a job submitted
 * here; jobs of one agent that arrive together run in one Firestore transaction (group commit),
 * each in its own layer, so one job that fails fails alone. Commits per agent are paced (a
 * token bucket) so a burst writes the ledger document a few times a second with big batches,
 * within production Firestore's sustained rate for one document, instead of once per event.
 */

export interface LedgerJob<R> {
  /** Documents the job will read, fetched with the ledger in one round trip. */
  readonly reads: readonly DocumentReference[];
  /**
   * Applies the job to the agent's ledger: reads and stages writes through `stage` only, and
   * returns the new ledger (computed with applyLedgerEvent) and its result. Throwing fails this
   * job alone; it may run more than once if the transaction is retried.
   */
  run(stage: StagedTransaction, ledger: MarginLedgerState): Promise<{ readonly ledger: MarginLedgerState; readonly result: R }>;
}

export interface LedgerRepositoryOptions {
  /** Most jobs in one transaction. */
  readonly maxBatch: number;
  /** Commits per agent: a burst, then a steady rate; undefined commits as fast as it can. */
  readonly pace?: { readonly burst: number; readonly ratePerSecond: number };
}

/** Burst 4 at 6/s: at most 10 writes to one ledger document in any second. */
export const DEFAULT_LEDGER_OPTIONS: LedgerRepositoryOptions = { maxBatch: 99, pace: { burst: 4, ratePerSecond: 6 } };

export function ledgerOptionsFromConfig(config: Config): LedgerRepositoryOptions {
  return {
    maxBatch: config.GROUP_COMMIT_MAX_BATCH,
    pace: { burst: config.LEDGER_COMMIT_BURST, ratePerSecond: config.LEDGER_COMMITS_PER_SECOND },
  };
}

export interface LedgerWriteStats {
  /** Ledger documents written (one per committed batch that changed the ledger). */
  writes: number;
  /** The most writes to one agent's ledger document within any 1 s window. */
  maxWritesPerSecond: number;
}

type StoredLedger = MarginLedgerState & { agentId: string; revision: number; updatedAt: string };

/** A failure of Firestore itself (it carries a gRPC status code): the whole batch retries. */
function isStoreError(error: unknown): boolean {
  return typeof (error as { code?: unknown }).code === 'number';
}

export class LedgerRepository {
  readonly transactionStats: TransactionStats = emptyTransactionStats();
  readonly writeStats: LedgerWriteStats = { writes: 0, maxWritesPerSecond: 0 };
  private readonly committer: GroupCommitter<string, LedgerJob<unknown>, unknown>;
  private readonly bucket: TokenBucket<string> | undefined;
  /** Recent write times per agent, for the 1 s window. */
  private readonly recentWrites = new Map<string, number[]>();

  private static readonly shared = new WeakMap<Firestore, LedgerRepository>();

  /**
   * The process's repository for a database: every function in one process shares its batches.
   * The first call's options hold for the process (all its functions read one configuration).
   */
  static for(db: Firestore, options: LedgerRepositoryOptions = DEFAULT_LEDGER_OPTIONS): LedgerRepository {
    let repository = LedgerRepository.shared.get(db);
    if (!repository) {
      repository = new LedgerRepository(db, options);
      LedgerRepository.shared.set(db, repository);
    }
    return repository;
  }

  constructor(
    private readonly db: Firestore,
    options: LedgerRepositoryOptions,
  ) {
    const bucket = options.pace && new TokenBucket<string>(options.pace.ratePerSecond, options.pace.burst);
    this.bucket = bucket;
    this.committer = new GroupCommitter((agentId, jobs) => this.commitBatch(agentId, jobs), {
      maxBatch: options.maxBatch,
      ...(bucket
        ? {
            pace: async (agentId: string) => {
              const waitMs = bucket.reserve(agentId, Date.now());
              if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
            },
          }
        : {}),
    });
  }

  /** Runs a job on an agent's ledger, batched with the agent's other jobs. */
  submit<R>(agentId: string, job: LedgerJob<R>): Promise<R> {
    return this.committer.submit(agentId, job as LedgerJob<unknown>) as Promise<R>;
  }

  /** Runs a job in a transaction of its own: the naive design, kept for the benchmark. */
  async runAlone<R>(agentId: string, job: LedgerJob<R>): Promise<R> {
    const [result] = await this.commitBatch(agentId, [job as LedgerJob<unknown>]);
    if (!result?.ok) throw result?.error;
    return result.value as R;
  }

  /** One agent's ledger as last committed; read without a transaction, so it locks nothing. */
  async ledgerOf(agentId: string): Promise<MarginLedgerState> {
    const snap = await this.ref(agentId).get();
    return snap.exists ? MarginLedgerState.parse(snap.data()) : EMPTY_LEDGER;
  }

  /** Every agent's ledger, by agent id; read without a transaction. */
  async allLedgers(): Promise<Map<string, MarginLedgerState>> {
    const snap = await this.db.collection(COLLECTIONS.marginLedgers).get();
    return new Map(snap.docs.map((d) => [d.id, MarginLedgerState.parse(d.data())]));
  }

  /** Calls `listener` with every agent's ledger now and after each change; returns the unsubscribe. */
  watchLedgers(listener: (ledgers: Map<string, MarginLedgerState>) => void): () => void {
    return this.db.collection(COLLECTIONS.marginLedgers).onSnapshot((snap) => {
      listener(new Map(snap.docs.map((d) => [d.id, MarginLedgerState.parse(d.data())])));
    });
  }

  /** Forgets the write-rate window (between benchmark scenarios). */
  resetWriteStats(): void {
    this.writeStats.writes = 0;
    this.writeStats.maxWritesPerSecond = 0;
    this.recentWrites.clear();
  }

  private ref(agentId: string): DocumentReference {
    return this.db.collection(COLLECTIONS.marginLedgers).doc(agentId);
  }

  private async commitBatch(agentId: string, jobs: readonly LedgerJob<unknown>[]): Promise<ItemResult<unknown>[]> {
    const ledgerRef = this.ref(agentId);
    let wroteLedger = false;
    const results = await runTransaction(
      this.db,
      async (tx) => {
        const root = StagedTransaction.over(tx);
        await root.prefetch([ledgerRef, ...jobs.flatMap((j) => j.reads)]);
        const stored = await root.get(ledgerRef);
        const before = stored ? MarginLedgerState.parse(stored) : EMPTY_LEDGER;
        let ledger = before;
        const outcomes: ItemResult<unknown>[] = [];
        for (const job of jobs) {
          const layer = root.layer();
          try {
            const done = await job.run(layer, ledger);
            ledger = done.ledger;
            layer.keep();
            outcomes.push({ ok: true, value: done.result });
          } catch (error) {
            if (isStoreError(error)) throw error; // contention or an outage: retry the batch
            outcomes.push({ ok: false, error });
          }
        }
        wroteLedger = ledger !== before;
        if (wroteLedger) {
          const revision = typeof stored?.revision === 'number' ? stored.revision + 1 : 1;
          const next: StoredLedger = { ...ledger, agentId, revision, updatedAt: new Date().toISOString() };
          root.set(ledgerRef, next);
        }
        root.flush();
        return outcomes;
      },
      { stats: this.transactionStats },
    );
    if (wroteLedger) this.countWrite(agentId, Date.now());
    else this.bucket?.refund(agentId); // the pace is for ledger writes; this batch made none
    return results;
  }

  private countWrite(agentId: string, at: number): void {
    const recent = (this.recentWrites.get(agentId) ?? []).filter((t) => t > at - 1_000);
    recent.push(at);
    this.recentWrites.set(agentId, recent);
    this.writeStats.writes += 1;
    this.writeStats.maxWritesPerSecond = Math.max(this.writeStats.maxWritesPerSecond, recent.length);
  }
}
