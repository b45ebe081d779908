import type { Firestore, Transaction } from '@google-cloud/firestore';
import { z } from 'zod';
import { serverTimestamp } from './client.js';
import { COLLECTIONS } from './collections.js';

/**
 * Trading states: `halted` stops new risk for an agent or the whole portfolio (margin-reservation
 * reads them in its transaction); only an operator's resume sets `active` again. `reducing`
 * also lets only reduce-only orders through, while a condition holds (a stale price feed); the
 * evaluator sets `active` again when it ends. Every change is recorded with who and why, so a
 * halt survives restarts and its history is auditable.
 */

export const TradingState = z.object({
  state: z.enum(['active', 'reducing', 'halted']),
  reason: z.string(),
  changedBy: z.string(),
  changedAt: z.string(),
});
export type TradingState = z.infer<typeof TradingState>;

export interface StateChange {
  readonly scope: string;
  readonly state: TradingState['state'];
  readonly reason: string;
  readonly changedBy: string;
  readonly at: Date;
}

/**
 * Records, beside the state changes, something that changed about a state without changing it
 * (a halt re-armed after a resume), inside a caller's transaction.
 */
export function noteOnTradingState(db: Firestore, tx: Transaction, note: StateChange): void {
  tx.create(db.collection(COLLECTIONS.tradingStateChanges).doc(), {
    scope: note.scope,
    state: note.state,
    reason: note.reason,
    changedBy: note.changedBy,
    changedAt: note.at.toISOString(),
    note: true,
    recordedAt: serverTimestamp(),
  });
}

/** Writes a state change and its audit record inside a caller's transaction. */
export function setTradingState(db: Firestore, tx: Transaction, change: StateChange): void {
  const record: TradingState = { state: change.state, reason: change.reason, changedBy: change.changedBy, changedAt: change.at.toISOString() };
  tx.set(db.collection(COLLECTIONS.tradingStates).doc(change.scope), record);
  tx.create(db.collection(COLLECTIONS.tradingStateChanges).doc(), { scope: change.scope, ...record, recordedAt: serverTimestamp() });
}

export async function changeTradingState(db: Firestore, change: StateChange): Promise<TradingState> {
  return db.runTransaction(async (tx) => {
    setTradingState(db, tx, change);
    return { state: change.state, reason: change.reason, changedBy: change.changedBy, changedAt: change.at.toISOString() };
  });
}

export async function tradingStateOf(db: Firestore, scope: string): Promise<TradingState | undefined> {
  const snap = await db.collection(COLLECTIONS.tradingStates).doc(scope).get();
  return snap.exists ? TradingState.parse(snap.data()) : undefined;
}
