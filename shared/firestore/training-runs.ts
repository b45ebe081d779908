import type { Firestore } from '@google-cloud/firestore';
import { z } from 'zod';
import { SETTLED_RUN_STATUSES, TrainingRun, ValidationMetric } from '../domain/training.js';
import { serverTimestamp } from './client.js';
import { COLLECTIONS } from './collections.js';
import { runTransaction } from './transactions.js';

/**
 * Training runs (trainingRuns/{runId}) and what serves each agent (modelDeployments/{agentId}).
 * A run is claimed in a transaction, so however often a kickoff is retried one run exists per
 * agent and window; every later step updates it.
 */

/** What serves on an agent's endpoint, and what served before (for a rollback). */
export const ModelDeployment = z.object({
  agentId: z.string(),
  current: z.object({ runId: z.string().optional(), modelName: z.string(), deployedModelId: z.string(), metric: ValidationMetric.optional(), deployedAt: z.string() }),
  previous: z
    .array(z.object({ runId: z.string().optional(), modelName: z.string(), deployedModelId: z.string(), metric: ValidationMetric.optional(), deployedAt: z.string() }))
    .default([]),
});
export type ModelDeployment = z.infer<typeof ModelDeployment>;
export type Deployment = ModelDeployment['current'];

export type ClaimOutcome = { readonly claimed: true; readonly run: TrainingRun } | { readonly claimed: false; readonly run: TrainingRun };

export class TrainingRuns {
  constructor(private readonly db: Firestore) {}

  private ref(runId: string) {
    return this.db.collection(COLLECTIONS.trainingRuns).doc(runId);
  }

  /**
   * Creates the run if it does not exist. An existing run is returned as it is: the caller
   * carries on from its status (a run left `exporting` by a crash is resumed).
   */
  async claim(run: TrainingRun): Promise<ClaimOutcome> {
    const ref = this.ref(run.runId);
    return runTransaction(this.db, async (tx) => {
      const snap = await tx.get(ref);
      if (snap.exists) return { claimed: false, run: TrainingRun.parse(snap.data()) };
      tx.create(ref, run);
      return { claimed: true, run };
    });
  }

  async update(runId: string, changes: Partial<TrainingRun>, at: Date): Promise<TrainingRun> {
    const ref = this.ref(runId);
    return runTransaction(this.db, async (tx) => {
      const snap = await tx.get(ref);
      if (!snap.exists) throw new Error(`no training run ${runId}`);
      const next = TrainingRun.parse({ ...snap.data(), ...changes, updatedAt: at.toISOString() });
      tx.set(ref, next);
      return next;
    });
  }

  async get(runId: string): Promise<TrainingRun | undefined> {
    const snap = await this.ref(runId).get();
    return snap.exists ? TrainingRun.parse(snap.data()) : undefined;
  }

  /** Runs newest first, of one agent or all. */
  async list(agentId?: string, limit = 50): Promise<TrainingRun[]> {
    const base = this.db.collection(COLLECTIONS.trainingRuns);
    const snap = await (agentId ? base.where('agentId', '==', agentId) : base).get();
    return snap.docs
      .map((d) => TrainingRun.parse(d.data()))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .slice(0, limit);
  }

  /** Runs Vertex may still change: a job pending or running, or a succeeded one not yet gated. */
  async unsettled(): Promise<TrainingRun[]> {
    const snap = await this.db.collection(COLLECTIONS.trainingRuns).where('status', 'in', ['pending', 'running', 'succeeded']).get();
    return snap.docs.map((d) => TrainingRun.parse(d.data())).filter((r) => !SETTLED_RUN_STATUSES.has(r.status));
  }

  async deploymentOf(agentId: string): Promise<ModelDeployment | undefined> {
    const snap = await this.db.collection(COLLECTIONS.modelDeployments).doc(agentId).get();
    return snap.exists ? ModelDeployment.parse(snap.data()) : undefined;
  }

  /** Records what now serves the agent, keeps what served before, and audits who and why. */
  async recordDeployment(agentId: string, deployment: Deployment, audit: { readonly by: string; readonly reason: string; readonly action: 'promote' | 'rollback' }): Promise<ModelDeployment> {
    const ref = this.db.collection(COLLECTIONS.modelDeployments).doc(agentId);
    return runTransaction(this.db, async (tx) => {
      const snap = await tx.get(ref);
      const prior = snap.exists ? ModelDeployment.parse(snap.data()) : undefined;
      const previous = prior ? [prior.current, ...prior.previous].filter((d) => d.modelName !== deployment.modelName).slice(0, 10) : [];
      const next: ModelDeployment = { agentId, current: deployment, previous };
      tx.set(ref, next);
      tx.create(this.db.collection(COLLECTIONS.modelDeploymentChanges).doc(), {
        agentId,
        action: audit.action,
        modelName: deployment.modelName,
        runId: deployment.runId ?? null,
        from: prior?.current.modelName ?? null,
        by: audit.by,
        reason: audit.reason,
        recordedAt: serverTimestamp(),
      });
      return next;
    });
  }
}
