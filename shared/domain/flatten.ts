import { createHash } from 'node:crypto';
import type { AgentProfile } from './agents.js';
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

export function flattenSignalId(flattenId: string, agentId: string, symbol: string): string {
  return `flat-${createHash('sha256').update(`${flattenId}|${agentId}|${symbol}`).digest('hex').slice(0, 40)}`;
}

export function flattenSignals(
  flattenId: string,
  positions: readonly HeldPosition[],
  options: { readonly now: Date; readonly ttlMs: number; readonly requestedBy: string },
): TradeSignalInput[] {
  return positions
    .filter((p) => p.quantityAtoms !== 0 && p.averageEntryMicros > 0)
    .map((p) => ({
      signalId: flattenSignalId(flattenId, p.agentId, p.symbol),
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
      .filter((p) => (halt.scope === PORTFOLIO_SCOPE ? p.flatten?.onPortfolioHalt : p.agentId === halt.scope && p.flatten?.onAgentHalt))
      .map((p) => p.agentId);
    return agentIds.length > 0 ? [{ flattenId: `halt-${halt.episodeId}`, agentIds, reason: `halted: ${halt.reason}` }] : [];
  });
}
