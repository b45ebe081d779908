import { z } from 'zod';
import type { AgentProfile } from './agents.js';
import { type Side, TradeAction } from './vocabulary.js';

/**
 * What an agent's model decides, whatever the model: a trade it wants, or HOLD with the reason.
 * Anything a model says that does not validate is a HOLD, never a trade.
 */

export type AgentDecision =
  | {
      readonly action: Side;
      readonly symbol: string;
      /** Share of the agent's free margin to commit, (0, 1]. */
      readonly sizeFraction: number;
      readonly leverage: number;
      readonly confidence: number;
      readonly rationale: string;
    }
  | { readonly action: 'HOLD'; readonly reason: string };

export function hold(reason: string): AgentDecision {
  return { action: 'HOLD', reason };
}

/** Of several decisions (one per symbol), the most confident trade; else the holds' reasons. */
export function mostConfident(decisions: readonly AgentDecision[]): AgentDecision {
  const trades = decisions.filter((d): d is Extract<AgentDecision, { action: Side }> => d.action !== 'HOLD');
  if (trades.length === 0) return hold(decisions.map((d) => (d.action === 'HOLD' ? d.reason : '')).join('; ') || 'nothing to decide on');
  return trades.reduce((best, d) => (d.confidence > best.confidence ? d : best));
}

/** The strict JSON an LLM agent must answer with (snake_case, as the prompt asks). */
export const LlmDecision = z
  .object({
    action: TradeAction,
    symbol: z.string(),
    size_fraction: z.number().min(0).max(1),
    leverage: z.number().int().min(1),
    confidence: z.number().min(0).max(1),
    rationale: z.string().max(2_000),
  })
  .strict();

/**
 * Parses an LLM's answer. The answer must be the JSON object alone: prose around it means the
 * model did not follow the format, and a model that does not follow the format does not trade.
 */
export function parseLlmDecision(text: string, agent: AgentProfile, symbols: readonly string[]): AgentDecision {
  let json: unknown;
  try {
    json = JSON.parse(text.trim());
  } catch {
    return hold(`unparseable answer: not a JSON object alone (${JSON.stringify(text.slice(0, 80))})`);
  }
  const parsed = LlmDecision.safeParse(json);
  if (!parsed.success) {
    return hold(`invalid answer: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`);
  }
  const d = parsed.data;
  if (d.action === 'HOLD') return hold(`model holds: ${d.rationale.slice(0, 200)}`);
  if (!symbols.includes(d.symbol)) return hold(`invalid answer: symbol ${d.symbol} is not one the agent was given`);
  if (d.leverage > agent.maxLeverage) return hold(`invalid answer: leverage ${d.leverage} above the agent's ${agent.maxLeverage}`);
  if (d.size_fraction <= 0) return hold('invalid answer: size_fraction must be above 0 to trade');
  return { action: d.action, symbol: d.symbol, sizeFraction: d.size_fraction, leverage: d.leverage, confidence: d.confidence, rationale: d.rationale };
}

/** A probabilistic price forecast for a horizon: 10th, 50th and 90th percentile paths. */
export const PriceForecast = z
  .object({
    p10: z.array(z.number().positive()).min(1),
    p50: z.array(z.number().positive()).min(1),
    p90: z.array(z.number().positive()).min(1),
  })
  .refine((f) => f.p10.length === f.p50.length && f.p50.length === f.p90.length, 'quantile paths must have one length')
  .refine((f) => f.p10.every((v, i) => v <= (f.p50[i] as number) && (f.p50[i] as number) <= (f.p90[i] as number)), 'quantiles must be ordered p10 ≤ p50 ≤ p90');
export type PriceForecast = z.infer<typeof PriceForecast>;

export interface ForecastPolicy {
  /** Round-trip trading cost as a fraction of notional (taker in and out: 0.001). */
  readonly roundTripFeeFraction: number;
  readonly leverage: number;
}

/**
 * A forecast becomes a trade only when the expected move at the horizon beats the fees and the
 * whole 10–90% band sits on the winning side of the entry plus fees: the forecast has to be
 * both big enough and sure enough.
 */
export function forecastDecision(symbol: string, lastPrice: number, forecast: PriceForecast, policy: ForecastPolicy): AgentDecision {
  const h = forecast.p50.length - 1;
  const p10 = forecast.p10[h] as number;
  const p50 = forecast.p50[h] as number;
  const p90 = forecast.p90[h] as number;
  const move = (p50 - lastPrice) / lastPrice;
  const fee = policy.roundTripFeeFraction;
  const band = (p90 - p10) / lastPrice;
  const rationale = `forecast median ${(move * 100).toFixed(3)}% at the horizon, 10–90% band ${(band * 100).toFixed(3)}% wide, fees ${(fee * 100).toFixed(3)}%`;
  if (Math.abs(move) <= fee) return hold(`expected move does not beat fees: ${rationale}`);
  const longClear = p10 > lastPrice * (1 + fee);
  const shortClear = p90 < lastPrice * (1 - fee);
  if (!longClear && !shortClear) return hold(`uncertainty band straddles the entry: ${rationale}`);
  const confidence = Math.min(1, (Math.abs(move) - fee) / Math.max(band, 1e-9) + 0.5);
  return { action: longClear ? 'BUY' : 'SELL', symbol, sizeFraction: 0.5, leverage: policy.leverage, confidence, rationale };
}
