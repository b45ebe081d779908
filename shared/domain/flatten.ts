import { createHash } from 'node:crypto';
import { type AgentProfile, haltFlattens } from './agents.js';
import type { TradeSignalInput } from './messages.js';
import { PORTFOLIO_SCOPE } from './vocabulary.js';
import { atomsToQuantity } from './quantity.js';

/**
 * Flattening: one reduce-only market signal per open position, the opposite way, for its whole
 * size. Reduce-only signals need no margin and pass a halt; the venue refuses any that would
 * open or flip a position, so a repeated flatten never overshoots. Signal ids come from the
 * flatten id, the agent and the symbol: the same flatten planned twice sends the same signals,
 * which reservations decide once.
 */

export interface HeldPosition {
  readonly agentId: string;
  readonly symbol: string;
  /** Signed: positive long, negative short. */
  readonly quantityAtoms: number;
  /** The position's average entry: the reference price of its closing signal (it needs no margin). */
  readonly averageEntryMicros: number;
}

/** The closing signal of a flatten's try (`attempt` 0 is its plan) for one position. */
export function flattenSignalId(flattenId: string, agentId: string, symbol: string, attempt = 0): string {
  const key = attempt === 0 ? `${flattenId}|${agentId}|${symbol}` : `${flattenId}|${agentId}|${symbol}|${attempt}`;
  return `flat-${createHash('sha256').update(key).digest('hex').slice(0, 40)}`;
}

export function flattenSignals(
  flattenId: string,
  positions: readonly HeldPosition[],
  options: { readonly now: Date; readonly ttlMs: number; readonly requestedBy: string; readonly attempt?: number },
): TradeSignalInput[] {
  return positions
    .filter((p) => p.quantityAtoms !== 0 && p.averageEntryMicros > 0)
    .map((p) => ({
      signalId: flattenSignalId(flattenId, p.agentId, p.symbol, options.attempt),
      agentId: p.agentId,
      symbol: p.symbol,
      side: p.quantityAtoms > 0 ? 'SELL' : 'BUY',
      size: { type: 'quantity', quantity: atomsToQuantity(Math.abs(p.quantityAtoms)), priceMicros: p.averageEntryMicros },
      leverage: 1,
      confidence: 1,
      source: `flatten:${options.requestedBy}`.slice(0, 100),
      reduceOnly: true,
      createdAt: options.now.toISOString(),
      expiresAt: new Date(options.now.getTime() + options.ttlMs).toISOString(),
    }));
}

/** The flattens a set of new halts calls for, by each agent's profile: one per halt, named after its episode. */
export function flattensForHalts(
  halted: readonly { readonly scope: string; readonly episodeId: string; readonly reason: string }[],
  profiles: readonly AgentProfile[],
): { readonly flattenId: string; readonly agentIds: string[]; readonly reason: string }[] {
  return halted.flatMap((halt) => {
    const agentIds = profiles
      .filter((p) => (halt.scope === PORTFOLIO_SCOPE ? haltFlattens(p).onPortfolioHalt : p.agentId === halt.scope && haltFlattens(p).onAgentHalt))
      .map((p) => p.agentId);
    return agentIds.length > 0 ? [{ flattenId: `halt-${halt.episodeId}`, agentIds, reason: `halted: ${halt.reason}` }] : [];
  });
}

/**
 * How a flatten not yet flat goes on: tried again `retryFirstMs` after its last try, then twice
 * as long each time, at most 5 minutes apart (or `retryFirstMs`, if longer); still not flat
 * `alertAfterMs` after it began, it alerts once (critical): the position needs a person.
 */
export interface FlattenPolicy {
  readonly retryFirstMs: number;
  readonly alertAfterMs: number;
}

export const FLATTEN_POLICY: FlattenPolicy = { retryFirstMs: 30_000, alertAfterMs: 300_000 };
const FLATTEN_RETRY_MAX_MS = 300_000;

/** Where a flatten stands, for deciding its next step. */
export interface FlattenStanding {
  /** Epoch ms. */
  readonly startedAt: number;
  /** Tries made so far, its plan included (at least 1). */
  readonly tries: number;
  readonly lastTryAt: number;
  /** The last try's closes are still being decided, placed or filled. */
  readonly inFlight: boolean;
  readonly alerted: boolean;
}

/** How long after try number `tries` the next one may start. */
export function flattenRetryDelayMs(tries: number, policy: FlattenPolicy): number {
  return Math.min(policy.retryFirstMs * 2 ** Math.max(0, tries - 1), Math.max(policy.retryFirstMs, FLATTEN_RETRY_MAX_MS));
}

/**
 * The next step of a flatten that still holds something: try again once the last try has ended
 * and its delay passed (never two tries' closes at once), and alert once past the bound.
 */
export function nextFlattenStep(standing: FlattenStanding, now: number, policy: FlattenPolicy): { readonly retry: boolean; readonly alert: boolean } {
  return {
    retry: !standing.inFlight && now - standing.lastTryAt >= flattenRetryDelayMs(standing.tries, policy),
    alert: !standing.alerted && now - standing.startedAt >= policy.alertAfterMs,
  };
}
