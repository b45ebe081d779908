import type { Config } from '../config.js';
import { hold } from '../domain/agent-decision.js';
import type { AgentProfile } from '../domain/agents.js';
import { VertexPredictor } from '../vertex/predictor.js';
import { GuardedModel } from './guarded-model.js';
import { type AgentModel, BaselineModel, VertexForecastModel, VertexLlmModel } from './models.js';

/** An agent whose Vertex endpoint is not configured decides nothing, and says so. */
class UnconfiguredModel implements AgentModel {
  readonly name = 'unconfigured';
  constructor(private readonly agentId: string) {}
  async decide() {
    return hold(`no Vertex endpoint configured for ${this.agentId} (VERTEX_ENDPOINTS)`);
  }
}

/**
 * Each agent's model: its Vertex endpoint when ENABLE_VERTEX_AI=true (an LLM on vLLM, or the
 * Lag-Llama forecaster for the volatility agent), its local baseline otherwise; always behind
 * the cache, retries and circuit breaker.
 */
export function modelRegistry(config: Config, authClient?: unknown): (agent: AgentProfile) => GuardedModel {
  const guard = { retries: 2, cacheTtlMs: config.AGENT_CACHE_TTL_SECONDS * 1000, failureThreshold: 3, cooldownMs: 60_000 };
  const models = new Map<string, GuardedModel>();
  let predictor: VertexPredictor | undefined;
  const vertex = () => {
    if (!predictor) {
      const [host, port] = (config.VERTEX_API_ENDPOINT ?? `${config.VERTEX_LOCATION}-aiplatform.googleapis.com`).replace(/^https?:\/\//, '').split(':');
      predictor = new VertexPredictor({
        apiEndpoint: host as string,
        ...(port ? { port: Number(port) } : {}),
        protocol: config.VERTEX_API_ENDPOINT?.startsWith('http://') ? 'http' : 'https',
        ...(authClient ? { authClient } : {}),
      });
    }
    return predictor;
  };
  return (agent) => {
    let model = models.get(agent.agentId);
    if (!model) {
      const endpoint = agent.modelEndpoint ?? config.VERTEX_ENDPOINTS[agent.agentId];
      const inner: AgentModel = !config.ENABLE_VERTEX_AI
        ? new BaselineModel()
        : !endpoint
          ? new UnconfiguredModel(agent.agentId)
          : agent.strategy === 'volatility_forecast'
            ? new VertexForecastModel(vertex(), endpoint, config.VERTEX_TIMEOUT_MS)
            : new VertexLlmModel(vertex(), endpoint, config.VERTEX_TIMEOUT_MS);
      model = new GuardedModel(inner, guard);
      models.set(agent.agentId, model);
    }
    return model;
  };
}
