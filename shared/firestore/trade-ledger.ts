import type { DocumentReference, Firestore, Transaction } from '@google-cloud/firestore';
import { z } from 'zod';
import { EMPTY_LEDGER, MarginLedgerState, ReservationRecord, releaseOpenSymbol } from '../domain/margin.js';
import type { OrderRequest } from '../domain/messages.js';
import { OrderRecord, type VenueFacts, applyTerminal, deriveStatus } from '../domain/orders.js';
import {
  FLAT_POSITION,
  FillFacts,
  type FoldStep,
  type LedgerEffect,
  PositionState,
  applyFill,
  fillSortKey,
  foldFills,
} from '../domain/positions.js';
import { COLLECTIONS } from './collections.js';
import { type TransactionStats, emptyTransactionStats, runTransaction } from './transactions.js';

/**
 * Orders, fills and positions in Firestore. Each venue fact is applied in one transaction with
 * the agent's margin ledger, idempotent by (orderId, tradeId) for fills and by order for its
 * terminal event.
 */

export interface OrderPlan {
  readonly venue: string;
  readonly type: 'MARKET' | 'LIMIT';
  readonly quantityAtoms: number;
  readonly limitPriceMicros?: number;
}

export type ClaimResult =
  | { readonly claimed: true; readonly order: OrderRecord }
  | { readonly claimed: false; readonly reason: string };

export type ApplyOutcome = 'applied' | 'duplicate' | 'replayed' | 'unknown_order';

export interface ApplyResult {
  readonly outcome: ApplyOutcome;
  readonly order?: OrderRecord;
  readonly position?: PositionState;
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
  readonly transactionStats: TransactionStats = emptyTransactionStats();
  private readonly clock: () => Date;

  constructor(
    private readonly db: Firestore,
    clock?: () => Date,
  ) {
    this.clock = clock ?? (() => new Date());
  }

  /**
   * Hands a reservation to its order: the reservation becomes `ordered` and the order record is
   * created, in one transaction. Only a `reserved` reservation can be claimed, so a reservation
   * the reconciler released is never placed. Claiming twice returns the same order.
   */
  async claimForOrder(request: OrderRequest, plan: OrderPlan): Promise<ClaimResult> {
    const reservationRef = this.db.collection(COLLECTIONS.reservations).doc(request.signalId);
    const orderRef = this.orderRef(request.orderId);
    return this.transaction(async (tx) => {
      const [reservationSnap, orderSnap] = await tx.getAll(reservationRef, orderRef);
      if (orderSnap?.exists) return { claimed: true, order: OrderRecord.parse(orderSnap.data()) };
      if (!reservationSnap?.exists) return { claimed: false, reason: 'no reservation for this signal' };
      const reservation = ReservationRecord.parse(reservationSnap.data());
      if (reservation.status !== 'reserved') return { claimed: false, reason: `reservation is ${reservation.status}` };
      const now = this.clock().toISOString();
      const order: OrderRecord = {
        orderId: request.orderId,
        signalId: request.signalId,
        agentId: request.agentId,
        symbol: request.symbol,
        side: request.side,
        type: plan.type,
        reduceOnly: request.reduceOnly,
        leverage: request.leverage,
        venue: plan.venue,
        quantityAtoms: plan.quantityAtoms,
        ...(plan.limitPriceMicros ? { limitPriceMicros: plan.limitPriceMicros } : {}),
        reservedMicros: reservation.marginMicros,
        status: 'placing',
        filledAtoms: 0,
        feesMicros: 0,
        releasedMicros: 0,
        createdAt: now,
        updatedAt: now,
      };
      tx.set(reservationRef, { ...reservation, status: 'ordered' });
      tx.create(orderRef, order);
      return { claimed: true, order };
    });
  }

  /**
   * Applies what a venue says about an order. `eventKey`, when given, is recorded in the same
   * transaction and a second delivery with it is refused as a replay.
   */
  async applyVenueFacts(facts: VenueFacts, eventKey?: string): Promise<ApplyResult> {
    const orderRef = this.orderRef(facts.orderId);
    const eventRef = eventKey ? this.db.collection(COLLECTIONS.brokerEvents).doc(eventKey.replace(/\//g, '_')) : undefined;
    return this.transaction(async (tx) => {
      const [orderSnap, eventSnap] = await tx.getAll(orderRef, ...(eventRef ? [eventRef] : []));
      if (eventSnap?.exists) return { outcome: 'replayed' };
      if (!orderSnap?.exists) return { outcome: 'unknown_order' };
      let order = OrderRecord.parse(orderSnap.data());
      const ledgerRef = this.db.collection(COLLECTIONS.marginLedgers).doc(order.agentId);
      const positionRef = this.positionRef(order.agentId, order.symbol);
      const fillRef = facts.fill ? this.db.collection(COLLECTIONS.fills).doc(`${facts.orderId}:${facts.fill.tradeId}`) : undefined;
      const [ledgerSnap, positionSnap, fillSnap] = await tx.getAll(ledgerRef, positionRef, ...(fillRef ? [fillRef] : []));
      let ledger = ledgerSnap?.exists ? MarginLedgerState.parse(ledgerSnap.data()) : EMPTY_LEDGER;
      let position = positionSnap?.exists ? PositionState.parse(positionSnap.data()) : FLAT_POSITION;
      let changed = false;

      if (facts.exchangeOrderId && !order.exchangeOrderId) {
        order = { ...order, exchangeOrderId: facts.exchangeOrderId };
        changed = true;
      }
      if (facts.fill && fillRef && !fillSnap?.exists) {
        const fill: FillFacts = {
          orderId: order.orderId,
          tradeId: facts.fill.tradeId,
          side: order.side,
          quantityAtoms: facts.fill.quantityAtoms,
          priceMicros: facts.fill.priceMicros,
          feeMicros: facts.fill.feeMicros,
          time: facts.fill.time,
          orderQuantityAtoms: order.quantityAtoms,
          orderReservedMicros: order.reservedMicros,
        };
        const step = await this.foldIn(tx, order, position, fill);
        position = step.position;
        ledger = {
          ...ledger,
          reservedMicros: ledger.reservedMicros + step.effect.reservedDeltaMicros,
          inUseMicros: ledger.inUseMicros + step.effect.inUseDeltaMicros,
          realizedPnlMicros: ledger.realizedPnlMicros + step.effect.realizedPnlDeltaMicros,
          feesMicros: ledger.feesMicros + step.effect.feesDeltaMicros,
        };
        order = { ...order, filledAtoms: order.filledAtoms + fill.quantityAtoms, feesMicros: order.feesMicros + fill.feeMicros };
        tx.create(fillRef, { ...fill, agentId: order.agentId, symbol: order.symbol, sortKey: fillSortKey(fill), appliedAt: this.clock().toISOString() });
        changed = true;
      }
      if (facts.terminal) {
        const ended = applyTerminal(order, facts.terminal.status, facts.terminal.finalFilledAtoms, facts.terminal.reason);
        if (ended.applied) {
          order = ended.order;
          ledger = {
            ...ledger,
            reservedMicros: ledger.reservedMicros - ended.releasedMicros,
            openSymbols: order.reservedMicros > 0 ? releaseOpenSymbol(ledger.openSymbols, order.symbol) : ledger.openSymbols,
          };
          changed = true;
        }
      }
      if (changed) {
        const positionSymbols = { ...ledger.positionSymbols };
        if (position.quantityAtoms !== 0) positionSymbols[order.symbol] = true;
        else delete positionSymbols[order.symbol];
        ledger = { ...ledger, positionSymbols };
        order = { ...order, status: deriveStatus(order), updatedAt: this.clock().toISOString() };
        if (ledger.reservedMicros < 0 || ledger.inUseMicros < 0) {
          throw new Error(`ledger of ${order.agentId} would go negative applying ${facts.orderId}: refusing`);
        }
        tx.set(orderRef, order);
        tx.set(positionRef, { ...position, agentId: order.agentId, symbol: order.symbol });
        tx.set(ledgerRef, { ...ledger, agentId: order.agentId, updatedAt: this.clock().toISOString() });
      }
      if (eventRef) tx.create(eventRef, { orderId: facts.orderId, receivedAt: this.clock().toISOString() });
      return { outcome: changed ? 'applied' : 'duplicate', order, position };
    });
  }

  async order(orderId: string): Promise<OrderRecord | undefined> {
    const snap = await this.orderRef(orderId).get();
    return snap.exists ? OrderRecord.parse(snap.data()) : undefined;
  }

  async position(agentId: string, symbol: string): Promise<PositionState> {
    const snap = await this.positionRef(agentId, symbol).get();
    return snap.exists ? PositionState.parse(snap.data()) : FLAT_POSITION;
  }

  /** Orders without a terminal event yet: what the reconciler checks against the venue. */
  async openOrders(): Promise<OrderRecord[]> {
    const snap = await this.db.collection(COLLECTIONS.orders).where('status', 'in', ['placing', 'open', 'partially_filled']).get();
    return snap.docs.map((d) => OrderRecord.parse(d.data())).filter((o) => o.terminalStatus === undefined);
  }

  /**
   * A fill later than every fill of the position is folded in directly; an earlier one (events
   * out of order) makes the position be refolded from all its fills, so order never matters.
   */
  private async foldIn(tx: Transaction, order: OrderRecord, position: PositionState, fill: FillFacts): Promise<FoldStep> {
    if (fillSortKey(fill) >= position.lastFillKey) return applyFill(position, fill, order.filledAtoms);
    const snap = await tx.get(
      this.db.collection(COLLECTIONS.fills).where('agentId', '==', order.agentId).where('symbol', '==', order.symbol),
    );
    const earlier = snap.docs.map((d) => FillRecord.parse(d.data()));
    const before = foldFills(earlier);
    const after = foldFills([...earlier, fill]);
    return { position: after.position, effect: subtractEffects(after.effect, before.effect) };
  }

  private transaction<T>(update: (tx: Transaction) => Promise<T>): Promise<T> {
    return runTransaction(this.db, update, { stats: this.transactionStats });
  }

  private orderRef(orderId: string): DocumentReference {
    return this.db.collection(COLLECTIONS.orders).doc(orderId);
  }

  private positionRef(agentId: string, symbol: string): DocumentReference {
    return this.db.collection(COLLECTIONS.positions).doc(`${agentId}__${symbol}`);
  }
}
