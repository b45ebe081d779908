import type { AgentProfile } from './agents.js';
import type { SymbolSeries } from './baselines/strategies.js';
import { microsToUsd } from './money.js';
import { TradeAction } from './vocabulary.js';

/**
 * What an LLM agent is asked, the same at inference and in its training data: the prompt built
 * from the market context it saw, and the JSON schema its answer must fit.
 */

/** What an agent sees when it decides. */
export interface MarketContext {
  readonly agent: AgentProfile;
  readonly series: readonly SymbolSeries[];
  readonly positions: readonly { readonly symbol: string; readonly quantity: string; readonly side: 'long' | 'short' }[];
  readonly freeMarginMicros: number;
}

const PERSONAS: Record<AgentProfile['strategy'], string> = {
  momentum: 'a momentum trader: you follow established trends and avoid fighting them',
  mean_reversion: 'a mean-reversion trader: you fade stretched moves back toward their recent mean',
  fundamental_sentiment: 'a fundamental and sentiment analyst: you read conviction from price action and volume',
  volatility_forecast: 'a volatility forecaster',
};

/** The prompt asks for one strict JSON object; the parser accepts nothing else. */
export function llmPrompt(context: MarketContext): string {
  const { agent } = context;
  const symbols = context.series.map((s) => s.symbol);
  const market = context.series
    .map((s) => `${s.symbol}: closes ${s.closes.slice(-30).map((c) => c.toFixed(2)).join(', ')}; volumes ${s.volumes.slice(-30).map((v) => v.toFixed(3)).join(', ')}`)
    .join('\n');
  const positions = context.positions.length === 0 ? 'none' : context.positions.map((p) => `${p.side} ${p.quantity} ${p.symbol}`).join(', ');
  return [
    `You are ${agent.displayName}, ${PERSONAS[agent.strategy]}, trading USDⓈ-M perpetual futures.`,
    `Free margin: ${microsToUsd(context.freeMarginMicros)} USD. Maximum leverage: ${agent.maxLeverage}. Open positions: ${positions}.`,
    `Last 30 one-minute candles, oldest first:\n${market}`,
    `Answer with exactly one JSON object and nothing else, no prose, no code fence:`,
    `{"action": "BUY" | "SELL" | "HOLD", "symbol": one of ${JSON.stringify(symbols)}, "size_fraction": share of free margin between 0 and 1, "leverage": integer from 1 to ${agent.maxLeverage}, "confidence": number between 0 and 1, "rationale": one sentence}`,
  ].join('\n');
}

/**
 * The decision's JSON schema for guided decoding: the serving container generates only text
 * that fits it, so a decision is valid by construction (the parser still checks).
 */
export function decisionSchema(context: MarketContext): Record<string, unknown> {
  return {
    type: 'object',
    properties: {
      action: { type: 'string', enum: TradeAction.options },
      symbol: { type: 'string', enum: context.series.map((s) => s.symbol) },
      size_fraction: { type: 'number', minimum: 0, maximum: 1 },
      leverage: { type: 'integer', minimum: 1, maximum: context.agent.maxLeverage },
      confidence: { type: 'number', minimum: 0, maximum: 1 },
      rationale: { type: 'string', maxLength: 200 },
    },
    required: ['action', 'symbol', 'size_fraction', 'leverage', 'confidence', 'rationale'],
    additionalProperties: false,
  };
}
