import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DECIMAL_PATTERN } from './decimal.js';
import { USD, notionalMicros } from './money.js';
import { AgentId, IsoTime, Leverage, MicroUsd, OrderStatus, PositiveMicroUsd, Side, Symbol, decimalString } from './vocabulary.js';

/**
 * Every message Sapphire passes between functions, defined once; types are inferred.
 * Money fields are integer micro-USD and say so in their names.
 */

/** Business keys travel in URLs, document ids and exchange client ids: keep them tame. */
export const BusinessKey = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'letters, digits and . _ : - only, 1 to 128 characters');


/**
 * The largest notional a signal may ask for: 1 billion USD. Far above any agent's limit, and far
 * below 2^53 micro-USD, so every product the margin rules take of it stays exact.
 */
export const MAX_SIGNAL_NOTIONAL_MICROS = 1_000_000_000 * USD;
/** Times from outside are range-checked: a signal that stayed actionable for years is a bug or an attack. */
export const MAX_SIGNAL_LIFETIME_MS = 24 * 3_600_000;
const SIGNAL_ERA = /^20\d\d-/;

/** The quantity × price notional, or undefined when it is beyond MAX_SIGNAL_NOTIONAL_MICROS. */
export function boundedNotionalMicros(quantity: string, priceMicros: number): number | undefined {
  try {
    const notional = notionalMicros(quantity, priceMicros);
    return notional <= MAX_SIGNAL_NOTIONAL_MICROS ? notional : undefined;
  } catch {
    return undefined; // beyond 2^53: certainly beyond the bound
  }
}

export const SignalSize = z.discriminatedUnion('type', [
  z.object({ type: z.literal('notional'), notionalMicros: PositiveMicroUsd.max(MAX_SIGNAL_NOTIONAL_MICROS) }).strict(),
  z
    .object({
      type: z.literal('quantity'),
      quantity: decimalString('a positive decimal such as "0.015"', 40).refine((q) => /[1-9]/.test(q), 'must be above zero'),
      /** Reference price used to turn the quantity into a notional for margin. */
      priceMicros: PositiveMicroUsd,
    })
    .strict()
    .refine((size) => !DECIMAL_PATTERN.test(size.quantity) || boundedNotionalMicros(size.quantity, size.priceMicros) !== undefined, {
      message: `quantity × priceMicros must be at most ${MAX_SIGNAL_NOTIONAL_MICROS / USD} USD`,
      path: ['quantity'],
    }),
]);
export type SignalSize = z.infer<typeof SignalSize>;

/** What a signal asks for and its order carries on: who trades what, which way, how much, at what leverage. */
const TRADE_TERMS = {
  signalId: BusinessKey,
  agentId: AgentId,
  symbol: Symbol,
  side: Side,
  size: SignalSize,
  leverage: Leverage,
};

export const TradeSignal = z
  .object({
    ...TRADE_TERMS,
    confidence: z.number().min(0).max(1),
    /** Who produced it: `agent:<id>`, `webhook:<name>`, `tradingview:<source>`. */
    source: z.string().min(1).max(100),
    /** Only closes or shrinks a position: needs no margin and passes a trading halt. */
    reduceOnly: z.boolean().default(false),
    createdAt: IsoTime,
    expiresAt: IsoTime,
    /** When Sapphire accepted it: stamped by intake (whatever a producer wrote), the start of its decision latency. */
    receivedAt: IsoTime.optional(),
  })
  .strict()
  .refine((s) => Date.parse(s.expiresAt) > Date.parse(s.createdAt), {
    message: 'expiresAt must be after createdAt',
    path: ['expiresAt'],
  })
  .refine((s) => Date.parse(s.expiresAt) - Date.parse(s.createdAt) <= MAX_SIGNAL_LIFETIME_MS, {
    message: 'a signal lives at most 24 hours: expiresAt must be within 24 h of createdAt',
    path: ['expiresAt'],
  })
  .refine((s) => SIGNAL_ERA.test(s.createdAt), { message: 'createdAt must be in the years 2000–2099', path: ['createdAt'] });
export type TradeSignal = z.infer<typeof TradeSignal>;

/** How far a producer's clock may run ahead of Sapphire's. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** Why a signal cannot have been created yet at `now`, if it cannot. */
export function createdAheadOf(signal: Pick<TradeSignal, 'createdAt'>, now: Date): string | undefined {
  return Date.parse(signal.createdAt) > now.getTime() + MAX_CLOCK_SKEW_MS ? 'is more than 5 minutes in the future' : undefined;
}
/** What a producer writes; `reduceOnly` may be left out. */
export type TradeSignalInput = z.input<typeof TradeSignal>;

export const OrderRequest = z
  .object({
    orderId: BusinessKey,
    ...TRADE_TERMS,
    type: z.literal('MARKET'),
    reduceOnly: z.boolean(),
    notionalMicros: MicroUsd,
    marginMicros: MicroUsd,
    createdAt: IsoTime,
    /** The signal's expiry: the order is never placed after it. */
    expiresAt: IsoTime,
  })
  .strict();
export type OrderRequest = z.infer<typeof OrderRequest>;

export const RejectionReason = z.enum([
  'unknown_agent',
  'signal_expired',
  'trading_halted',
  'trading_reducing',
  'leverage_exceeded',
  'position_size_out_of_range',
  'symbol_not_allowed',
  'max_symbols_exceeded',
  'agent_margin_exceeded',
]);
export type RejectionReason = z.infer<typeof RejectionReason>;

export const RiskEvent = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('order_rejected'),
      eventId: BusinessKey,
      orderId: BusinessKey,
      signalId: BusinessKey,
      agentId: z.string(),
      symbol: z.string(),
      /** An ExchangeRejectReason, or a sizing reason found before sending. */
      reason: z.string(),
      detail: z.string(),
      occurredAt: IsoTime,
    })
    .strict(),
  z
    .object({
      type: z.literal('signal_rejected'),
      /** Consumers dedupe on this key. */
      eventId: BusinessKey,
      signalId: BusinessKey,
      agentId: z.string(),
      symbol: z.string(),
      reason: RejectionReason,
      detail: z.string(),
      occurredAt: IsoTime,
    })
    .strict(),
]);
export type RiskEvent = z.infer<typeof RiskEvent>;

/** Published to `order-updates` after a venue fact changed an order, its position and margin. */
export const OrderUpdateApplied = z
  .object({
    orderId: BusinessKey,
    agentId: z.string(),
    symbol: z.string(),
    status: OrderStatus,
    filledQuantity: z.string(),
    /** The fill this update applied, if any. */
    tradeId: z.string().optional(),
    positionQuantity: z.string(),
    occurredAt: IsoTime,
  })
  .strict();
export type OrderUpdateApplied = z.infer<typeof OrderUpdateApplied>;

/** How loud an alert is: `critical` halts or pages, `warning` informs. */
export const AlertSeverity = z.enum(['warning', 'critical']);
export type AlertSeverity = z.infer<typeof AlertSeverity>;

/** One alert episode transition, published to `alerts`; consumers dedupe on (episodeId, transition). */
export const AlertMessage = z
  .object({
    episodeId: z.string().min(1).max(300),
    transition: z.enum(['open', 'resolve']),
    key: z.string(),
    /** risk_limits_breached_total's limit_type, or the monitoring policy. */
    limitType: z.string(),
    scope: z.string(),
    severity: AlertSeverity,
    message: z.string(),
    value: z.number().optional(),
    threshold: z.number().optional(),
    source: z.enum(['drawdown-evaluator', 'cloud-monitoring', 'training', 'reconciler']),
    openedAt: IsoTime,
    resolvedAt: IsoTime.optional(),
  })
  .strict();
export type AlertMessage = z.infer<typeof AlertMessage>;

/**
 * The order id is a pure function of the signal id, so every retry of every step names the
 * same order. 'sph-' + 32 hex characters = 36, the longest client order id Binance accepts.
 */
/**
 * A digest of what a signal asks to trade: agent, symbol, side, size, leverage, reduce-only. A
 * redelivery of the same signalId must carry the same; one that does not is a conflict, refused.
 * (Confidence, source and the timestamps are not terms: a producer's resend may restamp them.)
 */
export function signalTermsDigest(signal: Pick<TradeSignal, 'agentId' | 'symbol' | 'side' | 'size' | 'leverage' | 'reduceOnly'>): string {
  const terms = [signal.agentId, signal.symbol, signal.side, JSON.stringify(signal.size, Object.keys(signal.size).sort()), signal.leverage, signal.reduceOnly];
  return createHash('sha256').update(JSON.stringify(terms)).digest('hex').slice(0, 32);
}

export function orderIdForSignal(signalId: string): string {
  return `sph-${createHash('sha256').update(signalId).digest('hex').slice(0, 32)}`;
}
