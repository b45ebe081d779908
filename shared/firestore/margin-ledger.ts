import type { Firestore, DocumentReference } from '@google-cloud/firestore';
import { GroupCommitter } from '../concurrency/group-commit.js';
import { AgentProfile } from '../domain/agents.js';
import type { VenueIncome } from '../domain/exchange.js';
import { type MarginLedgerState, applyLedgerEvent } from '../domain/ledger.js';
import { ReservationRecord, decideSignal, releaseReservation } from '../domain/margin.js';
import type { TradeSignal } from '../domain/messages.js';
import { PORTFOLIO_SCOPE } from '../domain/vocabulary.js';
import { COLLECTIONS } from './collections.js';
import { documentId } from './document-id.js';
import { type LedgerJob, LedgerRepository } from './ledger-repository.js';

export interface ReserveOutcome {
  readonly record: ReservationRecord;
  /** True for the one call that made the decision; false when it was already recorded. */
  readonly decidedNow: boolean;
}

export interface MarginLedgerOptions {
  readonly maxSymbolsPerAgent: number;
  /**
   * Coalesce concurrent reservations of one agent into one transaction (the default). Off, every
   * signal runs its own transaction: the naive design, kept for the benchmark's comparison.
   */
  readonly coalesce?: boolean;
  /** Where ledgers are kept; by default the process's shared repository for `db`. */
  readonly ledgers?: LedgerRepository;
  readonly clock?: () => Date;
}

const UNKNOWN_AGENT_COUNTER = 'unknown_agent';
const PUBLISHED_MARKS = 'published';
/** A batched write holds at most 500 writes. */
const MAX_MARKS_PER_BATCH = 400;

/**
 * Reservations: each signal decided once, against the agent's ledger, in the ledger
 * repository's batched transactions (so the margin invariant holds across instances, and one
 * agent's concurrent reservations, fills and releases share transactions instead of fighting).
 */
export class MarginLedger {
  private readonly clock: () => Date;
  readonly ledgers: LedgerRepository;
  /** Outcomes marked published together go out in one batched write, not one write each. */
  private readonly publishedMarks: GroupCommitter<string, string, undefined>;

  constructor(
    private readonly db: Firestore,
    private readonly options: MarginLedgerOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.ledgers = options.ledgers ?? LedgerRepository.for(db);
    this.publishedMarks = new GroupCommitter(
      async (_key, signalIds) => {
        const batch = this.db.batch();
        const publishedAt = this.clock().toISOString();
        for (const signalId of new Set(signalIds)) batch.update(this.reservationRef(signalId), { publishedAt });
        await batch.commit();
        return signalIds.map(() => ({ ok: true, value: undefined }) as const);
      },
      { maxBatch: MAX_MARKS_PER_BATCH },
    );
  }

  /**
   * Reserves margin for a signal or rejects it, exactly once per signalId; a quantity-sized signal
   * is valued at `markMicros` when given (see ReservationContext).
   */
  reserveMargin(signal: TradeSignal, markMicros?: number): Promise<ReserveOutcome> {
    const job = this.reservationJob(signal, markMicros);
    return this.options.coalesce === false ? this.ledgers.runAlone(signal.agentId, job) : this.ledgers.submit(signal.agentId, job);
  }

  /** Returns a reservation's margin to its agent. Idempotent: a second call releases nothing. */
  async releaseReservation(signalId: string, reason: string): Promise<{ released: boolean; record?: ReservationRecord }> {
    const known = await this.reservationOf(signalId);
    if (!known) return { released: false };
    const reservationRef = this.reservationRef(signalId);
    return this.ledgers.submit(known.agentId, {
      reads: [reservationRef],
      run: async (stage, ledger) => {
        const record = ReservationRecord.parse(await stage.get(reservationRef));
        const result = releaseReservation(ledger, record, reason, this.clock());
        if (result.released) stage.set(reservationRef, result.record);
        return { value: result.ledger, result: { released: result.released, record: result.record } };
      },
    });
  }

  /**
   * Books a funding payment of the agent's venue account to its ledger, once per venue
   * transaction (the income record is created in the same transaction as the ledger change).
   */
  applyFunding(agentId: string, accountId: string, income: VenueIncome): Promise<'applied' | 'duplicate'> {
    const incomeRef = this.db.collection(COLLECTIONS.venueIncome).doc(documentId(accountId, income.tranId));
    return this.ledgers.submit(agentId, {
      reads: [incomeRef],
      run: async (stage, ledger) => {
        if (await stage.get(incomeRef)) return { value: ledger, result: 'duplicate' as const };
        await stage.create(incomeRef, { ...income, agentId, accountId, bookedAt: this.clock().toISOString() });
        return { value: applyLedgerEvent(ledger, { kind: 'funding', amountMicros: income.amountMicros }), result: 'applied' as const };
      },
    });
  }

  /** Notes that the outcome's order or risk event went out, so a redelivery does not send it again. */
  markPublished(signalId: string): Promise<undefined> {
    return this.publishedMarks.submit(PUBLISHED_MARKS, signalId);
  }

  ledgerOf(agentId: string): Promise<MarginLedgerState> {
    return this.ledgers.ledgerOf(agentId);
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

  /** Decides one signal against the ledger as the batch has it so far; a signal decided before keeps its record. */
  private reservationJob(signal: TradeSignal, markMicros: number | undefined): LedgerJob<ReserveOutcome> {
    const agentRef = this.db.collection(COLLECTIONS.agents).doc(signal.agentId);
    const stateRefs = [signal.agentId, PORTFOLIO_SCOPE].map((scope) => this.db.collection(COLLECTIONS.tradingStates).doc(scope));
    const reservationRef = this.reservationRef(signal.signalId);
    const counterRef = this.db.collection(COLLECTIONS.riskCounters).doc(UNKNOWN_AGENT_COUNTER);
    return {
      reads: [agentRef, ...stateRefs, reservationRef],
      run: async (stage, ledger) => {
        const prior = await stage.get(reservationRef);
        if (prior) return { value: ledger, result: { record: ReservationRecord.parse(prior), decidedNow: false } };
        const profile = await stage.get(agentRef);
        const agent = profile ? AgentProfile.parse(profile) : undefined;
        const states = await Promise.all(stateRefs.map((ref) => stage.get(ref)));
        const halted = states.some((state) => state?.state === 'halted');
        const reducing = states.find((state) => state?.state === 'reducing')?.reason as string | undefined;
        const decided = decideSignal(ledger, signal, {
          agent,
          halted,
          ...(reducing ? { reducing } : {}),
          maxSymbolsPerAgent: this.options.maxSymbolsPerAgent,
          now: this.clock(),
          ...(markMicros === undefined ? {} : { markMicros }),
        });
        await stage.create(reservationRef, decided.record);
        if (!agent) {
          // No ledger for an agent that does not exist: count the breach where metrics find it.
          const counter = await stage.get(counterRef);
          stage.set(counterRef, { limitType: UNKNOWN_AGENT_COUNTER, count: (typeof counter?.count === 'number' ? counter.count : 0) + 1 });
          return { value: ledger, result: { record: decided.record, decidedNow: true } };
        }
        return { value: decided.ledger, result: { record: decided.record, decidedNow: true } };
      },
    };
  }

  private reservationRef(signalId: string): DocumentReference {
    return this.db.collection(COLLECTIONS.reservations).doc(signalId);
  }
}
