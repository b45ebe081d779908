/**
 * What a replay reports (summary.json), and what report.html draws. Money is integer micro-USD,
 * times are epoch ms of market time, fractions are fractions (0.25). Series are sampled every
 * `window.sampleMinutes` market minutes, all of the same length as `series.time`.
 */

export interface AgentSeries {
  readonly equityMicros: number[];
  readonly marginInUseMicros: number[];
  /** (reserved + in use) / allocation. */
  readonly utilizationFraction: number[];
}

export interface ReplayTrade {
  /** Market time of the fill, epoch ms. */
  readonly time: number;
  readonly agentId: string;
  readonly symbol: string;
  readonly side: 'BUY' | 'SELL';
  /** Decimal base-asset quantity, as the venue reports it. */
  readonly quantity: string;
  readonly priceMicros: number;
  readonly feeMicros: number;
  /** Realized by this fill (closing part only), before its fee. */
  readonly realizedPnlMicros: number;
  /** True when the fill reduced or closed a position. */
  readonly closing: boolean;
  readonly orderId: string;
}

export interface StateChange {
  readonly time: number;
  /** An agent id, or the portfolio scope. */
  readonly scope: string;
  readonly state: 'active' | 'reducing' | 'halted';
  readonly reason: string;
  readonly changedBy: string;
}

export interface ReplayAlert {
  readonly time: number;
  readonly key: string;
  readonly scope: string;
  readonly severity: string;
  /** open | escalate | resolve. */
  readonly transition: string;
  readonly summary: string;
}

export interface AgentStats {
  readonly decisions: number;
  readonly signals: number;
  /** Fills. */
  readonly trades: number;
  /** Fills that reduced or closed a position. */
  readonly closingTrades: number;
  /** Closing fills with realized PnL net of their fee > 0, over closing fills; null without any. */
  readonly winRate: number | null;
  readonly realizedPnlMicros: number;
  readonly unrealizedPnlMicros: number;
  readonly feesMicros: number;
  readonly maxDrawdownFraction: number;
  /** On daily returns, annualized with √365; null with fewer than two days or no variation. */
  readonly sharpe: number | null;
  readonly sortino: number | null;
  /** Fraction of evaluated minutes with a position open. */
  readonly exposureFraction: number;
  /** Signals rejected or orders refused, by reason code. */
  readonly rejections: Record<string, number>;
}

export interface ReplaySummary {
  readonly version: 1;
  readonly window: { readonly from: string; readonly to: string; readonly minutes: number; readonly sampleMinutes: number };
  readonly market: { readonly symbols: string[]; readonly files: string[] };
  readonly agents: string[];
  readonly portfolio: {
    readonly allocationMicros: number;
    readonly startEquityMicros: number;
    readonly endEquityMicros: number;
    readonly returnFraction: number;
    readonly maxDrawdownFraction: number;
    readonly sharpe: number | null;
    readonly sortino: number | null;
    readonly trades: number;
    readonly halts: number;
    readonly resumes: number;
    /** Agents halted at the window's end that still hold a position there (a halt flattens by default: 0). */
    readonly haltedHolding: string[];
    readonly feesMicros: number;
    readonly realizedPnlMicros: number;
    readonly unrealizedPnlMicros: number;
  };
  /** Buy and hold: the portfolio's allocation in the first symbol at the window's first price, no leverage, no fees. */
  readonly baseline: { readonly symbol: string; readonly startPriceMicros: number; readonly endPriceMicros: number; readonly returnFraction: number };
  readonly series: {
    readonly time: number[];
    readonly portfolioEquityMicros: number[];
    readonly portfolioDrawdownFraction: number[];
    readonly baselineEquityMicros: number[];
    /** Last close at each sample, per symbol. */
    readonly prices: Record<string, number[]>;
    readonly agents: Record<string, AgentSeries>;
  };
  readonly stateChanges: StateChange[];
  readonly trades: ReplayTrade[];
  readonly agentStats: Record<string, AgentStats>;
  readonly alerts: ReplayAlert[];
}
