import { z } from 'zod';
import type { AgentProfile } from './agents.js';
import { type MarginLedgerState, applyLedgerEvent, freeMarginMicros, heldSymbols } from './ledger.js';
import { MAX_SIGNAL_NOTIONAL_MICROS, RejectionReason, SignalSize, type TradeSignal, boundedNotionalMicros, orderIdForSignal, signalTermsDigest } from './messages.js';
import { USD, ceilDiv, microsToUsd } from './money.js';
import { AgentId, Leverage, MicroUsd, Side, Symbol } from './vocabulary.js';

/**
 * The margin rules: deciding a signal against an agent's ledger. The invariant they keep, for
 * every agent and any sequence of reserve / reject / release: reserved + in use ≤ allocation, and
 * no amount is ever negative (applyLedgerEvent refuses anything else).
 */

/**
 * `reserved`: margin held for the signal. `ordered`: handed to its order, whose fills and
 * terminal event account for it from then on. `released`: returned unused. `rejected`: never held.
 */
export const ReservationStatus = z.enum(['reserved', 'ordered', 'rejected', 'released']);
export type ReservationStatus = z.infer<typeof ReservationStatus>;

/** The single recorded outcome of one signal, keyed by signalId. */
export const ReservationRecord = z.object({
  signalId: z.string(),
  agentId: AgentId,
  symbol: Symbol,
  side: Side,
  reduceOnly: z.boolean(),
  /** The signal's size as it asked: its order's terms come from here, not from a later delivery. */
  size: SignalSize,
  /** The signal's expiry, which its order carries. */
  expiresAt: z.string(),
  /** signalTermsDigest of the signal decided: a redelivery with other terms is a conflict. */
  termsDigest: z.string(),
  status: ReservationStatus,
  reason: RejectionReason.optional(),
  detail: z.string().optional(),
  orderId: z.string().optional(),
  notionalMicros: MicroUsd,
  marginMicros: MicroUsd,
  leverage: Leverage,
  decidedAt: z.string(),
  /** When intake accepted the signal, and how long from then until this decision. */
  receivedAt: z.string().optional(),
  decisionLatencyMs: z.number().int().nonnegative().optional(),
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
  /** Why the agent may only reduce risk now (a stale price feed), if it may only. */
  readonly reducing?: string;
  readonly maxSymbolsPerAgent: number;
  readonly now: Date;
  /**
   * The symbol's mark price, at which a quantity-sized signal is valued (never at the price its
   * sender wrote): margin-reservation asks the market for it before deciding.
   */
  readonly markMicros?: number;
}

export type ReservationDecision =
  | { readonly outcome: 'reserved'; readonly notionalMicros: number; readonly marginMicros: number }
  | { readonly outcome: 'rejected'; readonly reason: RejectionReason; readonly detail: string; readonly notionalMicros: number };

/**
 * The signal's notional — a quantity at the mark when one is given, else at the signal's price —
 * or undefined when it is beyond what a signal may ask (then it is rejected, never thrown on).
 */
export function signalNotionalMicros(signal: TradeSignal, markMicros?: number): number | undefined {
  if (signal.size.type === 'quantity') return boundedNotionalMicros(signal.size.quantity, markMicros ?? signal.size.priceMicros);
  return signal.size.notionalMicros <= MAX_SIGNAL_NOTIONAL_MICROS ? signal.size.notionalMicros : undefined;
}

/** Initial margin of a position: notional / leverage, rounded up so the agent never gets more. */
export function marginRequiredMicros(notional: number, leverage: number): number {
  return ceilDiv(notional, leverage);
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
  const bounded = signalNotionalMicros(signal, context.markMicros);
  // The schema refuses such sizes; this second check keeps a hand-made signal from throwing.
  if (bounded === undefined) return reject('position_size_out_of_range', `notional above ${MAX_SIGNAL_NOTIONAL_MICROS / USD} USD`, 0);
  const notional = bounded;
  const { agent } = context;
  if (!agent) return reject('unknown_agent', `no agent profile for ${signal.agentId}`, notional);
  if (Date.parse(signal.expiresAt) <= context.now.getTime()) {
    return reject('signal_expired', `expired at ${signal.expiresAt}`, notional);
  }
  // Reduce-only orders shrink risk: they need no margin and pass a halt.
  if (signal.reduceOnly) return { outcome: 'reserved', notionalMicros: notional, marginMicros: 0 };
  if (context.halted) return reject('trading_halted', 'trading is halted for this agent or the portfolio', notional);
  if (context.reducing) return reject('trading_reducing', `only orders that reduce risk: ${context.reducing}`, notional);
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
function applyDecision(ledger: MarginLedgerState, symbol: string, decision: ReservationDecision, allocationMicros: number): MarginLedgerState {
  return decision.outcome === 'rejected'
    ? applyLedgerEvent(ledger, { kind: 'reject', reason: decision.reason })
    : applyLedgerEvent(ledger, { kind: 'reserve', symbol, marginMicros: decision.marginMicros, allocationMicros });
}

/** The decision's latency from intake; a clock behind intake's counts as no wait, not a negative one. */
function latencySince(receivedAt: string | undefined, now: Date): { receivedAt?: string; decisionLatencyMs?: number } {
  if (receivedAt === undefined) return {};
  return { receivedAt, decisionLatencyMs: Math.max(0, now.getTime() - Date.parse(receivedAt)) };
}

function recordFor(signal: TradeSignal, decision: ReservationDecision, now: Date): ReservationRecord {
  const base = {
    signalId: signal.signalId,
    agentId: signal.agentId,
    symbol: signal.symbol,
    side: signal.side,
    reduceOnly: signal.reduceOnly,
    size: signal.size,
    expiresAt: signal.expiresAt,
    termsDigest: signalTermsDigest(signal),
    leverage: signal.leverage,
    notionalMicros: decision.notionalMicros,
    decidedAt: now.toISOString(),
    ...latencySince(signal.receivedAt, now),
  };
  return decision.outcome === 'reserved'
    ? { ...base, status: 'reserved', marginMicros: decision.marginMicros, orderId: orderIdForSignal(signal.signalId) }
    : { ...base, status: 'rejected', marginMicros: 0, reason: decision.reason, detail: decision.detail };
}

export interface SignalDecision {
  /** The ledger after the decision (a rejection counts its breach). */
  readonly ledger: MarginLedgerState;
  /** The signal's one recorded outcome. */
  readonly record: ReservationRecord;
}

/**
 * Decides one signal against the ledger as it stands and records the outcome. Group commit
 * decides an agent's batch by applying this in arrival order to one running ledger.
 */
export function decideSignal(ledger: MarginLedgerState, signal: TradeSignal, context: ReservationContext): SignalDecision {
  const decision = decideReservation(ledger, signal, context);
  return {
    ledger: applyDecision(ledger, signal.symbol, decision, context.agent?.marginAllocationMicros ?? 0),
    record: recordFor(signal, decision, context.now),
  };
}

export interface ReleaseResult {
  readonly ledger: MarginLedgerState;
  readonly record: ReservationRecord;
  /** False when there was nothing to release: already released, or never reserved. */
  readonly released: boolean;
}

/** Returns a reservation's margin to the agent. Idempotent: only a `reserved` record releases. */
export function releaseReservation(
  ledger: MarginLedgerState,
  record: ReservationRecord,
  reason: string,
  now: Date,
): ReleaseResult {
  if (record.status !== 'reserved') return { ledger, record, released: false };
  return {
    ledger: applyLedgerEvent(ledger, { kind: 'release', symbol: record.symbol, marginMicros: record.marginMicros }),
    record: { ...record, status: 'released', releasedAt: now.toISOString(), releaseReason: reason },
    released: true,
  };
}
