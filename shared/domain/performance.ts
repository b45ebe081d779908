/**
 * Performance statistics of an equity curve: daily returns, Sharpe and Sortino ratios, and the
 * win rate of closing trades (drawdown is the risk rules', shared/domain/risk.ts). Equity is
 * integer micro-USD; returns and ratios are plain fractions.
 */

/** Crypto trades every day of the year, so daily figures annualize with √365, not √252. */
const ANNUALIZATION = Math.sqrt(365);

/**
 * Simple day-over-day returns: the first day against the start equity, each next day against the
 * day before. A day starting at zero or negative equity has no defined return and is skipped.
 */
export function dailyReturns(dayEndEquityMicros: readonly number[], startEquityMicros: number): number[] {
  const returns: number[] = [];
  let previous = startEquityMicros;
  for (const equity of dayEndEquityMicros) {
    if (previous > 0) returns.push((equity - previous) / previous);
    previous = equity;
  }
  return returns;
}

/** Annualized mean daily return over its sample standard deviation; null under two returns or without variation. */
export function sharpeRatio(returns: readonly number[]): number | null {
  if (returns.length < 2) return null;
  // Deviations are taken from the first return, so identical returns give exactly zero variance
  // rather than a rounding residue that would make the ratio explode.
  const first = returns[0] as number;
  const shifted = returns.map((r) => r - first);
  const shiftedMean = mean(shifted);
  const variance = shifted.reduce((sum, d) => sum + (d - shiftedMean) ** 2, 0) / (returns.length - 1);
  return ratio(first + shiftedMean, Math.sqrt(variance));
}

/**
 * Annualized mean daily return over the downside deviation (root mean square of min(0, r) over all
 * returns): only losing days count as risk. Null under two returns or without a losing day.
 */
export function sortinoRatio(returns: readonly number[]): number | null {
  if (returns.length < 2) return null;
  const downside = Math.sqrt(returns.reduce((sum, r) => sum + Math.min(0, r) ** 2, 0) / returns.length);
  return ratio(mean(returns), downside);
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

function ratio(meanReturn: number, deviation: number): number | null {
  return deviation > 0 ? (meanReturn / deviation) * ANNUALIZATION : null;
}

/** Share of closing fills that made money net of their fee; null without any closing fill. */
export function winRate(closingNetPnlMicros: readonly number[]): number | null {
  if (closingNetPnlMicros.length === 0) return null;
  return closingNetPnlMicros.filter((pnl) => pnl > 0).length / closingNetPnlMicros.length;
}
