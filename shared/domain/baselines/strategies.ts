import type { AgentProfile } from '../agents.js';
import { type AgentDecision, type PriceForecast, forecastDecision, hold, mostConfident } from '../agent-decision.js';
import { ema, ewmaVariance, logReturns, mean, stdev } from './indicators.js';

/**
 * Local baselines, one per agent specialty, used when ENABLE_VERTEX_AI=false. They are honest
 * rule-based stand-ins behind the same interface as the Vertex models, not the models
 * themselves: momentum (DeepSeek), mean reversion (Qwen), a sentiment proxy from price and
 * volume (FinGPT) and a statistical volatility forecaster with quantiles (Lag-Llama).
 */

export interface SymbolSeries {
  readonly symbol: string;
  /** One-minute closes and volumes, oldest first. */
  readonly closes: readonly number[];
  readonly volumes: readonly number[];
}

const Z90 = 1.2815515655446004; // standard normal 90th percentile
/** Taker fee in and out (0.05% each way). */
export const ROUND_TRIP_FEE_FRACTION = 0.001;

/** Momentum: a fast EMA above a slow one and a positive 30-minute return: follow it. */
export function momentumBaseline(series: SymbolSeries, agent: AgentProfile): AgentDecision {
  const closes = series.closes;
  if (closes.length < 30) return hold(`momentum needs 30 candles of ${series.symbol}, has ${closes.length}`);
  const fast = ema(closes.slice(-30), 10);
  const slow = ema(closes.slice(-30), 30);
  const ret = (closes.at(-1) as number) / (closes.at(-30) as number) - 1;
  const leverage = Math.min(3, agent.maxLeverage);
  const rationale = `EMA10 ${fast.toFixed(2)} vs EMA30 ${slow.toFixed(2)}, 30-minute return ${(ret * 100).toFixed(3)}%`;
  if (fast > slow && ret > 0.002) return { action: 'BUY', symbol: series.symbol, sizeFraction: 0.5, leverage, confidence: Math.min(1, ret / 0.01), rationale };
  if (fast < slow && ret < -0.002) return { action: 'SELL', symbol: series.symbol, sizeFraction: 0.5, leverage, confidence: Math.min(1, -ret / 0.01), rationale };
  return hold(`no trend: ${rationale}`);
}

/** Mean reversion: a close two standard deviations from its 60-minute mean: fade it. */
export function meanReversionBaseline(series: SymbolSeries, agent: AgentProfile): AgentDecision {
  const window = series.closes.slice(-60);
  if (window.length < 30) return hold(`mean reversion needs 30 candles of ${series.symbol}, has ${window.length}`);
  const sd = stdev(window);
  const last = window.at(-1) as number;
  const z = sd === 0 ? 0 : (last - mean(window)) / sd;
  const leverage = Math.min(2, agent.maxLeverage);
  const rationale = `last close ${z.toFixed(2)} standard deviations from its 60-minute mean`;
  const confidence = Math.min(1, (Math.abs(z) - 2) / 2 + 0.5);
  if (z <= -2) return { action: 'BUY', symbol: series.symbol, sizeFraction: 0.4, leverage, confidence, rationale };
  if (z >= 2) return { action: 'SELL', symbol: series.symbol, sizeFraction: 0.4, leverage, confidence, rationale };
  return hold(`within the band: ${rationale}`);
}

/** Sentiment proxy: a 10-minute move on volume well above its norm reads as conviction. */
export function sentimentProxyBaseline(series: SymbolSeries, agent: AgentProfile): AgentDecision {
  const { closes, volumes } = series;
  if (closes.length < 60 || volumes.length < 60) return hold(`sentiment proxy needs 60 candles of ${series.symbol}`);
  const ret = (closes.at(-1) as number) / (closes.at(-11) as number) - 1;
  const baseline = mean(volumes.slice(-60, -10));
  const surge = baseline > 0 ? mean(volumes.slice(-10)) / baseline : 0;
  const leverage = Math.min(2, agent.maxLeverage);
  const rationale = `10-minute return ${(ret * 100).toFixed(3)}% on ${surge.toFixed(2)}× usual volume`;
  const confidence = Math.min(1, (Math.abs(ret) * Math.min(surge, 5)) / 0.02);
  if (surge > 1.5 && ret > 0.003) return { action: 'BUY', symbol: series.symbol, sizeFraction: 0.3, leverage, confidence, rationale };
  if (surge > 1.5 && ret < -0.003) return { action: 'SELL', symbol: series.symbol, sizeFraction: 0.3, leverage, confidence, rationale };
  return hold(`no conviction: ${rationale}`);
}

/**
 * A statistical forecaster: drift from the mean log return of the last hour, volatility from an
 * EWMA of the last two hours' returns, log-normal quantile paths for the next `horizon` minutes.
 */
export function volatilityForecast(closes: readonly number[], horizon = 15): PriceForecast {
  const returns = logReturns(closes.slice(-121));
  const drift = mean(returns.slice(-60));
  const sigma = Math.sqrt(ewmaVariance(returns));
  const last = closes.at(-1) as number;
  const steps = Array.from({ length: horizon }, (_, i) => i + 1);
  return {
    p10: steps.map((t) => last * Math.exp(drift * t - Z90 * sigma * Math.sqrt(t))),
    p50: steps.map((t) => last * Math.exp(drift * t)),
    p90: steps.map((t) => last * Math.exp(drift * t + Z90 * sigma * Math.sqrt(t))),
  };
}

export function volatilityBaseline(series: SymbolSeries, agent: AgentProfile): AgentDecision {
  if (series.closes.length < 61) return hold(`the forecaster needs 61 candles of ${series.symbol}, has ${series.closes.length}`);
  const forecast = volatilityForecast(series.closes);
  return forecastDecision(series.symbol, series.closes.at(-1) as number, forecast, {
    roundTripFeeFraction: ROUND_TRIP_FEE_FRACTION,
    leverage: Math.min(5, agent.maxLeverage),
  });
}

const BY_STRATEGY: Record<AgentProfile['strategy'], (series: SymbolSeries, agent: AgentProfile) => AgentDecision> = {
  momentum: momentumBaseline,
  mean_reversion: meanReversionBaseline,
  fundamental_sentiment: sentimentProxyBaseline,
  volatility_forecast: volatilityBaseline,
};

/** The agent's baseline over all its symbols: the most confident trade, or HOLD. */
export function baselineDecision(agent: AgentProfile, series: readonly SymbolSeries[]): AgentDecision {
  return mostConfident(series.map((s) => BY_STRATEGY[agent.strategy](s, agent)));
}
