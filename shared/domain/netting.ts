import type { Side } from './vocabulary.js';

/**
 * Agents sharing one venue account: the venue holds one net position per symbol, so an order that
 * would leave an agent holding the opposite way of another agent there would net them (and a
 * reduce-only close could close the other's). Pure: the router gives it what each agent holds.
 */

/** An order not yet ended: its unfilled part is exposure already on its way to the venue. */
export interface OrderInFlight {
  readonly orderId: string;
  readonly agentId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly quantityAtoms: number;
  readonly filledAtoms: number;
}

/** Each agent's signed atoms in `symbol`: its position plus the unfilled part of its orders in flight (all but `exceptOrderId`). */
export function exposureBySymbol(
  symbol: string,
  positions: readonly { readonly agentId: string; readonly quantityAtoms: number }[],
  inFlight: readonly OrderInFlight[],
  exceptOrderId: string,
): Map<string, number> {
  const held = new Map(positions.map((p) => [p.agentId, p.quantityAtoms]));
  for (const order of inFlight) {
    if (order.symbol !== symbol || order.orderId === exceptOrderId) continue;
    const unfilled = order.quantityAtoms - order.filledAtoms;
    held.set(order.agentId, (held.get(order.agentId) ?? 0) + (order.side === 'BUY' ? unfilled : -unfilled));
  }
  return held;
}

/**
 * The agent another would net against if `agentId` traded `side` `quantityAtoms`, or undefined:
 * shrinking one's own exposure is always allowed, and so is any order nobody holds against.
 */
export function nettingCounterparty(held: ReadonlyMap<string, number>, agentId: string, side: Side, quantityAtoms: number, shares: (other: string) => boolean): string | undefined {
  const mine = held.get(agentId) ?? 0;
  const after = mine + (side === 'BUY' ? quantityAtoms : -quantityAtoms);
  if (Math.abs(after) <= Math.abs(mine) && Math.sign(after) !== -Math.sign(mine)) return undefined;
  return [...held].find(([other, atoms]) => shares(other) && atoms !== 0 && Math.sign(atoms) === -Math.sign(after))?.[0];
}
