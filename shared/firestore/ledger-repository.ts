import type { DocumentData, Firestore } from '@google-cloud/firestore';
import type { Config } from '../config.js';
import { EMPTY_LEDGER, MarginLedgerState } from '../domain/ledger.js';
import { CoalescedDocument, type CoalescedDocumentOptions, type DocumentJob, MAX_JOBS_PER_COMMIT, type WriteRateStats } from './coalesced-document.js';
import { firestoreFor } from './client.js';
import { COLLECTIONS } from './collections.js';
import type { TransactionStats } from './transactions.js';

/**
 * The only code that reads and writes `marginLedgers` documents. Everything that changes an
 * agent's ledger — reservations, releases, order claims, fills, order ends — is a job submitted
 * here; an agent's jobs that arrive together run in one Firestore transaction, each alone in its
 * layer (see coalesced-document.ts), and commits per agent are paced so a burst writes the
 * ledger document a few times a second with big batches, within what production Firestore
 * sustains for one document, instead of once per event.
 */

/** A job on an agent's ledger: computes the new ledger with applyLedgerEvent. */
export type LedgerJob<R> = DocumentJob<MarginLedgerState, R>;

/** Most jobs per transaction, and commits per agent (a burst, then a rate; none: unpaced). */
export type LedgerRepositoryOptions = Pick<CoalescedDocumentOptions<MarginLedgerState>, 'maxBatch' | 'pace'>;

/** Burst 4 at 6/s: at most 10 writes to one ledger document in any second. */
export const DEFAULT_LEDGER_OPTIONS: LedgerRepositoryOptions = { maxBatch: MAX_JOBS_PER_COMMIT, pace: { burst: 4, ratePerSecond: 6 } };

/** The process's repository, configured: what every function that touches a ledger uses. */
export function ledgersFromConfig(config: Config, db: Firestore = firestoreFor(config.GOOGLE_CLOUD_PROJECT)): LedgerRepository {
  return LedgerRepository.for(db, {
    maxBatch: config.GROUP_COMMIT_MAX_BATCH,
    pace: { burst: config.LEDGER_COMMIT_BURST, ratePerSecond: config.LEDGER_COMMITS_PER_SECOND },
  });
}

function parseLedger(data: DocumentData | undefined): MarginLedgerState {
  return data ? MarginLedgerState.parse(data) : EMPTY_LEDGER;
}

export class LedgerRepository {
  private readonly ledgers: CoalescedDocument<MarginLedgerState>;
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
    this.ledgers = new CoalescedDocument(db, {
      ref: (agentId) => db.collection(COLLECTIONS.marginLedgers).doc(agentId),
      parse: parseLedger,
      // A revision per write: how often the document was written, for anyone measuring it.
      serialize: (agentId, ledger, previous) => ({
        ...ledger,
        agentId,
        revision: typeof previous?.revision === 'number' ? previous.revision + 1 : 1,
        updatedAt: new Date().toISOString(),
      }),
      ...options,
    });
  }

  get transactionStats(): TransactionStats {
    return this.ledgers.transactionStats;
  }

  get writeStats(): WriteRateStats {
    return this.ledgers.writeStats;
  }

  /** Runs a job on an agent's ledger, batched with the agent's other jobs. */
  submit<R>(agentId: string, job: LedgerJob<R>): Promise<R> {
    return this.ledgers.submit(agentId, job);
  }

  /** Runs a job in a transaction of its own: the naive design, kept for the benchmark. */
  runAlone<R>(agentId: string, job: LedgerJob<R>): Promise<R> {
    return this.ledgers.runAlone(agentId, job);
  }

  /** One agent's ledger as last committed; read without a transaction, so it locks nothing. */
  async ledgerOf(agentId: string): Promise<MarginLedgerState> {
    const snap = await this.db.collection(COLLECTIONS.marginLedgers).doc(agentId).get();
    return parseLedger(snap.data());
  }

  /** Every agent's ledger, by agent id; read without a transaction. */
  async allLedgers(): Promise<Map<string, MarginLedgerState>> {
    const snap = await this.db.collection(COLLECTIONS.marginLedgers).get();
    return new Map(snap.docs.map((d) => [d.id, parseLedger(d.data())]));
  }

  /** Calls `listener` with every agent's ledger now and after each change; returns the unsubscribe. */
  watchLedgers(listener: (ledgers: Map<string, MarginLedgerState>) => void): () => void {
    return this.db.collection(COLLECTIONS.marginLedgers).onSnapshot((snap) => {
      listener(new Map(snap.docs.map((d) => [d.id, parseLedger(d.data())])));
    });
  }

  /** Forgets the write-rate window (between benchmark scenarios). */
  resetWriteStats(): void {
    this.ledgers.resetWriteStats();
  }
}
