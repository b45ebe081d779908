import { z } from 'zod';
import { AlertSeverity } from './messages.js';
import { PORTFOLIO_SCOPE, SignedMicroUsd } from './vocabulary.js';

/**
 * Risk evaluation: equity, persisted peaks, drawdown, utilization and daily loss, and the alert
 * conditions they raise. Pure: the evaluator feeds it ledgers and mark prices.
 *
 * Fractions are fractions (0.25), percents are percents (25): names say which.
 */

export const RiskLimits = z.object({
  /** An agent's (reserved + in use) / allocation above this raises a warning. */
  utilizationWarnFraction: z.number().positive().max(1).default(0.95),
  /** Portfolio drawdown from its peak above this is critical and halts all trading. */
  portfolioDrawdownHaltFraction: z.number().positive().max(1).default(0.25),
  /** An agent's drawdown from its peak above this halts that agent. */
  agentDrawdownHaltFraction: z.number().positive().max(1).default(0.4),
  /** An agent's loss since the start of the UTC day, as a fraction of its allocation, above this halts it. */
  agentDailyLossHaltFraction: z.number().positive().max(1).default(0.2),
  /**
   * An open episode resolves only once its value falls below threshold × this, so a value
   * hovering at the threshold does not open and resolve an alert every minute.
   */
  resolveRatio: z.number().positive().max(1).default(0.9),
  /**
   * Halts stay armed after an operator's resume: while the halting condition holds, its scope
   * halts again once the value deepens this much past where it stood when trading resumed.
   */
  rearmStepFraction: z.number().positive().max(1).default(0.05),
});
export type RiskLimits = z.infer<typeof RiskLimits>;

export interface AgentExposure {
  readonly agentId: string;
  readonly allocationMicros: number;
  readonly reservedMicros: number;
  readonly inUseMicros: number;
  readonly realizedPnlMicros: number;
  readonly unrealizedPnlMicros: number;
  /** Symbols the agent holds whose price is stale (mark-prices.ts), and why. */
  readonly stalePrices?: readonly string[];
}

/** What is remembered between evaluations, per scope (an agent id, or PORTFOLIO_SCOPE). */
export const ScopeMemory = z.object({
  peakEquityMicros: SignedMicroUsd,
  /** UTC day (YYYY-MM-DD) of dayStartEquityMicros. */
  day: z.string(),
  dayStartEquityMicros: SignedMicroUsd,
});
export type ScopeMemory = z.infer<typeof ScopeMemory>;

export interface ScopeSnapshot {
  readonly scope: string;
  readonly equityMicros: number;
  readonly peakEquityMicros: number;
  readonly drawdownFraction: number;
  readonly utilizationFraction: number;
  readonly dailyLossFraction: number;
  readonly allocationMicros: number;
}

export type Severity = 'warning' | 'critical';

/** A condition that is true now; an alert episode is open while it stays true. */
export interface AlertCondition {
  /** Stable per condition and scope: `portfolio_drawdown:portfolio`, `margin_utilization:qwen-7b`. */
  readonly key: string;
  readonly limitType: 'margin_utilization' | 'portfolio_drawdown' | 'agent_drawdown' | 'daily_loss' | 'prices_stale';
  readonly scope: string;
  readonly severity: Severity;
  /** The scope whose trading halts, if this condition halts any. */
  readonly halts?: string;
  /** The scope that may only reduce risk while this condition holds; it trades again when it ends. */
  readonly reduces?: string;
  readonly value: number;
  readonly threshold: number;
  readonly message: string;
}

export interface RiskEvaluation {
  readonly snapshots: readonly ScopeSnapshot[];
  readonly memory: Readonly<Record<string, ScopeMemory>>;
  readonly conditions: readonly AlertCondition[];
}

function drawdown(peak: number, equity: number): number {
  return peak > 0 ? Math.max(0, (peak - equity) / peak) : 0;
}

function pct(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`;
}

function remember(prior: ScopeMemory | undefined, equity: number, day: string): ScopeMemory {
  // The peak starts at the first evaluation and never falls (only an audited reset lowers it).
  const peakEquityMicros = prior ? Math.max(prior.peakEquityMicros, equity) : equity;
  const dayStartEquityMicros = prior && prior.day === day ? prior.dayStartEquityMicros : equity;
  return { peakEquityMicros, day, dayStartEquityMicros };
}

export function evaluateRisk(
  agents: readonly AgentExposure[],
  prior: Readonly<Record<string, ScopeMemory>>,
  limits: RiskLimits,
  at: Date,
  openKeys: ReadonlySet<string> = new Set(),
): RiskEvaluation {
  const day = at.toISOString().slice(0, 10);
  const breaches = (key: string, value: number, threshold: number) =>
    value > (openKeys.has(key) ? threshold * limits.resolveRatio : threshold);
  const memory: Record<string, ScopeMemory> = {};
  const snapshots: ScopeSnapshot[] = [];
  const conditions: AlertCondition[] = [];

  const total = { equity: 0, allocation: 0, committed: 0 };
  for (const agent of agents) {
    const equity = agent.allocationMicros + agent.realizedPnlMicros + agent.unrealizedPnlMicros;
    const committed = agent.reservedMicros + agent.inUseMicros;
    total.equity += equity;
    total.allocation += agent.allocationMicros;
    total.committed += committed;
    const mem = remember(prior[agent.agentId], equity, day);
    memory[agent.agentId] = mem;
    const snapshot: ScopeSnapshot = {
      scope: agent.agentId,
      equityMicros: equity,
      peakEquityMicros: mem.peakEquityMicros,
      drawdownFraction: drawdown(mem.peakEquityMicros, equity),
      utilizationFraction: agent.allocationMicros > 0 ? committed / agent.allocationMicros : 0,
      dailyLossFraction: agent.allocationMicros > 0 ? Math.max(0, mem.dayStartEquityMicros - equity) / agent.allocationMicros : 0,
      allocationMicros: agent.allocationMicros,
    };
    snapshots.push(snapshot);
    if (breaches(`margin_utilization:${agent.agentId}`, snapshot.utilizationFraction, limits.utilizationWarnFraction)) {
      conditions.push({
        key: `margin_utilization:${agent.agentId}`,
        limitType: 'margin_utilization',
        scope: agent.agentId,
        severity: 'warning',
        value: snapshot.utilizationFraction,
        threshold: limits.utilizationWarnFraction,
        message: `${agent.agentId} margin utilization ${pct(snapshot.utilizationFraction)} above ${pct(limits.utilizationWarnFraction)}`,
      });
    }
    if (breaches(`agent_drawdown:${agent.agentId}`, snapshot.drawdownFraction, limits.agentDrawdownHaltFraction)) {
      conditions.push({
        key: `agent_drawdown:${agent.agentId}`,
        limitType: 'agent_drawdown',
        scope: agent.agentId,
        severity: 'critical',
        halts: agent.agentId,
        value: snapshot.drawdownFraction,
        threshold: limits.agentDrawdownHaltFraction,
        message: `${agent.agentId} drawdown ${pct(snapshot.drawdownFraction)} above ${pct(limits.agentDrawdownHaltFraction)}: agent halted`,
      });
    }
    if (breaches(`daily_loss:${agent.agentId}`, snapshot.dailyLossFraction, limits.agentDailyLossHaltFraction)) {
      conditions.push({
        key: `daily_loss:${agent.agentId}`,
        limitType: 'daily_loss',
        scope: agent.agentId,
        severity: 'critical',
        halts: agent.agentId,
        value: snapshot.dailyLossFraction,
        threshold: limits.agentDailyLossHaltFraction,
        message: `${agent.agentId} lost ${pct(snapshot.dailyLossFraction)} of its allocation today, above ${pct(limits.agentDailyLossHaltFraction)}: agent halted`,
      });
    }
  }

  for (const agent of agents) {
    if (!agent.stalePrices?.length) continue;
    conditions.push({
      key: `prices_stale:${agent.agentId}`,
      limitType: 'prices_stale',
      scope: agent.agentId,
      severity: 'critical',
      reduces: agent.agentId,
      value: agent.stalePrices.length,
      threshold: 0,
      message: `${agent.agentId} holds positions without a fresh price (${agent.stalePrices.join('; ')}): reduce-only until prices return`,
    });
  }

  const mem = remember(prior[PORTFOLIO_SCOPE], total.equity, day);
  memory[PORTFOLIO_SCOPE] = mem;
  const portfolio: ScopeSnapshot = {
    scope: PORTFOLIO_SCOPE,
    equityMicros: total.equity,
    peakEquityMicros: mem.peakEquityMicros,
    drawdownFraction: drawdown(mem.peakEquityMicros, total.equity),
    utilizationFraction: total.allocation > 0 ? total.committed / total.allocation : 0,
    dailyLossFraction: total.allocation > 0 ? Math.max(0, mem.dayStartEquityMicros - total.equity) / total.allocation : 0,
    allocationMicros: total.allocation,
  };
  snapshots.push(portfolio);
  if (breaches(`portfolio_drawdown:${PORTFOLIO_SCOPE}`, portfolio.drawdownFraction, limits.portfolioDrawdownHaltFraction)) {
    conditions.push({
      key: `portfolio_drawdown:${PORTFOLIO_SCOPE}`,
      limitType: 'portfolio_drawdown',
      scope: PORTFOLIO_SCOPE,
      severity: 'critical',
      halts: PORTFOLIO_SCOPE,
      value: portfolio.drawdownFraction,
      threshold: limits.portfolioDrawdownHaltFraction,
      message: `portfolio drawdown ${pct(portfolio.drawdownFraction)} above ${pct(limits.portfolioDrawdownHaltFraction)}: all trading halted`,
    });
  }
  return { snapshots, memory, conditions };
}

export const AlertEpisode = z.object({
  episodeId: z.string(),
  key: z.string(),
  limitType: z.string(),
  scope: z.string(),
  severity: AlertSeverity,
  state: z.enum(['open', 'resolved']),
  openedAt: z.string(),
  resolvedAt: z.string().optional(),
  message: z.string(),
  value: z.number(),
  threshold: z.number(),
  /** Set when trading resumed while the episode was open: the value at which its scope halts again. */
  rearmAt: z.number().optional(),
});
export type AlertEpisode = z.infer<typeof AlertEpisode>;

export interface EpisodeTransition {
  readonly transition: 'open' | 'resolve';
  readonly episode: AlertEpisode;
}

/** The episode a condition opens at `at`. */
function openedEpisode(condition: AlertCondition, at: Date, message: string): AlertEpisode {
  return {
    episodeId: `${condition.key}@${at.toISOString()}`,
    key: condition.key,
    limitType: condition.limitType,
    scope: condition.scope,
    severity: condition.severity,
    state: 'open',
    openedAt: at.toISOString(),
    message,
    value: condition.value,
    threshold: condition.threshold,
  };
}

/** What the audit says of an episode re-armed after a resume: the level at which its scope halts again. */
export function rearmNote(episode: AlertEpisode): string {
  return `re-armed after the resume: ${episode.limitType} halts again at ${pct(episode.rearmAt ?? episode.value)}`;
}

export type RearmStep =
  /** Trading resumed while the episode is open: it halts again at `episode.rearmAt`. */
  | { readonly kind: 'rearm'; readonly episode: AlertEpisode }
  /** Deeper than the re-arm level: the scope halts again, under a new episode that replaces the old. */
  | { readonly kind: 'rehalt'; readonly scope: string; readonly resolved: AlertEpisode; readonly opened: AlertEpisode };

/**
 * Halts stay armed after an operator's resume. A halt comes with an episode's opening; a resume
 * while that episode stays open would otherwise disarm it. So an open episode of a halting
 * condition whose scope trades again (only an operator sets a halted scope active) is re-armed
 * at its value now plus `step`; when the value reaches that level the scope halts again, under
 * a new episode (one open and one resolve per episode), which a later resume re-arms in turn.
 */
export function rearmHalts(
  open: readonly AlertEpisode[],
  conditions: readonly AlertCondition[],
  tradesAgain: (scope: string) => boolean,
  step: number,
  at: Date,
): RearmStep[] {
  const steps: RearmStep[] = [];
  for (const episode of open) {
    const condition = conditions.find((c) => c.key === episode.key);
    if (!condition?.halts || !tradesAgain(condition.halts)) continue;
    if (episode.rearmAt === undefined) {
      steps.push({ kind: 'rearm', episode: { ...episode, rearmAt: condition.value + step } });
    } else if (condition.value >= episode.rearmAt) {
      const message = `${condition.message} (deeper than when trading resumed: halted again at ${pct(episode.rearmAt)})`;
      steps.push({
        kind: 'rehalt',
        scope: condition.halts,
        resolved: { ...episode, state: 'resolved', resolvedAt: at.toISOString() },
        opened: openedEpisode(condition, at, message),
      });
    }
  }
  return steps;
}

/**
 * Alert episodes from conditions: an episode opens when its condition starts and resolves when
 * it ends; nothing happens in between, however often this runs.
 */
export function episodeTransitions(open: readonly AlertEpisode[], conditions: readonly AlertCondition[], at: Date): EpisodeTransition[] {
  const openByKey = new Map(open.map((e) => [e.key, e]));
  const activeKeys = new Set(conditions.map((c) => c.key));
  const transitions: EpisodeTransition[] = [];
  for (const condition of conditions) {
    if (openByKey.has(condition.key)) continue;
    transitions.push({ transition: 'open', episode: openedEpisode(condition, at, condition.message) });
  }
  for (const episode of open) {
    if (!activeKeys.has(episode.key)) {
      transitions.push({ transition: 'resolve', episode: { ...episode, state: 'resolved', resolvedAt: at.toISOString() } });
    }
  }
  return transitions;
}
