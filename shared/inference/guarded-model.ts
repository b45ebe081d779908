import { retryWithBackoff, sleep } from '../concurrency/retry.js';
import { CircuitBreaker } from '../concurrency/circuit-breaker.js';
import { TtlCache } from '../concurrency/ttl-cache.js';
import { type AgentDecision, hold } from '../domain/agent-decision.js';
import { PredictionUnavailable } from '../vertex/predictor.js';
import type { MarketContext } from '../domain/agent-prompt.js';
import type { AgentModel } from './models.js';

export type DecisionSource = 'model' | 'cache' | 'circuit_open' | 'unavailable';

export interface GuardedDecision {
  readonly decision: AgentDecision;
  readonly source: DecisionSource;
  readonly attempts: number;
  readonly latencyMs: number;
}

export interface GuardOptions {
  readonly retries: number;
  readonly cacheTtlMs: number;
  readonly failureThreshold: number;
  readonly cooldownMs: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * A model behind the guards every remote model needs: a decision cache (AGENT_CACHE_TTL_SECONDS),
 * retries with backoff on transport failures, and a circuit breaker per agent. An unreachable
 * model, or an open circuit, means HOLD with the reason: never a trade.
 */
export class GuardedModel {
  private readonly cache: TtlCache<AgentDecision>;
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly model: AgentModel,
    private readonly options: GuardOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? sleep;
    this.cache = new TtlCache(options.cacheTtlMs, this.now);
  }

  get name(): string {
    return this.model.name;
  }

  circuit(agentId: string): CircuitBreaker {
    let breaker = this.breakers.get(agentId);
    if (!breaker) {
      breaker = new CircuitBreaker(this.options.failureThreshold, this.options.cooldownMs, this.now);
      this.breakers.set(agentId, breaker);
    }
    return breaker;
  }

  async decide(context: MarketContext): Promise<GuardedDecision> {
    const started = this.now();
    const agentId = context.agent.agentId;
    const cached = this.cache.get(agentId);
    if (cached) return { decision: cached, source: 'cache', attempts: 0, latencyMs: 0 };
    const breaker = this.circuit(agentId);
    if (!breaker.allows()) return { decision: hold(`circuit open for ${agentId}: the model failed repeatedly`), source: 'circuit_open', attempts: 0, latencyMs: 0 };
    let attempts = 0;
    try {
      const decision = await retryWithBackoff(
        (attempt) => {
          attempts = attempt;
          return this.model.decide(context);
        },
        {
          attempts: this.options.retries + 1,
          baseDelayMs: 200,
          maxDelayMs: 2_000,
          jitter: 'equal',
          sleep: this.sleep,
          // Only transport failures are worth another try; a refusal (bad request, no permission) is not.
          retryOn: (error) => error instanceof PredictionUnavailable,
        },
      );
      breaker.success();
      this.cache.set(agentId, decision);
      return { decision, source: 'model', attempts, latencyMs: this.now() - started };
    } catch (error) {
      breaker.failure();
      const message = (error as Error).message;
      const reason = error instanceof PredictionUnavailable ? `model unavailable: ${message}` : `model error: ${message.slice(0, 200)}`;
      return { decision: hold(reason), source: 'unavailable', attempts, latencyMs: this.now() - started };
    }
  }
}
