/** Indicator arithmetic for the baselines. Prices here are model features, not money. */

export function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / Math.max(values.length, 1);
}

export function stdev(values: readonly number[]): number {
  const m = mean(values);
  return Math.sqrt(mean(values.map((v) => (v - m) ** 2)));
}

/** Exponential moving average over the whole series, seeded with the first value. */
export function ema(values: readonly number[], period: number): number {
  const k = 2 / (period + 1);
  return values.reduce((acc, v, i) => (i === 0 ? v : v * k + acc * (1 - k)), 0);
}

export function logReturns(closes: readonly number[]): number[] {
  return closes.slice(1).map((c, i) => Math.log(c / (closes[i] as number)));
}

/** RiskMetrics-style EWMA variance of returns (λ = 0.94). */
export function ewmaVariance(returns: readonly number[], lambda = 0.94): number {
  return returns.reduce((v, r, i) => (i === 0 ? r * r : lambda * v + (1 - lambda) * r * r), 0);
}
