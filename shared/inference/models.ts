import { type MarketContext, decisionSchema, llmPrompt } from '../domain/agent-prompt.js';
import { type AgentDecision, PriceForecast, forecastDecision, hold, mostConfident, parseLlmDecision } from '../domain/agent-decision.js';
import { ROUND_TRIP_FEE_FRACTION, baselineDecision } from '../domain/baselines/strategies.js';
import type { VertexPredictor } from '../vertex/predictor.js';

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

/**
 * An LLM agent served by Sapphire's llm-serving container (vLLM): a prompt and the decision's
 * JSON schema in, generated text out; the server decodes within the schema.
 */
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
      [{ prompt: llmPrompt(context), max_tokens: 256, temperature: 0, raw_response: true, response_schema: decisionSchema(context) }],
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
