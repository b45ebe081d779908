import type { Config } from '../config.js';
import { FlattenBook } from '../firestore/flattens.js';
import { type EvaluationResult, RiskBook } from '../firestore/risk-book.js';
import { type RuntimeIo, cloudIo } from '../runtime-io.js';
import type { TradingDeps } from '../trading/deps.js';
import { flattenOnHalts } from '../trading/flatten.js';
import { type EvaluatorDeps, evaluateDrawdown } from './evaluate.js';

/** What drawdown-evaluator works with, from its configuration. */
export function evaluatorDepsFromConfig(config: Config, io: RuntimeIo = cloudIo(config)): EvaluatorDeps {
  return {
    db: io.db,
    market: io.market,
    book: new RiskBook(io.db),
    publisher: io.publisher,
    topics: config.topics,
    limits: {
      utilizationWarnFraction: config.RISK_UTILIZATION_WARN_FRACTION,
      portfolioDrawdownHaltFraction: config.RISK_PORTFOLIO_DRAWDOWN_HALT_FRACTION,
      agentDrawdownHaltFraction: config.RISK_AGENT_DRAWDOWN_HALT_FRACTION,
      agentDailyLossHaltFraction: config.RISK_AGENT_DAILY_LOSS_HALT_FRACTION,
      resolveRatio: 0.9,
      rearmStepFraction: config.RISK_REARM_STEP_FRACTION,
    },
    priceStalenessMs: config.RISK_PRICE_STALENESS_SECONDS * 1000,
  };
}

/**
 * One run of the guardrail: evaluate, then flatten every scope the evaluation halted.
 * `trading` is asked for only when something halted (most evaluations halt nothing).
 */
export async function evaluateAndEnforce(deps: EvaluatorDeps, trading: () => TradingDeps): Promise<EvaluationResult> {
  const result = await evaluateDrawdown(deps);
  if (result.halted?.length) await flattenOnHalts(trading(), new FlattenBook(deps.db), result.halted);
  return result;
}
