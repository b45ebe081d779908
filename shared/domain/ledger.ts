import { z } from 'zod';
import { RejectionReason } from './messages.js';
import { MicroUsd, SignedMicroUsd } from './vocabulary.js';

/**
 * An agent's margin ledger and the one function that changes it. Every ledger event — a
 * reservation, a rejection, a release, a claim by an order, a fill, an order's end, a fee, a
 * funding payment — goes through `applyLedgerEvent`; nothing else computes a new ledger. It
 * refuses (LedgerError) any event that would make an amount negative or, for a reservation,
 * commit more than the allocation, so a wrong event can never be stored.
 */

export const MarginLedgerState = z.object({
  reservedMicros: MicroUsd,
  inUseMicros: MicroUsd,
  /** Open reservations and orders per symbol; a symbol with 0 is not held. */
  openSymbols: z.record(z.string(), z.number().int().positive()),
  /** Symbols with an open position. */
  positionSymbols: z.record(z.string(), z.literal(true)).default({}),
  /** Realized PnL of all positions, net of fees and funding. */
  realizedPnlMicros: SignedMicroUsd.default(0),
  feesMicros: MicroUsd.default(0),
  /** Funding received (positive) or paid (negative), included in realized PnL. */
  fundingMicros: SignedMicroUsd.default(0),
  /** risk_limits_breached_total for this agent, by limit type. */
  breaches: z.partialRecord(RejectionReason, z.number().int().nonnegative()),
});
export type MarginLedgerState = z.infer<typeof MarginLedgerState>;

export const EMPTY_LEDGER: MarginLedgerState = Object.freeze({
  reservedMicros: 0,
  inUseMicros: 0,
  openSymbols: {},
  positionSymbols: {},
  realizedPnlMicros: 0,
  feesMicros: 0,
  fundingMicros: 0,
  breaches: {},
}) as MarginLedgerState;

/** What one fill does to the margin: consumed reservation, margin in use, PnL and fees. */
export interface LedgerEffect {
  readonly reservedDeltaMicros: number;
  readonly inUseDeltaMicros: number;
  readonly realizedPnlDeltaMicros: number;
  readonly feesDeltaMicros: number;
}

export type LedgerEvent =
  /** Margin held for a signal; `allocationMicros` is the budget it must fit in. */
  | { readonly kind: 'reserve'; readonly symbol: string; readonly marginMicros: number; readonly allocationMicros: number }
  /** A signal refused: counted as a breach of its limit, no money moves. */
  | { readonly kind: 'reject'; readonly reason: RejectionReason }
  /** A reservation returned unused. */
  | { readonly kind: 'release'; readonly symbol: string; readonly marginMicros: number }
  /** A reservation handed to its order: still reserved, now the order's to consume. */
  | { readonly kind: 'claim'; readonly marginMicros: number }
  /** A fill folded into a position; `positionOpen` says whether the position is still open after it. */
  | { readonly kind: 'fill'; readonly symbol: string; readonly effect: LedgerEffect; readonly positionOpen: boolean }
  /** An order's end: what it will never fill returns, and it stops holding its symbol. */
  | { readonly kind: 'close'; readonly symbol: string; readonly releasedMicros: number; readonly heldSymbol: boolean }
  /**
   * An execution the venue made for an order Sapphire had already ended (its margin returned):
   * the margin its fill consumes is held again, whatever the allocation — the venue is the truth.
   */
  | { readonly kind: 'adopt'; readonly marginMicros: number }
  /** A fee charged apart from a fill (fills carry their own). */
  | { readonly kind: 'fee'; readonly feeMicros: number }
  /** A funding payment: positive received, negative paid. */
  | { readonly kind: 'funding'; readonly amountMicros: number };

export class LedgerError extends Error {
  override readonly name = 'LedgerError';
}

/** Symbols the agent is exposed to: open reservations, open orders and open positions. */
export function heldSymbols(ledger: MarginLedgerState): Set<string> {
  return new Set([...Object.keys(ledger.openSymbols), ...Object.keys(ledger.positionSymbols)]);
}

export function committedMicros(ledger: MarginLedgerState): number {
  return ledger.reservedMicros + ledger.inUseMicros;
}

export function freeMarginMicros(ledger: MarginLedgerState, allocationMicros: number): number {
  return Math.max(0, allocationMicros - committedMicros(ledger));
}

function holdSymbol(open: MarginLedgerState['openSymbols'], symbol: string): MarginLedgerState['openSymbols'] {
  return { ...open, [symbol]: (open[symbol] ?? 0) + 1 };
}

function dropSymbol(open: MarginLedgerState['openSymbols'], symbol: string): MarginLedgerState['openSymbols'] {
  const next = { ...open };
  const count = (next[symbol] ?? 0) - 1;
  if (count > 0) next[symbol] = count;
  else delete next[symbol];
  return next;
}

function withPosition(positions: MarginLedgerState['positionSymbols'], symbol: string, open: boolean): MarginLedgerState['positionSymbols'] {
  const next = { ...positions };
  if (open) next[symbol] = true;
  else delete next[symbol];
  return next;
}

/** `0 - x` and `a + b` can make -0, which Firestore would store as a double. */
const plus = (a: number, b: number): number => a + b + 0;

function requireAmount(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) throw new LedgerError(`${what} must be a safe integer of micro-USD, got ${value}`);
}

function checked(next: MarginLedgerState, event: LedgerEvent): MarginLedgerState {
  for (const [field, value] of [
    ['reservedMicros', next.reservedMicros],
    ['inUseMicros', next.inUseMicros],
    ['feesMicros', next.feesMicros],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw new LedgerError(`${event.kind} would make ${field} ${value}: refused`);
  }
  requireAmount(next.realizedPnlMicros, 'realized PnL');
  return next;
}

/** The ledger after one event. Pure; throws LedgerError for an event the ledger cannot take. */
export function applyLedgerEvent(ledger: MarginLedgerState, event: LedgerEvent): MarginLedgerState {
  switch (event.kind) {
    case 'reserve': {
      requireAmount(event.marginMicros, 'margin');
      if (event.marginMicros < 0) throw new LedgerError(`reserve of ${event.marginMicros} micros: refused`);
      // Reduce-only signals reserve nothing and hold no symbol.
      if (event.marginMicros === 0) return ledger;
      if (committedMicros(ledger) + event.marginMicros > event.allocationMicros) {
        throw new LedgerError(`reserve of ${event.marginMicros} micros would commit more than the allocation of ${event.allocationMicros}`);
      }
      return checked({ ...ledger, reservedMicros: ledger.reservedMicros + event.marginMicros, openSymbols: holdSymbol(ledger.openSymbols, event.symbol) }, event);
    }
    case 'reject':
      return { ...ledger, breaches: { ...ledger.breaches, [event.reason]: (ledger.breaches[event.reason] ?? 0) + 1 } };
    case 'release': {
      requireAmount(event.marginMicros, 'margin');
      if (event.marginMicros === 0) return ledger;
      if (event.marginMicros > ledger.reservedMicros) {
        throw new LedgerError(`releasing ${event.marginMicros} of ${ledger.reservedMicros} reserved micros: ledger corrupt, refused`);
      }
      return checked({ ...ledger, reservedMicros: ledger.reservedMicros - event.marginMicros, openSymbols: dropSymbol(ledger.openSymbols, event.symbol) }, event);
    }
    case 'claim':
      if (event.marginMicros > ledger.reservedMicros) {
        throw new LedgerError(`claiming ${event.marginMicros} of ${ledger.reservedMicros} reserved micros: ledger corrupt, refused`);
      }
      return ledger;
    case 'fill': {
      const { effect } = event;
      for (const value of Object.values(effect)) requireAmount(value, 'fill effect');
      if (effect.feesDeltaMicros < 0) throw new LedgerError('a fill cannot refund fees');
      return checked(
        {
          ...ledger,
          reservedMicros: plus(ledger.reservedMicros, effect.reservedDeltaMicros),
          inUseMicros: plus(ledger.inUseMicros, effect.inUseDeltaMicros),
          realizedPnlMicros: plus(ledger.realizedPnlMicros, effect.realizedPnlDeltaMicros),
          feesMicros: plus(ledger.feesMicros, effect.feesDeltaMicros),
          positionSymbols: withPosition(ledger.positionSymbols, event.symbol, event.positionOpen),
        },
        event,
      );
    }
    case 'close':
      requireAmount(event.releasedMicros, 'released margin');
      if (event.releasedMicros < 0) throw new LedgerError(`an order's end cannot take margin (${event.releasedMicros})`);
      return checked(
        {
          ...ledger,
          reservedMicros: ledger.reservedMicros - event.releasedMicros,
          openSymbols: event.heldSymbol ? dropSymbol(ledger.openSymbols, event.symbol) : ledger.openSymbols,
        },
        event,
      );
    case 'adopt':
      requireAmount(event.marginMicros, 'adopted margin');
      if (event.marginMicros < 0) throw new LedgerError(`adopting ${event.marginMicros} micros: refused`);
      return checked({ ...ledger, reservedMicros: ledger.reservedMicros + event.marginMicros }, event);
    case 'fee':
      requireAmount(event.feeMicros, 'fee');
      if (event.feeMicros < 0) throw new LedgerError(`a fee cannot be negative (${event.feeMicros})`);
      return checked({ ...ledger, feesMicros: ledger.feesMicros + event.feeMicros, realizedPnlMicros: plus(ledger.realizedPnlMicros, -event.feeMicros) }, event);
    case 'funding':
      requireAmount(event.amountMicros, 'funding');
      return checked(
        {
          ...ledger,
          fundingMicros: plus(ledger.fundingMicros, event.amountMicros),
          realizedPnlMicros: plus(ledger.realizedPnlMicros, event.amountMicros),
        },
        event,
      );
  }
}

/** Applies events in order. */
export function applyLedgerEvents(ledger: MarginLedgerState, events: readonly LedgerEvent[]): MarginLedgerState {
  return events.reduce(applyLedgerEvent, ledger);
}
