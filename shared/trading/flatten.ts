import { type FlattenPolicy, flattenSignals, flattensForHalts, nextFlattenStep } from '../domain/flatten.js';
import { type AlertMessage, TradeSignal, orderIdForSignal } from '../domain/messages.js';
import { averageEntryMicros } from '../domain/positions.js';
import { atomsToQuantity } from '../domain/quantity.js';
import { PORTFOLIO_SCOPE } from '../domain/vocabulary.js';
import { listAgentProfiles } from '../firestore/agent-profiles.js';
import type { FlattenBook, FlattenRecord, FlattenTry } from '../firestore/flattens.js';
import { publishSignal } from '../intake/publish-signal.js';
import { log } from '../log.js';
import { type TradingDeps, now } from './deps.js';
import { isolated } from './isolated.js';
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
  /** Every round of closing signals sent: the plan's, then the reconciler's retries. */
  readonly tries: readonly FlattenTry[];
  /** When it alerted for still holding positions past its policy's bound. */
  readonly alertedAt?: string;
}

export async function flattenAgents(deps: TradingDeps, book: FlattenBook, request: FlattenRequest): Promise<FlattenProgress> {
  const at = now(deps);
  // Open orders first: a fill landing after the closing order would leave a position behind. A
  // cancel that fails never stops the closes: what a late fill leaves, a later try closes, and the
  // reconciler cancels an order left open past its time.
  const open = (await deps.trades.openOrders()).filter((o) => request.agentIds.includes(o.agentId));
  for (const order of open) {
    try {
      await cancelAtVenue(deps, order, `flatten ${request.flattenId}`);
    } catch (error) {
      log.error('flatten could not cancel an open order; it closes the positions anyway', { flattenId: request.flattenId, orderId: order.orderId, agentId: order.agentId, error });
    }
  }
  const positions = await deps.trades.openPositionsOf(request.agentIds);
  const planned = flattenSignals(request.flattenId, positions, { now: at, ttlMs: CLOSING_SIGNAL_TTL_MS, requestedBy: request.requestedBy });
  const planPositions = positions.flatMap((p) => {
    const signal = planned.find((s) => s.agentId === p.agentId && s.symbol === p.symbol);
    return signal ? [{ ...p, signalId: signal.signalId }] : [];
  });
  const plan = await book.plan({
    flattenId: request.flattenId,
    agentIds: [...request.agentIds],
    requestedBy: request.requestedBy,
    reason: request.reason,
    createdAt: at.toISOString(),
    positions: planPositions,
    tries: [{ attempt: 0, at: at.toISOString(), signalIds: planPositions.map((p) => p.signalId) }],
    status: 'working',
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
  return {
    flattenId: plan.flattenId,
    requestedBy: plan.requestedBy,
    reason: plan.reason,
    positions,
    done: positions.every((p) => p.remainingAtoms === 0),
    tries: plan.tries,
    ...(plan.alertedAt ? { alertedAt: plan.alertedAt } : {}),
  };
}

/** Whether any of a try's closes is still being decided, placed or filled (its signal unexpired). */
async function closesInFlight(deps: TradingDeps, attempt: FlattenTry, at: Date): Promise<boolean> {
  if (at.getTime() - Date.parse(attempt.at) >= CLOSING_SIGNAL_TTL_MS) return false;
  for (const signalId of attempt.signalIds) {
    const reservation = await deps.margins.reservationOf(signalId);
    if (!reservation || reservation.status === 'reserved') return true;
    if (reservation.status !== 'ordered') continue;
    const order = await deps.trades.order(orderIdForSignal(signalId));
    if (!order || order.terminalStatus === undefined) return true;
  }
  return false;
}

/**
 * Carries every flatten on until it is flat (the reconciler, each run): what a try left open
 * (a close refused, expired, never placed) is closed again by a new try once the last one has
 * ended and its delay passed; past the policy's bound it alerts once. Idempotent per try.
 */
export async function continueFlattens(deps: TradingDeps, book: FlattenBook, policy: FlattenPolicy, failures: string[]): Promise<{ readonly retried: number; readonly alerted: number }> {
  const at = now(deps);
  let retried = 0;
  let alerted = 0;
  for (const plan of await book.working()) {
    await isolated(failures, `flatten ${plan.flattenId}`, { flattenId: plan.flattenId }, async () => {
      const progress = await progressOf(deps, plan);
      if (progress.done) {
        await book.markDone(plan.flattenId, at);
        return;
      }
      const last = plan.tries.at(-1) ?? { attempt: 0, at: plan.createdAt, signalIds: plan.positions.map((p) => p.signalId) };
      const step = nextFlattenStep(
        { startedAt: Date.parse(plan.createdAt), tries: plan.tries.length || 1, lastTryAt: Date.parse(last.at), inFlight: await closesInFlight(deps, last, at), alerted: plan.alertedAt !== undefined },
        at.getTime(),
        policy,
      );
      const open = progress.positions.filter((p) => p.remainingAtoms > 0);
      if (step.retry && (await retryFlatten(deps, book, plan, open, last.attempt + 1, at))) retried += 1;
      if (step.alert && (await book.markAlerted(plan.flattenId, at))) {
        alerted += 1;
        await alertStillHolding(deps, plan, open, at);
      }
    });
  }
  return { retried, alerted };
}

/** The one critical alert of a flatten still not flat past its bound. */
async function alertStillHolding(deps: TradingDeps, plan: FlattenRecord, open: FlattenProgress['positions'], at: Date): Promise<void> {
  const holding = open.map((p) => `${p.agentId} ${p.symbol} ${atomsToQuantity(p.remainingAtoms)}`).join('; ');
  const alert: AlertMessage = {
    episodeId: `flatten_stuck:${plan.flattenId}`,
    transition: 'open',
    key: `flatten_stuck:${plan.flattenId}`,
    limitType: 'flatten_stuck',
    scope: plan.agentIds.length === 1 ? (plan.agentIds[0] as string) : PORTFOLIO_SCOPE,
    severity: 'critical',
    message: `flatten ${plan.flattenId} (${plan.reason}) still holds ${holding} after ${plan.tries.length} tries: it goes on trying; see GET /flattens/${plan.flattenId}`,
    source: 'reconciler',
    openedAt: at.toISOString(),
  };
  await deps.publisher.publish(deps.topics.alerts, alert, { attributes: { episodeId: alert.episodeId, transition: alert.transition } });
  log.error('flatten still not flat', { flattenId: plan.flattenId, holding, tries: plan.tries.length });
}

/** Sends try `attempt`: a reduce-only close of what is left of each open position. */
async function retryFlatten(deps: TradingDeps, book: FlattenBook, plan: FlattenRecord, open: FlattenProgress['positions'], attempt: number, at: Date): Promise<boolean> {
  const held = await Promise.all(
    open.map(async (p) => {
      const position = await deps.trades.position(p.agentId, p.symbol);
      return { agentId: p.agentId, symbol: p.symbol, quantityAtoms: Math.sign(position.quantityAtoms) * p.remainingAtoms, averageEntryMicros: averageEntryMicros(position) };
    }),
  );
  const signals = flattenSignals(plan.flattenId, held, { now: at, ttlMs: CLOSING_SIGNAL_TTL_MS, requestedBy: plan.requestedBy, attempt });
  // Recorded first: a run racing this one sends nothing twice, and the try is visible at once.
  if (!(await book.recordTry(plan.flattenId, { attempt, at: at.toISOString(), signalIds: signals.map((s) => s.signalId) }))) return false;
  for (const signal of signals) await publishSignal(deps.publisher, deps.topics, TradeSignal.parse(signal), 10_000);
  log.warn('flatten tried again', { flattenId: plan.flattenId, attempt, closing: signals.length });
  return true;
}

/**
 * The flattens new halts call for (each agent's profile says whether it wants one). The reconciler
 * carries each on until flat (continueFlattens); one that fails before its plan is recorded is
 * logged loudly: the halt itself holds, and an operator can flatten.
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
