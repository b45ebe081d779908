import { z } from 'zod';
import { terminalReleaseMicros } from './positions.js';
import { AgentId, Atoms, Leverage, MicroUsd, OrderStatus, Side, Symbol, TerminalStatus } from './vocabulary.js';

/**
 * Sapphire's record of one order (orders/{orderId}): what was asked, what the venue said, what
 * has been applied. Its status is derived from facts, so events arriving in any order agree.
 */

export const OrderRecord = z.object({
  orderId: z.string(),
  signalId: z.string(),
  agentId: AgentId,
  symbol: Symbol,
  side: Side,
  type: z.literal('MARKET'),
  reduceOnly: z.boolean(),
  leverage: Leverage,
  venue: z.string(),
  quantityAtoms: Atoms.positive(),
  /** Margin reserved for the whole order; fills consume it, the terminal event releases the rest. */
  reservedMicros: MicroUsd,
  status: OrderStatus,
  exchangeOrderId: z.string().optional(),
  /** Atoms of the fills applied so far. */
  filledAtoms: Atoms,
  feesMicros: MicroUsd,
  terminalStatus: TerminalStatus.optional(),
  /** The venue's final filled quantity, known from the terminal event. */
  finalFilledAtoms: Atoms.optional(),
  releasedMicros: MicroUsd,
  reason: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** When the venue first acknowledged the order; from the decision until then; the request alone. */
  placedAt: z.string().optional(),
  placementLatencyMs: z.number().int().nonnegative().optional(),
  venueLatencyMs: z.number().int().nonnegative().optional(),
  /** Its signal's expiry: never placed after it. None for orders the venue made. */
  expiresAt: z.string().optional(),
  /**
   * Placements begun: each may have reached the venue, so once it is above 0 the venue is asked
   * about the order before it is sent again.
   */
  placementAttempts: z.number().int().nonnegative().default(0),
  /** Who may place the order now, until when: one placement in flight per order across instances. */
  placementLease: z.object({ holder: z.string(), until: z.string() }).optional(),
});
export type OrderRecord = z.infer<typeof OrderRecord>;

/** A right held by one delivery until a time: an order's placement, a shared account's netting decision. */
export interface StoredLease {
  readonly holder: string;
  /** ISO time. */
  readonly until: string;
}

/** An order's placement lease: the venue client's retries (about 20 s at most) and its asking after an unknown answer, with room. */
export const PLACEMENT_LEASE_MS = 90_000;

/** Whether someone holds `lease` at `now`. */
export function leaseLive(lease: StoredLease | undefined, now: Date): lease is StoredLease {
  return lease !== undefined && Date.parse(lease.until) > now.getTime();
}

/** Whether `lease` holds at `now` for someone other than `holder`. */
export function leaseHeldByOther(lease: StoredLease | undefined, holder: string, now: Date): boolean {
  return leaseLive(lease, now) && lease.holder !== holder;
}

/** A fill's latency: from its order's creation (before it went to the venue) to the fill's booking at `appliedAt`. */
export function fillLatencyMs(order: OrderRecord, appliedAt: Date): number {
  return Math.max(0, appliedAt.getTime() - Date.parse(order.createdAt));
}

export function deriveStatus(order: OrderRecord): OrderStatus {
  if (order.terminalStatus) return order.terminalStatus;
  if (order.filledAtoms >= order.quantityAtoms) return 'filled';
  if (order.filledAtoms > 0) return 'partially_filled';
  return order.exchangeOrderId ? 'open' : 'placing';
}

export interface TerminalResult {
  readonly order: OrderRecord;
  /** Reserved margin returned to the agent by this event. */
  readonly releasedMicros: number;
  /** False when the order already had its terminal event. */
  readonly applied: boolean;
}

/** The order's end: what will never fill gives its reserved margin back, once. */
export function applyTerminal(order: OrderRecord, status: TerminalStatus, finalFilledAtoms: number, reason?: string): TerminalResult {
  if (order.terminalStatus) return { order, releasedMicros: 0, applied: false };
  const releasedMicros = terminalReleaseMicros(order.reservedMicros, order.quantityAtoms, Math.min(finalFilledAtoms, order.quantityAtoms));
  const next: OrderRecord = {
    ...order,
    terminalStatus: status,
    finalFilledAtoms,
    releasedMicros,
    ...(reason ? { reason } : {}),
  };
  return { order: { ...next, status: deriveStatus(next) }, releasedMicros, applied: true };
}

/** What a venue says about an order, whatever the wire format it came in. */
/** How a placement went, as the router that made it measured it. */
export interface PlacementTiming {
  /** From the reservation's decision to the venue's acknowledgement. */
  readonly placementLatencyMs: number;
  /** The placement request alone. */
  readonly venueLatencyMs: number;
}

export interface VenueFacts {
  readonly orderId: string;
  readonly exchangeOrderId?: string;
  /** Known only to the router that placed the order, on the facts of its answer. */
  readonly placement?: PlacementTiming;
  readonly fill?: {
    readonly tradeId: string;
    readonly quantityAtoms: number;
    readonly priceMicros: number;
    readonly feeMicros: number;
    /** A maker rebate credited with the fill. */
    readonly rebateMicros?: number;
    /** Venue time of the trade, epoch ms. */
    readonly time: number;
  };
  readonly terminal?: { readonly status: TerminalStatus; readonly finalFilledAtoms: number; readonly reason?: string };
  /** The order as the sender describes it (a broker's webhook): facts about any other order are refused. */
  readonly describes?: { readonly symbol: string; readonly side: Side; readonly quantityAtoms: number };
}

/** Why facts describing an order other than `order` are not its facts, or undefined when they are. */
export function describedOrderMismatch(order: Pick<OrderRecord, 'orderId' | 'symbol' | 'side' | 'quantityAtoms'>, describes: NonNullable<VenueFacts['describes']>): string | undefined {
  const differs = (['symbol', 'side', 'quantityAtoms'] as const).filter((field) => describes[field] !== order[field]);
  if (differs.length === 0) return undefined;
  return `an update for order ${order.orderId} describes another order: ${differs.map((f) => `${f} ${describes[f]}, not ${order[f]}`).join('; ')}`;
}
