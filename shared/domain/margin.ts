import { z } from 'zod';
import type { AgentProfile } from './agents.js';
import { RejectionReason, type TradeSignal, orderIdForSignal } from './messages.js';
import { ceilDiv, microsToUsd, notionalMicros } from './money.js';

/**
 * The margin rules: pure functions over an agent's ledger. The invariant they keep, for every
 * agent and any sequence of reserve / reject / release: reserved + in use ≤ allocation, and no
 * amount is ever negative.
 */

export const MarginLedgerState = z.object({
  reservedMicros: z.number().int().nonnegative(),
  inUseMicros: z.number().int().nonnegative(),
  /** Open reservations and orders per symbol; a symbol with 0 is not held. */
  openSymbols: z.record(z.string(), z.number().int().positive()),
  /** Symbols with an open position. */
  positionSymbols: z.record(z.string(), z.literal(true)).default({}),
  /** Realized PnL of all positions, net of fees. */
  realizedPnlMicros: z.number().int().default(0),
  feesMicros: z.number().int().nonnegative().default(0),
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
  breaches: {},
}) as MarginLedgerState;

/** Symbols the agent is exposed to: open reservations, open orders and open positions. */
export function heldSymbols(ledger: MarginLedgerState): Set<string> {
  return new Set([...Object.keys(ledger.openSymbols), ...Object.keys(ledger.positionSymbols)]);
}

/**
 * `reserved`: margin held for the signal. `ordered`: handed to its order, whose fills and
 * terminal event account for it from then on. `released`: returned unused. `rejected`: never held.
 */
export const ReservationStatus = z.enum(['reserved', 'ordered', 'rejected', 'released']);
export type ReservationStatus = z.infer<typeof ReservationStatus>;

/** The single recorded outcome of one signal, keyed by signalId. */
export const ReservationRecord = z.object({
  signalId: z.string(),
  agentId: z.string(),
  symbol: z.string(),
  side: z.enum(['BUY', 'SELL']),
  reduceOnly: z.boolean(),
  status: ReservationStatus,
  reason: RejectionReason.optional(),
  detail: z.string().optional(),
  orderId: z.string().optional(),
  notionalMicros: z.number().int().nonnegative(),
  marginMicros: z.number().int().nonnegative(),
  leverage: z.number().int().positive(),
  decidedAt: z.string(),
  releasedAt: z.string().optional(),
  releaseReason: z.string().optional(),
  /** When the order or risk event for this outcome was published; unset until then. */
  publishedAt: z.string().optional(),
});
export type ReservationRecord = z.infer<typeof ReservationRecord>;

export interface ReservationContext {
  /** undefined when no profile exists for the signal's agent. */
  readonly agent: AgentProfile | undefined;
  /** The agent or the whole portfolio is halted. */
  readonly halted: boolean;
  readonly maxSymbolsPerAgent: number;
  readonly now: Date;
}

export type ReservationDecision =
  | { readonly outcome: 'reserved'; readonly notionalMicros: number; readonly marginMicros: number }
  | { readonly outcome: 'rejected'; readonly reason: RejectionReason; readonly detail: string; readonly notionalMicros: number };

export function signalNotionalMicros(signal: TradeSignal): number {
  return signal.size.type === 'notional'
    ? signal.size.notionalMicros
    : notionalMicros(signal.size.quantity, signal.size.priceMicros);
}

/** Initial margin of a position: notional / leverage, rounded up so the agent never gets more. */
export function marginRequiredMicros(notional: number, leverage: number): number {
  return ceilDiv(notional, leverage);
}

export function committedMicros(ledger: MarginLedgerState): number {
  return ledger.reservedMicros + ledger.inUseMicros;
}

export function freeMarginMicros(ledger: MarginLedgerState, allocationMicros: number): number {
  return Math.max(0, allocationMicros - committedMicros(ledger));
}

function reject(reason: RejectionReason, detail: string, notional: number): ReservationDecision {
  return { outcome: 'rejected', reason, detail, notionalMicros: notional };
}

/** Decides one signal against the ledger as it stands. Checks run from cheapest to the money. */
export function decideReservation(
  ledger: MarginLedgerState,
  signal: TradeSignal,
  context: ReservationContext,
): ReservationDecision {
  const notional = signalNotionalMicros(signal);
  const { agent } = context;
  if (!agent) return reject('unknown_agent', `no agent profile for ${signal.agentId}`, notional);
  if (Date.parse(signal.expiresAt) <= context.now.getTime()) {
    return reject('signal_expired', `expired at ${signal.expiresAt}`, notional);
  }
  // Reduce-only orders shrink risk: they need no margin and pass a halt.
  if (signal.reduceOnly) return { outcome: 'reserved', notionalMicros: notional, marginMicros: 0 };
  if (context.halted) return reject('trading_halted', 'trading is halted for this agent or the portfolio', notional);
  if (signal.leverage > agent.maxLeverage) {
    return reject('leverage_exceeded', `leverage ${signal.leverage} above the agent's maximum ${agent.maxLeverage}`, notional);
  }
  if (notional < agent.minPositionNotionalMicros || notional > agent.maxPositionNotionalMicros) {
    return reject(
      'position_size_out_of_range',
      `notional ${microsToUsd(notional)} USD outside ${microsToUsd(agent.minPositionNotionalMicros)}..${microsToUsd(agent.maxPositionNotionalMicros)} USD`,
      notional,
    );
  }
  if (!agent.allowedSymbols.includes(signal.symbol)) {
    return reject('symbol_not_allowed', `${signal.symbol} is not among the agent's symbols`, notional);
  }
  const held = heldSymbols(ledger);
  if (!held.has(signal.symbol) && held.size >= context.maxSymbolsPerAgent) {
    return reject('max_symbols_exceeded', `agent already holds ${held.size} symbols (maximum ${context.maxSymbolsPerAgent})`, notional);
  }
  const margin = marginRequiredMicros(notional, signal.leverage);
  const free = freeMarginMicros(ledger, agent.marginAllocationMicros);
  if (margin > free) {
    return reject('agent_margin_exceeded', `needs ${microsToUsd(margin)} USD margin, ${microsToUsd(free)} USD free`, notional);
  }
  return { outcome: 'reserved', notionalMicros: notional, marginMicros: margin };
}

/** The ledger after a decision: a reservation adds margin and holds the symbol; a rejection counts a breach. */
export function applyDecision(ledger: MarginLedgerState, symbol: string, decision: ReservationDecision): MarginLedgerState {
  if (decision.outcome === 'rejected') {
    return {
      ...ledger,
      breaches: { ...ledger.breaches, [decision.reason]: (ledger.breaches[decision.reason] ?? 0) + 1 },
    };
  }
  if (decision.marginMicros === 0) return ledger;
  return {
    ...ledger,
    reservedMicros: ledger.reservedMicros + decision.marginMicros,
    openSymbols: { ...ledger.openSymbols, [symbol]: (ledger.openSymbols[symbol] ?? 0) + 1 },
  };
}

export function recordFor(signal: TradeSignal, decision: ReservationDecision, now: Date): ReservationRecord {
  const base = {
    signalId: signal.signalId,
    agentId: signal.agentId,
    symbol: signal.symbol,
    side: signal.side,
    reduceOnly: signal.reduceOnly,
    leverage: signal.leverage,
    notionalMicros: decision.notionalMicros,
    decidedAt: now.toISOString(),
  };
  return decision.outcome === 'reserved'
    ? { ...base, status: 'reserved', marginMicros: decision.marginMicros, orderId: orderIdForSignal(signal.signalId) }
    : { ...base, status: 'rejected', marginMicros: 0, reason: decision.reason, detail: decision.detail };
}

export interface BatchDecision {
  readonly ledger: MarginLedgerState;
  /** One record per distinct signalId in the batch, in first-seen order. */
  readonly records: ReadonlyMap<string, ReservationRecord>;
}

/**
 * Decides a batch of signals of one agent in arrival order against one ledger snapshot: the
 * heart of group commit. A signalId seen twice in a batch is decided once.
 */
export function decideBatch(
  ledger: MarginLedgerState,
  signals: readonly TradeSignal[],
  context: ReservationContext,
): BatchDecision {
  let current = ledger;
  const records = new Map<string, ReservationRecord>();
  for (const signal of signals) {
    if (records.has(signal.signalId)) continue;
    const decision = decideReservation(current, signal, context);
    current = applyDecision(current, signal.symbol, decision);
    records.set(signal.signalId, recordFor(signal, decision, context.now));
  }
  return { ledger: current, records };
}

export interface ReleaseResult {
  readonly ledger: MarginLedgerState;
  readonly record: ReservationRecord;
  /** False when there was nothing to release: already released, or never reserved. */
  readonly released: boolean;
}

/** Returns a reservation's margin to the agent. Idempotent: only a `reserved` record releases. */
export function releaseOpenSymbol(openSymbols: MarginLedgerState['openSymbols'], symbol: string): MarginLedgerState['openSymbols'] {
  const next = { ...openSymbols };
  const count = (next[symbol] ?? 0) - 1;
  if (count > 0) next[symbol] = count;
  else delete next[symbol];
  return next;
}

export function releaseReservation(
  ledger: MarginLedgerState,
  record: ReservationRecord,
  reason: string,
  now: Date,
): ReleaseResult {
  if (record.status !== 'reserved') return { ledger, record, released: false };
  if (record.marginMicros > ledger.reservedMicros) {
    throw new Error(`ledger corrupt: releasing ${record.marginMicros} of ${ledger.reservedMicros} reserved micros`);
  }
  const openSymbols = record.marginMicros > 0 ? releaseOpenSymbol(ledger.openSymbols, record.symbol) : ledger.openSymbols;
  return {
    ledger: { ...ledger, reservedMicros: ledger.reservedMicros - record.marginMicros, openSymbols },
    record: { ...record, status: 'released', releasedAt: now.toISOString(), releaseReason: reason },
    released: true,
  };
}
