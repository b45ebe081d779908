import type { AgentProfile } from '../domain/agents.js';
import { type AgentDecision, PriceForecast, forecastDecision, hold, mostConfident, parseLlmDecision } from '../domain/agent-decision.js';
import { ROUND_TRIP_FEE_FRACTION, type SymbolSeries, baselineDecision } from '../domain/baselines/strategies.js';
import { microsToUsd } from '../domain/money.js';
import type { VertexPredictor } from '../vertex/predictor.js';

/** What an agent sees when it decides. */
export interface MarketContext {
  readonly agent: AgentProfile;
  readonly series: readonly SymbolSeries[];
  readonly positions: readonly { readonly symbol: string; readonly quantity: string; readonly side: 'long' | 'short' }[];
  readonly freeMarginMicros: number;
}

/**
 * One agent's model. `decide` answers a decision, a HOLD when the model's answer is not
 * usable, and throws only when the model could not be reached (PredictionUnavailable).
 */
export interface AgentModel {
  readonly name: string;
  decide(context: MarketContext): Promise<AgentDecision>;
}

export class BaselineModel implements AgentModel {
  readonly name = 'local-baseline';

  async decide(context: MarketContext): Promise<AgentDecision> {
    return baselineDecision(context.agent, context.series);
  }
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

/** An LLM agent served by Vertex's vLLM container: a prompt in, generated text out. */
export class VertexLlmModel implements AgentModel {
  readonly name: string;

  constructor(
    private readonly predictor: VertexPredictor,
    private readonly endpoint: string,
    private readonly timeoutMs: number,
  ) {
    this.name = `vertex:${endpoint}`;
  }

  async decide(context: MarketContext): Promise<AgentDecision> {
    const [prediction] = await this.predictor.predict(
      this.endpoint,
      [{ prompt: llmPrompt(context), max_tokens: 256, temperature: 0, raw_response: true }],
      this.timeoutMs,
    );
    if (typeof prediction !== 'string') return hold(`invalid answer: expected generated text, got ${JSON.stringify(prediction)?.slice(0, 80)}`);
    return parseLlmDecision(prediction, context.agent, context.series.map((s) => s.symbol));
  }
}

/** Lag-Llama on a custom container: a price series in, quantile paths out. */
export class VertexForecastModel implements AgentModel {
  readonly name: string;

  constructor(
    private readonly predictor: VertexPredictor,
    private readonly endpoint: string,
    private readonly timeoutMs: number,
    private readonly horizon = 15,
  ) {
    this.name = `vertex:${endpoint}`;
  }

  async decide(context: MarketContext): Promise<AgentDecision> {
    const usable = context.series.filter((s) => s.closes.length >= 32);
    if (usable.length === 0) return hold('no price series long enough to forecast');
    const predictions = await this.predictor.predict(
      this.endpoint,
      usable.map((s) => ({ series: s.closes.slice(-256), prediction_length: this.horizon, freq: '1min' })),
      this.timeoutMs,
    );
    const decisions = usable.map((s, i) => {
      const forecast = PriceForecast.safeParse(predictions[i]);
      if (!forecast.success) return hold(`invalid forecast for ${s.symbol}: ${forecast.error.issues.map((x) => `${x.path.join('.')} ${x.message}`).join('; ')}`);
      return forecastDecision(s.symbol, s.closes.at(-1) as number, forecast.data, {
        roundTripFeeFraction: ROUND_TRIP_FEE_FRACTION,
        leverage: Math.min(5, context.agent.maxLeverage),
      });
    });
    return mostConfident(decisions);
  }
}
