import type { TrainingRun } from '../domain/training.js';
import { log } from '../log.js';
import { type TrainingDeps, now } from './deps.js';

/**
 * Which model serves an agent: the gate's promotions, and an operator's promote and rollback.
 * Every change is recorded with who and why (modelDeploymentChanges).
 */

export interface Audit {
  readonly by: string;
  readonly reason: string;
}

export class LifecycleRefusal extends Error {
  override readonly name = 'LifecycleRefusal';
}

function endpointOf(deps: TrainingDeps, agentId: string): string {
  const endpoint = deps.settings.endpoints[agentId];
  if (!endpoint) throw new LifecycleRefusal(`no Vertex endpoint is configured for ${agentId} (VERTEX_ENDPOINTS)`);
  return endpoint;
}

/** Deploys a run's uploaded model to its agent's endpoint with all traffic. */
export async function deployRunModel(deps: TrainingDeps, run: TrainingRun, audit: Audit): Promise<TrainingRun> {
  if (!run.modelName) throw new LifecycleRefusal(`run ${run.runId} has no uploaded model (status ${run.status})`);
  const endpoint = endpointOf(deps, run.agentId);
  const serving = await deps.vertex.deployModel(endpoint, run.modelName, `sapphire-${run.runId}`, deps.settings.servingMachines[run.kind]);
  await deps.runs.recordDeployment(
    run.agentId,
    { runId: run.runId, modelName: run.modelName, deployedModelId: serving.deployedModelId, ...(run.candidateMetric ? { metric: run.candidateMetric } : {}), deployedAt: now(deps).toISOString() },
    { ...audit, action: 'promote' },
  );
  log.warn('model deployed', { agentId: run.agentId, runId: run.runId, modelName: run.modelName, by: audit.by, reason: audit.reason });
  return deps.runs.update(run.runId, { status: 'deployed', deployedModelId: serving.deployedModelId, reason: audit.reason }, now(deps));
}

/** An operator's promotion of a run's model, past the gate. */
export async function promoteRun(deps: TrainingDeps, agentId: string, runId: string, audit: Audit): Promise<TrainingRun> {
  const run = await deps.runs.get(runId);
  if (!run || run.agentId !== agentId) throw new LifecycleRefusal(`no training run ${runId} for ${agentId}`);
  return deployRunModel(deps, run, audit);
}

/** Puts the model that served before the current one back on the agent's endpoint. */
export async function rollbackAgent(deps: TrainingDeps, agentId: string, audit: Audit): Promise<{ readonly modelName: string; readonly runId?: string }> {
  const deployment = await deps.runs.deploymentOf(agentId);
  const previous = deployment?.previous[0];
  if (!previous) throw new LifecycleRefusal(`${agentId} has no earlier model to roll back to`);
  const run = previous.runId ? await deps.runs.get(previous.runId) : undefined;
  const machine = deps.settings.servingMachines[run?.kind ?? 'llm'];
  const serving = await deps.vertex.deployModel(endpointOf(deps, agentId), previous.modelName, `sapphire-rollback-${agentId}`, machine);
  await deps.runs.recordDeployment(agentId, { ...previous, deployedModelId: serving.deployedModelId, deployedAt: now(deps).toISOString() }, { ...audit, action: 'rollback' });
  log.warn('model rolled back', { agentId, modelName: previous.modelName, by: audit.by, reason: audit.reason });
  return { modelName: previous.modelName, ...(previous.runId ? { runId: previous.runId } : {}) };
}
