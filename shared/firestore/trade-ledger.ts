import { createHash } from 'node:crypto';
import type { DocumentReference, Firestore } from '@google-cloud/firestore';
import { z } from 'zod';
import { type LedgerEffect, type MarginLedgerState, applyLedgerEvent } from '../domain/ledger.js';
import { ReservationRecord } from '../domain/margin.js';
import type { OrderRequest } from '../domain/messages.js';
import { OrderRecord, type StoredLease, type VenueFacts, applyTerminal, deriveStatus, describedOrderMismatch, fillLatencyMs, leaseHeldByOther } from '../domain/orders.js';
import type { HeldPosition } from '../domain/flatten.js';
import type { Side } from '../domain/vocabulary.js';
import { FLAT_POSITION, FillFacts, type FoldStep, PositionState, applyFill, averageEntryMicros, fillSortKey, foldFills } from '../domain/positions.js';
import { COLLECTIONS } from './collections.js';
import { documentId } from './document-id.js';
import { type LedgerJob, LedgerRepository } from './ledger-repository.js';
import { StaleRead, type StagedTransaction } from './staged-transaction.js';
import { runTransaction } from './transactions.js';

/**
 * Orders, fills and positions in Firestore. Each venue fact is a job on the agent's ledger in
 * the ledger repository (batched with the agent's other events), idempotent by
 * (orderId, tradeId) for fills and by order for its terminal event.
 */

/** How an order goes to its venue: a market order of this many atoms, placed by `lease.holder`. */
export interface OrderPlan {
  readonly venue: string;
  readonly quantityAtoms: number;
  /** The leverage it goes out at: the request's, or the venue's for the symbol (fitToVenueLeverage); default the request's. */
  readonly leverage?: number;
  readonly lease: PlacementLease;
}

/** The right to place one order, held by one delivery until `until`. */
export interface PlacementLease {
  readonly holder: string;
  readonly until: Date;
}

export type LeaseResult =
  /** `askFirst`: an earlier placement may have reached the venue. */
  | { readonly kind: 'leased'; readonly order: OrderRecord; readonly askFirst: boolean }
  /** Another delivery is placing it now. */
  | { readonly kind: 'busy'; readonly until: string }
  /** The venue has acknowledged it, or it has ended: nothing to place. */
  | { readonly kind: 'settled'; readonly order: OrderRecord }
  | { readonly kind: 'missing' };

export type ClaimResult =
  | { readonly claimed: true; readonly order: OrderRecord }
  | { readonly claimed: false; readonly reason: string };

/** `refused`: a fill beyond its order's quantity, never booked. */
export type ApplyOutcome = 'applied' | 'duplicate' | 'replayed' | 'unknown_order' | 'refused';

export interface ApplyResult {
  readonly outcome: ApplyOutcome;
  readonly order?: OrderRecord;
  readonly position?: PositionState;
  /** The fill's latency as recorded with it, when this application booked a fill. */
  readonly fillLatencyMs?: number;
  /** A fill the venue made after Sapphire had ended its order, booked with its margin held again. */
  readonly lateExecution?: true;
  readonly refusal?: string;
}

/** A stored fill: the facts, and where they belong. */
const FillRecord = FillFacts.extend({ agentId: z.string(), symbol: z.string(), sortKey: z.string() });

function subtractEffects(a: LedgerEffect, b: LedgerEffect): LedgerEffect {
  return {
    reservedDeltaMicros: a.reservedDeltaMicros - b.reservedDeltaMicros,
    inUseDeltaMicros: a.inUseDeltaMicros - b.inUseDeltaMicros,
    realizedPnlDeltaMicros: a.realizedPnlDeltaMicros - b.realizedPnlDeltaMicros,
    feesDeltaMicros: a.feesDeltaMicros - b.feesDeltaMicros,
  };
}

export class TradeLedger {
  private readonly clock: () => Date;
  readonly ledgers: LedgerRepository;

  constructor(
    readonly db: Firestore,
    clock?: () => Date,
    ledgers?: LedgerRepository,
  ) {
    this.clock = clock ?? (() => new Date());
    this.ledgers = ledgers ?? LedgerRepository.for(db);
  }

  /**
   * Hands a reservation to its order: the reservation becomes `ordered` and the order record is
   * created, in one transaction. Only a `reserved` reservation can be claimed, so a reservation
   * the reconciler released is never placed. Claiming twice returns the same order.
   */
  /**
   * An order the venue made on the agent's account by itself (a liquidation, an auto-deleverage),
   * recorded so its fills reach the position and the ledger like any other: no reservation
   * stands behind it. Made once per order id; `adopted` says whether this call made it.
   */
  async adoptVenueOrder(order: {
    readonly orderId: string;
    readonly agentId: string;
    readonly symbol: string;
    readonly side: Side;
    readonly quantityAtoms: number;
    readonly venue: string;
  }): Promise<{ readonly order: OrderRecord; readonly adopted: boolean }> {
    const ref = this.orderRef(order.orderId);
    return runTransaction(this.db, async (tx) => {
      const snap = await tx.get(ref);
      if (snap.exists) return { order: OrderRecord.parse(snap.data()), adopted: false };
      const now = this.clock().toISOString();
      const record: OrderRecord = {
        ...order,
        signalId: order.orderId,
        type: 'MARKET',
        reduceOnly: true,
        leverage: 1,
        reservedMicros: 0,
        status: 'open',
        filledAtoms: 0,
        feesMicros: 0,
        releasedMicros: 0,
        placementAttempts: 0,
        reason: 'made by the venue',
        createdAt: now,
        updatedAt: now,
      };
      tx.create(ref, record);
      return { order: record, adopted: true };
    });
  }

  claimForOrder(request: OrderRequest, plan: OrderPlan): Promise<ClaimResult> {
    const reservationRef = this.db.collection(COLLECTIONS.reservations).doc(request.signalId);
    const orderRef = this.orderRef(request.orderId);
    return this.ledgers.submit<ClaimResult>(request.agentId, {
      reads: [reservationRef, orderRef],
      run: async (stage, ledger) => {
        const existing = await stage.get(orderRef);
        if (existing) return { value: ledger, result: { claimed: true, order: OrderRecord.parse(existing) } };
        const stored = await stage.get(reservationRef);
        if (!stored) return { value: ledger, result: { claimed: false, reason: 'no reservation for this signal' } };
        const reservation = ReservationRecord.parse(stored);
        if (reservation.status !== 'reserved') return { value: ledger, result: { claimed: false, reason: `reservation is ${reservation.status}` } };
        const now = this.clock().toISOString();
        const order: OrderRecord = {
          orderId: request.orderId,
          signalId: request.signalId,
          agentId: request.agentId,
          symbol: request.symbol,
          side: request.side,
          type: 'MARKET',
          reduceOnly: request.reduceOnly,
          leverage: plan.leverage ?? request.leverage,
          venue: plan.venue,
          quantityAtoms: plan.quantityAtoms,
          reservedMicros: reservation.marginMicros,
          status: 'placing',
          filledAtoms: 0,
          feesMicros: 0,
          releasedMicros: 0,
          createdAt: now,
          updatedAt: now,
          expiresAt: request.expiresAt,
          // The claiming delivery places it next: that placement counts from here.
          placementAttempts: 1,
          placementLease: { holder: plan.lease.holder, until: plan.lease.until.toISOString() },
        };
        const next = applyLedgerEvent(ledger, { kind: 'claim', marginMicros: reservation.marginMicros });
        stage.set(reservationRef, { ...reservation, status: 'ordered' });
        await stage.create(orderRef, order);
        return { value: next, result: { claimed: true, order } };
      },
    });
  }

  /**
   * Takes the placement of an order still `placing` for `lease.holder`, unless another delivery
   * holds it: one placement in flight per order, across instances and redeliveries. Counts the
   * placement begun, so a later one asks the venue first.
   */
  leasePlacement(orderId: string, lease: PlacementLease): Promise<LeaseResult> {
    const ref = this.orderRef(orderId);
    return runTransaction(this.db, async (tx): Promise<LeaseResult> => {
      const snap = await tx.get(ref);
      if (!snap.exists) return { kind: 'missing' };
      const order = OrderRecord.parse(snap.data());
      if (order.status !== 'placing') return { kind: 'settled', order };
      const now = this.clock();
      if (order.placementLease && leaseHeldByOther(order.placementLease, lease.holder, now)) return { kind: 'busy', until: order.placementLease.until };
      const leased: OrderRecord = {
        ...order,
        placementAttempts: order.placementAttempts + 1,
        placementLease: { holder: lease.holder, until: lease.until.toISOString() },
        updatedAt: now.toISOString(),
      };
      tx.set(ref, leased);
      return { kind: 'leased', order: leased, askFirst: order.placementAttempts > 0 };
    });
  }

  /**
   * Applies what a venue says about an order. `eventKey`, when given, is recorded in the same
   * transaction with a digest of the facts: a second delivery of the same facts is a duplicate
   * (a sender's retry), one with other facts under the same key is refused as a replay. `known`, the caller's copy
   * of the order, saves reading it first; the job reads the current one in its transaction.
   */
  async applyVenueFacts(facts: VenueFacts, eventKey?: string, known?: OrderRecord): Promise<ApplyResult> {
    // Which agent's ledger: an order's agent and symbol never change, so any copy of the order
    // (the caller's, or a plain read) tells.
    const order = known ?? (await this.order(facts.orderId));
    if (!order) return { outcome: 'unknown_order' };
    return this.ledgers.submit(order.agentId, this.factsJob(order, facts, eventKey));
  }

  async order(orderId: string): Promise<OrderRecord | undefined> {
    const snap = await this.orderRef(orderId).get();
    return snap.exists ? OrderRecord.parse(snap.data()) : undefined;
  }

  /** The open positions of these agents, with their average entry. */
  async openPositionsOf(agentIds: readonly string[]): Promise<HeldPosition[]> {
    const held: HeldPosition[] = [];
    for (let i = 0; i < agentIds.length; i += 30) {
      const snap = await this.db.collection(COLLECTIONS.positions).where('agentId', 'in', agentIds.slice(i, i + 30)).get();
      for (const doc of snap.docs) {
        const position = PositionState.parse(doc.data());
        if (position.quantityAtoms === 0) continue;
        held.push({ agentId: String(doc.get('agentId')), symbol: String(doc.get('symbol')), quantityAtoms: position.quantityAtoms, averageEntryMicros: averageEntryMicros(position) });
      }
    }
    return held.sort((a, b) => `${a.agentId}|${a.symbol}`.localeCompare(`${b.agentId}|${b.symbol}`));
  }

  /** Every agent's signed position in `symbol`, where it is not flat. */
  async positionsIn(symbol: string): Promise<{ readonly agentId: string; readonly quantityAtoms: number }[]> {
    const snap = await this.db.collection(COLLECTIONS.positions).where('symbol', '==', symbol).get();
    return snap.docs.map((d) => ({ agentId: String(d.get('agentId')), quantityAtoms: Number(d.get('quantityAtoms') ?? 0) })).filter((p) => p.quantityAtoms !== 0);
  }

  async position(agentId: string, symbol: string): Promise<PositionState> {
    const snap = await this.positionRef(agentId, symbol).get();
    return snap.exists ? PositionState.parse(snap.data()) : FLAT_POSITION;
  }

  /**
   * The right to decide and place an order on venue account `accountId` in `symbol`, for one
   * delivery until `lease.until`: the symbol's leverage is read and set by one delivery at a time,
   * and agents sharing an account see each other's orders in flight. False while another holds it.
   */
  lockAccountSymbol(accountId: string, symbol: string, lease: PlacementLease): Promise<boolean> {
    const ref = this.db.collection(COLLECTIONS.accountSymbolLocks).doc(documentId(accountId, symbol));
    return runTransaction(this.db, async (tx) => {
      if (leaseHeldByOther((await tx.get(ref)).data() as StoredLease | undefined, lease.holder, this.clock())) return false;
      tx.set(ref, { holder: lease.holder, until: lease.until.toISOString() });
      return true;
    });
  }

  /** Gives the lock back, if `holder` still has it. */
  unlockAccountSymbol(accountId: string, symbol: string, holder: string): Promise<void> {
    const ref = this.db.collection(COLLECTIONS.accountSymbolLocks).doc(documentId(accountId, symbol));
    return runTransaction(this.db, async (tx) => {
      if ((await tx.get(ref)).get('holder') === holder) tx.delete(ref);
    });
  }

  /** Orders without a terminal event yet: what the reconciler checks against the venue. */
  async openOrders(): Promise<OrderRecord[]> {
    const snap = await this.db.collection(COLLECTIONS.orders).where('status', 'in', ['placing', 'open', 'partially_filled']).get();
    return snap.docs.map((d) => OrderRecord.parse(d.data())).filter((o) => o.terminalStatus === undefined);
  }

  private factsJob(known: OrderRecord, facts: VenueFacts, eventKey: string | undefined): LedgerJob<ApplyResult> {
    const orderRef = this.orderRef(facts.orderId);
    const eventRef = eventKey ? this.db.collection(COLLECTIONS.brokerEvents).doc(documentId(eventKey)) : undefined;
    const factsDigest = createHash('sha256').update(JSON.stringify(facts)).digest('hex');
    const positionRef = this.positionRef(known.agentId, known.symbol);
    const fillRef = facts.fill ? this.db.collection(COLLECTIONS.fills).doc(documentId(facts.orderId, facts.fill.tradeId)) : undefined;
    return {
      reads: [orderRef, positionRef, ...(eventRef ? [eventRef] : []), ...(fillRef ? [fillRef] : [])],
      run: async (stage, ledgerBefore) => {
        let ledger: MarginLedgerState = ledgerBefore;
        const seen = eventRef ? await stage.get(eventRef) : undefined;
        // The same event with the same facts is a sender's retry; the same id with other facts is a replay.
        if (seen) return { value: ledger, result: { outcome: seen.factsDigest === factsDigest ? 'duplicate' : 'replayed' } };
        let order = OrderRecord.parse(await stage.get(orderRef));
        const storedPosition = await stage.get(positionRef);
        let position = storedPosition ? PositionState.parse(storedPosition) : FLAT_POSITION;
        let changed = false;
        let bookedFillLatencyMs: number | undefined;

        if (facts.exchangeOrderId && order.exchangeOrderId && facts.exchangeOrderId !== order.exchangeOrderId) {
          // One client order id, one venue order: facts of another venue order are not this order's.
          const refusal = `facts of venue order ${facts.exchangeOrderId} for order ${order.orderId}, which is venue order ${order.exchangeOrderId}`;
          return { value: ledger, result: { outcome: 'refused', order, refusal } };
        }
        const mismatch = facts.describes && describedOrderMismatch(order, facts.describes);
        if (mismatch) return { value: ledger, result: { outcome: 'refused', order, refusal: mismatch } };
        if (facts.exchangeOrderId && !order.exchangeOrderId) {
          order = { ...order, exchangeOrderId: facts.exchangeOrderId };
          changed = true;
        }
        if (facts.placement && order.placedAt === undefined) {
          order = { ...order, placedAt: this.clock().toISOString(), ...facts.placement };
          changed = true;
        }
        let lateExecution = false;
        if (facts.fill && fillRef && !(await stage.get(fillRef))) {
          // The venue cannot fill more than was ordered: such a fill is someone else's, or corrupt.
          if (order.filledAtoms + facts.fill.quantityAtoms > order.quantityAtoms) {
            const refusal = `fill ${facts.fill.tradeId} of ${facts.fill.quantityAtoms} atoms would take order ${order.orderId} past its ${order.quantityAtoms} (${order.filledAtoms} filled)`;
            return { value: ledger, result: { outcome: 'refused', order, refusal } };
          }
          lateExecution = order.terminalStatus !== undefined && order.filledAtoms + facts.fill.quantityAtoms > (order.finalFilledAtoms ?? 0);
          const fill: FillFacts = {
            orderId: order.orderId,
            tradeId: facts.fill.tradeId,
            side: order.side,
            quantityAtoms: facts.fill.quantityAtoms,
            priceMicros: facts.fill.priceMicros,
            feeMicros: facts.fill.feeMicros,
            ...(facts.fill.rebateMicros ? { rebateMicros: facts.fill.rebateMicros } : {}),
            time: facts.fill.time,
            orderQuantityAtoms: order.quantityAtoms,
            orderReservedMicros: order.reservedMicros,
            orderLeverage: order.leverage,
          };
          const step = await this.foldIn(stage, order, position, fill);
          position = step.position;
          // Sapphire had ended the order and returned its margin; the venue executed it anyway.
          if (lateExecution) ledger = applyLedgerEvent(ledger, { kind: 'adopt', marginMicros: Math.max(0, -step.effect.reservedDeltaMicros) });
          ledger = applyLedgerEvent(ledger, { kind: 'fill', symbol: order.symbol, effect: step.effect, positionOpen: position.quantityAtoms !== 0 });
          order = { ...order, filledAtoms: order.filledAtoms + fill.quantityAtoms, feesMicros: order.feesMicros + fill.feeMicros };
          if (lateExecution) order = { ...order, finalFilledAtoms: order.filledAtoms, reason: `${order.reason ?? 'ended'}; executed by the venue after that: adopted` };
          const appliedAt = this.clock();
          bookedFillLatencyMs = fillLatencyMs(order, appliedAt);
          await stage.create(fillRef, {
            ...fill,
            agentId: order.agentId,
            symbol: order.symbol,
            sortKey: fillSortKey(fill),
            appliedAt: appliedAt.toISOString(),
            fillLatencyMs: bookedFillLatencyMs,
          });
          changed = true;
        }
        if (facts.terminal) {
          const ended = applyTerminal(order, facts.terminal.status, facts.terminal.finalFilledAtoms, facts.terminal.reason);
          if (ended.applied) {
            order = ended.order;
            ledger = applyLedgerEvent(ledger, { kind: 'close', symbol: order.symbol, releasedMicros: ended.releasedMicros, heldSymbol: order.reservedMicros > 0 });
            changed = true;
          }
        }
        if (changed) {
          order = { ...order, status: deriveStatus(order), updatedAt: this.clock().toISOString() };
          if (order.status !== 'placing' && order.placementLease) {
            // The venue has it, or it has ended: nothing is left to place, so no one holds the placement.
            const { placementLease: _done, ...rest } = order;
            order = rest;
          }
          stage.set(orderRef, order);
          stage.set(positionRef, { ...position, agentId: order.agentId, symbol: order.symbol });
        }
        if (eventRef) await stage.create(eventRef, { orderId: facts.orderId, factsDigest, receivedAt: this.clock().toISOString() });
        return {
          value: ledger,
          result: {
            outcome: changed ? 'applied' : 'duplicate',
            order,
            position,
            ...(bookedFillLatencyMs === undefined ? {} : { fillLatencyMs: bookedFillLatencyMs }),
            ...(lateExecution ? { lateExecution: true as const } : {}),
          },
        };
      },
    };
  }

  /**
   * A fill later than every fill of the position is folded in directly; an earlier one (events
   * out of order) makes the position be refolded from all its fills, so order never matters.
   * The fills are queried outside the transaction (a query inside one would lock the whole
   * collection on the emulator, against every other agent's fills) and checked against the
   * position's fill count read inside it: fills are only ever added together with that count,
   * so equal counts mean the query saw exactly the committed fills.
   */
  private async foldIn(stage: StagedTransaction, order: OrderRecord, position: PositionState, fill: FillFacts): Promise<FoldStep> {
    if (fillSortKey(fill) >= position.lastFillKey) return applyFill(position, fill, order.filledAtoms);
    const fills = this.db.collection(COLLECTIONS.fills);
    const [snap, committed] = await Promise.all([
      fills.where('agentId', '==', order.agentId).where('symbol', '==', order.symbol).get(),
      stage.committed(this.positionRef(order.agentId, order.symbol)),
    ]);
    const committedCount = committed ? PositionState.parse(committed).fillCount : 0;
    if (snap.size !== committedCount) throw new StaleRead(`${snap.size} fills queried, the position has folded ${committedCount}`);
    const batched = stage.stagedIn(fills.path).filter((f) => f.agentId === order.agentId && f.symbol === order.symbol);
    const earlier = [...snap.docs.map((d) => d.data()), ...batched].map((f) => FillRecord.parse(f));
    const before = foldFills(earlier);
    const after = foldFills([...earlier, fill]);
    return { position: after.position, effect: subtractEffects(after.effect, before.effect) };
  }

  private orderRef(orderId: string): DocumentReference {
    return this.db.collection(COLLECTIONS.orders).doc(orderId);
  }

  private positionRef(agentId: string, symbol: string): DocumentReference {
    return this.db.collection(COLLECTIONS.positions).doc(`${agentId}__${symbol}`);
  }
}
