import { createHash } from 'node:crypto';
import { liquidationPriceMicros } from './liquidation.js';
import type { PositionState } from './positions.js';
import { ATOMS_PER_UNIT } from './quantity.js';
import type { Side } from './vocabulary.js';

/**
 * A protective stop rests at the venue for every open position of an agent on its own account:
 * a STOP_MARKET that closes the whole position (closePosition) when the mark reaches the price at
 * which the position's loss from its entry would reach the agent's stop budget (its allocation ×
 * the agent drawdown halt fraction) — or one tick before its liquidation price, if that comes
 * first. It works when every Sapphire function is down: the venue fires it. Each position state
 * has its own client algo id, so a changed position means a new stop and the old one cancelled.
 */

/** Client algo ids of protective stops; the order a fired stop becomes carries the same id. */
export const PROTECTIVE_STOP_ID = /^sps-[0-9a-f]{32}$/;

/** The stop of one state of a position (its last fill), ≤ 36 characters as Binance requires. */
export function protectiveStopId(agentId: string, symbol: string, lastFillKey: string): string {
  return `sps-${createHash('sha256').update(`${agentId}|${symbol}|${lastFillKey}`).digest('hex').slice(0, 32)}`;
}

/** A stop at the venue: the one wanted, or one resting there. */
export interface StopOrder {
  readonly clientAlgoId: string;
  readonly symbol: string;
  /** The closing side: SELL for a long. */
  readonly side: Side;
  readonly triggerMicros: number;
}

/** A stop fires once the mark has reached its trigger: a SELL stop (closing a long) at or below it, a BUY stop at or above. */
export function stopReached(stop: Pick<StopOrder, 'side' | 'triggerMicros'>, markMicros: number): boolean {
  return stop.side === 'SELL' ? markMicros <= stop.triggerMicros : markMicros >= stop.triggerMicros;
}

/** The stop a position wants; undefined when flat. */
export function wantedStop(agentId: string, symbol: string, position: PositionState, lossBudgetMicros: number, tickMicros: number): StopOrder | undefined {
  const held = Math.abs(position.quantityAtoms);
  if (held === 0) return undefined;
  const long = position.quantityAtoms > 0;
  // The loss q·|E − P| reaches the budget at P = (cost ∓ budget·units) / q.
  const cost = BigInt(position.costBasis);
  const budget = BigInt(lossBudgetMicros) * BigInt(ATOMS_PER_UNIT);
  const atBudget = long ? ceilTo((cost - budget + BigInt(held) - 1n) / BigInt(held), tickMicros) : floorTo((cost + budget) / BigInt(held), tickMicros);
  const liquidation = liquidationPriceMicros(position);
  let trigger = atBudget;
  if (liquidation !== undefined) trigger = long ? Math.max(trigger, ceilTo(BigInt(liquidation), tickMicros) + tickMicros) : Math.min(trigger, floorTo(BigInt(liquidation), tickMicros) - tickMicros);
  return { clientAlgoId: protectiveStopId(agentId, symbol, position.lastFillKey), symbol, side: long ? 'SELL' : 'BUY', triggerMicros: Math.max(trigger, tickMicros) };
}

/** What to do at the venue for one symbol: cancel every resting stop but the wanted one, then place it if it is not there. */
export function stopChanges(wanted: StopOrder | undefined, resting: readonly StopOrder[]): { readonly place?: StopOrder; readonly cancel: readonly string[] } {
  const cancel = resting.filter((s) => s.clientAlgoId !== wanted?.clientAlgoId).map((s) => s.clientAlgoId);
  const there = wanted !== undefined && resting.some((s) => s.clientAlgoId === wanted.clientAlgoId);
  return wanted && !there ? { place: wanted, cancel } : { cancel };
}

function ceilTo(price: bigint, tick: number): number {
  const t = BigInt(tick);
  const p = price < 0n ? 0n : price;
  return Number(((p + t - 1n) / t) * t);
}

function floorTo(price: bigint, tick: number): number {
  const t = BigInt(tick);
  return Number((price / t) * t);
}
