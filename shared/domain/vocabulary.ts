import { z } from 'zod';
import { DECIMAL_PATTERN, SIGNED_DECIMAL_PATTERN } from './decimal.js';

/**
 * The trading nouns every message, record and venue adapter speaks, each defined once. Money is
 * integer micro-USD (`money.ts` converts it exactly), quantities are decimal strings at the
 * edges and integer atoms inside (`quantity.ts`).
 */

/**
 * Guardrails apply per scope: each agent, and the whole portfolio. The portfolio's scope id
 * shares the namespace of agent ids, so no agent may take it.
 */
export const PORTFOLIO_SCOPE = 'portfolio';

export const AgentId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lower-case letters, digits and dashes, 2 to 63 characters')
  .refine((id) => id !== PORTFOLIO_SCOPE, `"${PORTFOLIO_SCOPE}" names the whole portfolio, not an agent`);
export type AgentId = z.infer<typeof AgentId>;

export const Symbol = z.string().regex(/^[A-Z0-9]{2,20}$/, 'an exchange symbol such as BTCUSDT');

/** Which way an order trades. */
export const Side = z.enum(['BUY', 'SELL']);
export type Side = z.infer<typeof Side>;

/** What an agent may decide: trade one way, or not at all. */
export const TradeAction = z.enum([...Side.options, 'HOLD']);
export type TradeAction = z.infer<typeof TradeAction>;

/** Where an order stands; the last four are terminal. */
export const OrderStatus = z.enum(['placing', 'open', 'partially_filled', 'filled', 'canceled', 'rejected', 'expired']);
export type OrderStatus = z.infer<typeof OrderStatus>;
export const TerminalStatus = OrderStatus.extract(['filled', 'canceled', 'rejected', 'expired']);
export type TerminalStatus = z.infer<typeof TerminalStatus>;

/** A point in time as ISO 8601 with its offset, the one way times travel in messages. */
export const IsoTime = z.iso.datetime({ offset: true });

/** Leverage as venues accept it: a whole number from 1 to 125. */
export const Leverage = z.number().int().min(1).max(125);

/** An amount of micro-USD that cannot be negative (margin, fees, notional). */
export const MicroUsd = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** A signed amount of micro-USD: PnL, funding, equity. */
export const SignedMicroUsd = z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);
/** A price or size in micro-USD, above zero. */
export const PositiveMicroUsd = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
/** A count of quantity atoms (1e-8 of the base asset). */
export const Atoms = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** A non-negative decimal string such as "0.015"; `what` completes the error message. */
export function decimalString(what = 'a non-negative decimal such as "0.015"', maxLength = 64) {
  return z.string().max(maxLength).regex(DECIMAL_PATTERN, what);
}

/** A decimal string that may be negative, as venues send some figures. */
export function signedDecimalString(what = 'a decimal string such as "-0.01548949"') {
  return z.string().max(64).regex(SIGNED_DECIMAL_PATTERN, what);
}

/** An agent, or the whole portfolio. */
export const RiskScope = z.union([AgentId, z.literal(PORTFOLIO_SCOPE)]);
export type RiskScope = z.infer<typeof RiskScope>;
