import { flattenSignals, flattensForHalts } from '../domain/flatten.js';
import { TradeSignal } from '../domain/messages.js';
import { listAgentProfiles } from '../firestore/agent-profiles.js';
import type { FlattenBook, FlattenRecord } from '../firestore/flattens.js';
import { publishSignal } from '../intake/publish-signal.js';
import { log } from '../log.js';
import { type TradingDeps, now } from './deps.js';
import { cancelAtVenue } from './route-order.js';

/**
 * Flatten on command (ops-api) or on a halt (drawdown-evaluator): cancel the agents' open
 * orders, then close every open position with a reduce-only market signal through the usual
 * path (reservation, order-router, fills, ledgers). The plan is recorded once per flatten id
 * (flattens/{id}), so a retried command sends the same signals and changes nothing twice; its
 * progress is read back from the positions.
 */

const CLOSING_SIGNAL_TTL_MS = 10 * 60_000;

export interface FlattenRequest {
  readonly flattenId: string;
  readonly agentIds: readonly string[];
  /** `operator:<name>` or `drawdown-evaluator`. */
  readonly requestedBy: string;
  readonly reason: string;
}

export interface FlattenProgress {
  readonly flattenId: string;
  readonly requestedBy: string;
  readonly reason: string;
  readonly positions: readonly { readonly agentId: string; readonly symbol: string; readonly signalId: string; readonly plannedAtoms: number; readonly remainingAtoms: number }[];
  /** Every planned position is closed. */
  readonly done: boolean;
}

export async function flattenAgents(deps: TradingDeps, book: FlattenBook, request: FlattenRequest): Promise<FlattenProgress> {
  const at = now(deps);
  // Open orders first: a fill landing after the closing order would leave a position behind.
  const open = (await deps.trades.openOrders()).filter((o) => request.agentIds.includes(o.agentId));
  for (const order of open) await cancelAtVenue(deps, order, `flatten ${request.flattenId}`);
  const positions = await deps.trades.openPositionsOf(request.agentIds);
  const planned = flattenSignals(request.flattenId, positions, { now: at, ttlMs: CLOSING_SIGNAL_TTL_MS, requestedBy: request.requestedBy });
  const plan = await book.plan({
    flattenId: request.flattenId,
    agentIds: [...request.agentIds],
    requestedBy: request.requestedBy,
    reason: request.reason,
    createdAt: at.toISOString(),
    positions: positions.flatMap((p) => {
      const signal = planned.find((s) => s.agentId === p.agentId && s.symbol === p.symbol);
      return signal ? [{ ...p, signalId: signal.signalId }] : [];
    }),
  });
  const signals = flattenSignals(plan.flattenId, plan.positions, { now: at, ttlMs: CLOSING_SIGNAL_TTL_MS, requestedBy: plan.requestedBy });
  for (const signal of signals) await publishSignal(deps.publisher, deps.topics, TradeSignal.parse(signal), 10_000);
  log.warn('flatten requested', { flattenId: plan.flattenId, requestedBy: plan.requestedBy, reason: plan.reason, canceled: open.length, closing: signals.length });
  return progressOf(deps, plan);
}

/** Where a flatten stands: each planned position and what is left of it. */
export async function flattenProgress(deps: TradingDeps, book: FlattenBook, flattenId: string): Promise<FlattenProgress | undefined> {
  const plan = await book.get(flattenId);
  return plan && progressOf(deps, plan);
}

async function progressOf(deps: TradingDeps, plan: FlattenRecord): Promise<FlattenProgress> {
  const positions = await Promise.all(
    plan.positions.map(async (p) => {
      const current = (await deps.trades.position(p.agentId, p.symbol)).quantityAtoms;
      // What is left of the planned position: a position flipped or opened since is not this flatten's.
      const remaining = Math.sign(current) === Math.sign(p.quantityAtoms) ? Math.min(Math.abs(current), Math.abs(p.quantityAtoms)) : 0;
      return { agentId: p.agentId, symbol: p.symbol, signalId: p.signalId, plannedAtoms: Math.abs(p.quantityAtoms), remainingAtoms: remaining };
    }),
  );
  return { flattenId: plan.flattenId, requestedBy: plan.requestedBy, reason: plan.reason, positions, done: positions.every((p) => p.remainingAtoms === 0) };
}

/**
 * The flattens new halts call for (each agent's profile says whether it wants one). A failure is
 * logged loudly and not retried here: the halt itself holds, and an operator can flatten.
 */
export async function flattenOnHalts(deps: TradingDeps, book: FlattenBook, halted: readonly { readonly scope: string; readonly episodeId: string; readonly reason: string }[]): Promise<void> {
  for (const flatten of flattensForHalts(halted, await listAgentProfiles(deps.trades.db))) {
    try {
      await flattenAgents(deps, book, { ...flatten, requestedBy: 'drawdown-evaluator' });
    } catch (error) {
      log.error('flatten on halt failed: positions stay open until an operator flattens', { flattenId: flatten.flattenId, agentIds: flatten.agentIds, error });
    }
  }
}
