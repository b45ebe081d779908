import { FieldValue, type Firestore, type DocumentReference, type Transaction } from '@google-cloud/firestore';
import { GroupCommitter } from '../concurrency/group-commit.js';
import { AgentProfile } from '../domain/agents.js';
import {
  EMPTY_LEDGER,
  MarginLedgerState,
  ReservationRecord,
  decideBatch,
  releaseReservation,
} from '../domain/margin.js';
import type { TradeSignal } from '../domain/messages.js';
import { COLLECTIONS, PORTFOLIO_SCOPE } from './collections.js';
import { type TransactionStats, emptyTransactionStats, runTransaction } from './transactions.js';

export interface ReserveOutcome {
  readonly record: ReservationRecord;
  /** True for the one call that made the decision; false when it was already recorded. */
  readonly decidedNow: boolean;
}

export interface MarginLedgerOptions {
  readonly maxSymbolsPerAgent: number;
  /** Most signals decided in one transaction. */
  readonly maxBatch: number;
  /**
   * Coalesce concurrent reservations of one agent into one transaction (the default). Off, every
   * signal runs its own transaction: the naive design, kept for the benchmark's comparison.
   */
  readonly coalesce?: boolean;
  readonly clock?: () => Date;
}

type StoredLedger = MarginLedgerState & { agentId: string; updatedAt: string };

/**
 * Every agent's margin, kept in Firestore. All changes go through transactions that read the
 * agent's ledger document, so the margin invariant holds across instances; within an instance
 * concurrent reservations of one agent share a transaction (group commit).
 */
export class MarginLedger {
  private readonly committer: GroupCommitter<string, TradeSignal, ReserveOutcome>;
  private readonly clock: () => Date;
  /** Attempts, commits, aborts and lock timeouts of this ledger's transactions. */
  readonly transactionStats: TransactionStats = emptyTransactionStats();

  constructor(
    private readonly db: Firestore,
    private readonly options: MarginLedgerOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.committer = new GroupCommitter((agentId, signals) => this.decideInTransaction(agentId, signals), options.maxBatch);
  }

  /** Reserves margin for a signal or rejects it, exactly once per signalId. */
  reserveMargin(signal: TradeSignal): Promise<ReserveOutcome> {
    if (this.options.coalesce === false) {
      return this.decideInTransaction(signal.agentId, [signal]).then(([outcome]) => outcome as ReserveOutcome);
    }
    return this.committer.submit(signal.agentId, signal);
  }

  /** Returns a reservation's margin to its agent. Idempotent: a second call releases nothing. */
  async releaseReservation(signalId: string, reason: string): Promise<{ released: boolean; record?: ReservationRecord }> {
    const reservationRef = this.reservationRef(signalId);
    return this.transaction(async (tx) => {
      const reservationSnap = await tx.get(reservationRef);
      if (!reservationSnap.exists) return { released: false };
      const record = ReservationRecord.parse(reservationSnap.data());
      const ledgerRef = this.ledgerRef(record.agentId);
      const ledger = await this.readLedger(tx, ledgerRef);
      const result = releaseReservation(ledger, record, reason, this.clock());
      if (result.released) {
        tx.set(reservationRef, result.record);
        tx.set(ledgerRef, this.stored(record.agentId, result.ledger));
      }
      return { released: result.released, record: result.record };
    });
  }

  /** Notes that the outcome's order or risk event went out, so a redelivery does not send it again. */
  async markPublished(signalId: string): Promise<void> {
    await this.reservationRef(signalId).update({ publishedAt: this.clock().toISOString() });
  }

  async ledgerOf(agentId: string): Promise<MarginLedgerState> {
    const snap = await this.ledgerRef(agentId).get();
    return snap.exists ? MarginLedgerState.parse(snap.data()) : EMPTY_LEDGER;
  }

  async reservationOf(signalId: string): Promise<ReservationRecord | undefined> {
    const snap = await this.reservationRef(signalId).get();
    return snap.exists ? ReservationRecord.parse(snap.data()) : undefined;
  }

  /** Reservations still `reserved` (never claimed by an order) decided before `cutoff`. */
  async staleReservations(cutoff: Date): Promise<ReservationRecord[]> {
    const snap = await this.db
      .collection(COLLECTIONS.reservations)
      .where('status', '==', 'reserved')
      .where('decidedAt', '<', cutoff.toISOString())
      .get();
    return snap.docs.map((d) => ReservationRecord.parse(d.data()));
  }

  private async decideInTransaction(agentId: string, signals: readonly TradeSignal[]): Promise<ReserveOutcome[]> {
    const signalIds = [...new Set(signals.map((s) => s.signalId))];
    const agentRef = this.db.collection(COLLECTIONS.agents).doc(agentId);
    const ledgerRef = this.ledgerRef(agentId);
    const stateRefs = [agentId, PORTFOLIO_SCOPE].map((scope) => this.db.collection(COLLECTIONS.tradingStates).doc(scope));
    const reservationRefs = signalIds.map((id) => this.reservationRef(id));

    return this.transaction(async (tx) => {
      const [agentSnap, ledgerSnap, agentStateSnap, portfolioStateSnap, ...reservationSnaps] = await tx.getAll(
        agentRef,
        ledgerRef,
        ...stateRefs,
        ...reservationRefs,
      );
      const existing = new Map<string, ReservationRecord>();
      reservationSnaps.forEach((snap, i) => {
        if (snap?.exists) existing.set(signalIds[i] as string, ReservationRecord.parse(snap.data()));
      });
      const fresh = signals.filter((s) => !existing.has(s.signalId));
      const now = this.clock();
      const agent = agentSnap?.exists ? AgentProfile.parse(agentSnap.data()) : undefined;
      const ledger = ledgerSnap?.exists ? MarginLedgerState.parse(ledgerSnap.data()) : EMPTY_LEDGER;
      const halted = [agentStateSnap, portfolioStateSnap].some((snap) => snap?.get('state') === 'halted');

      const decided = decideBatch(ledger, fresh, {
        agent,
        halted,
        maxSymbolsPerAgent: this.options.maxSymbolsPerAgent,
        now,
      });
      for (const record of decided.records.values()) tx.create(this.reservationRef(record.signalId), record);
      if (decided.records.size > 0) this.writeLedger(tx, agentId, agent, decided.ledger, decided.records.size);

      const claimed = new Set<string>();
      return signals.map((signal) => {
        const prior = existing.get(signal.signalId);
        if (prior) return { record: prior, decidedNow: false };
        const record = decided.records.get(signal.signalId) as ReservationRecord;
        const decidedNow = !claimed.has(signal.signalId);
        claimed.add(signal.signalId);
        return { record, decidedNow };
      });
    });
  }

  private transaction<T>(update: (tx: Transaction) => Promise<T>): Promise<T> {
    return runTransaction(this.db, update, { stats: this.transactionStats });
  }

  private writeLedger(
    tx: Transaction,
    agentId: string,
    agent: AgentProfile | undefined,
    ledger: MarginLedgerState,
    decisions: number,
  ): void {
    if (agent) {
      tx.set(this.ledgerRef(agentId), this.stored(agentId, ledger));
      return;
    }
    // No ledger for an agent that does not exist: count the breach where metrics find it.
    tx.set(
      this.db.collection(COLLECTIONS.riskCounters).doc('unknown_agent'),
      { limitType: 'unknown_agent', count: FieldValue.increment(decisions) },
      { merge: true },
    );
  }

  private async readLedger(tx: Transaction, ref: DocumentReference): Promise<MarginLedgerState> {
    const snap = await tx.get(ref);
    return snap.exists ? MarginLedgerState.parse(snap.data()) : EMPTY_LEDGER;
  }

  private stored(agentId: string, ledger: MarginLedgerState): StoredLedger {
    return { ...ledger, agentId, updatedAt: this.clock().toISOString() };
  }

  private ledgerRef(agentId: string): DocumentReference {
    return this.db.collection(COLLECTIONS.marginLedgers).doc(agentId);
  }

  private reservationRef(signalId: string): DocumentReference {
    return this.db.collection(COLLECTIONS.reservations).doc(signalId);
  }
}
