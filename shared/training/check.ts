import type { AlertMessage } from '../domain/messages.js';
import { type TrainingRun, TrainerMetrics, type ValidationMetric, promotionDecision, runStatusOfJob } from '../domain/training.js';
import { log } from '../log.js';
import { type TrainingDeps, now } from './deps.js';
import { deployRunModel } from './lifecycle.js';

/**
 * The scheduled check of training runs: moves each run through pending → running → succeeded /
 * failed / cancelled from its Vertex job; uploads a succeeded run's model and deploys it if it
 * passes the gate; raises an alert for a failed, cancelled or stuck run. Idempotent: a run is
 * only moved forward, and an alert carries the run as its episode.
 */

export interface CheckReport {
  readonly checked: number;
  readonly changed: number;
  readonly deployed: number;
  readonly gated: number;
  readonly alerts: number;
}

/** A job running this long past its own timeout is stuck: Vertex should have ended it. */
const STUCK_GRACE_MS = 3_600_000;

async function alertFor(deps: TrainingDeps, run: TrainingRun, message: string): Promise<void> {
  // Cloud Monitoring counts these lines (terraform/guardrails.tf): a failed training job alerts there too.
  log.warn('training run failed', { runId: run.runId, agentId: run.agentId, status: run.status, reason: message });
  const alert: AlertMessage = {
    episodeId: `training:${run.runId}`,
    transition: 'open',
    key: `training:${run.agentId}`,
    limitType: 'training_failed',
    scope: run.agentId,
    severity: 'warning',
    message: `${run.agentId} training ${run.runId}: ${message}`.slice(0, 1_000),
    source: 'training',
    openedAt: now(deps).toISOString(),
  };
  await deps.publisher.publish(deps.topics.alerts, alert, { attributes: { episodeId: alert.episodeId, transition: alert.transition } });
}

/** The candidate's figure and the serving model's on the same validation window, from metrics.json. */
async function readMetrics(deps: TrainingDeps, run: TrainingRun): Promise<{ candidate: ValidationMetric; baseline?: ValidationMetric } | undefined> {
  const text = await deps.objects.readText(`${run.outputDirectory}/model/metrics.json`);
  if (text === undefined) return undefined;
  const raw = JSON.parse(text) as Record<string, unknown>;
  const metrics = TrainerMetrics.parse(raw);
  const baseline = TrainerMetrics.safeParse({ validation_metric: raw.baseline_validation_metric });
  return { candidate: metrics.validationMetric, ...(baseline.success ? { baseline: baseline.data.validationMetric } : {}) };
}

/** A succeeded run: its model uploaded, then deployed or held back by the gate. */
async function settleSucceeded(deps: TrainingDeps, run: TrainingRun): Promise<TrainingRun> {
  const metrics = await readMetrics(deps, run);
  if (!metrics) return deps.runs.update(run.runId, { status: 'failed', reason: 'the job succeeded but wrote no model/metrics.json' }, now(deps));
  const modelName =
    run.modelName ??
    (await deps.vertex.uploadModel({
      displayName: `sapphire-${run.runId}`,
      artifactUri: `${run.outputDirectory}/model`,
      servingImageUri: run.kind === 'forecaster' ? deps.settings.servingImages.forecaster : deps.settings.servingImages.llm,
      labels: { sapphire_run: run.runId, sapphire_agent: run.agentId },
      description: `${metrics.candidate.name} ${metrics.candidate.value} on ${run.window.from}..${run.window.to}`,
    }));
  // The serving model's figure: measured by the trainer on this window when it could, else the one recorded at its promotion.
  const serving = await deps.runs.deploymentOf(run.agentId);
  const baseline = metrics.baseline ?? serving?.current.metric;
  run = await deps.runs.update(run.runId, { modelName, candidateMetric: metrics.candidate, ...(baseline ? { deployedMetric: baseline } : {}) }, now(deps));
  const gate = promotionDecision(metrics.candidate, baseline, deps.settings.promotionMargin);
  if (!gate.promote) return deps.runs.update(run.runId, { status: 'gated', reason: gate.reason }, now(deps));
  if (!deps.settings.endpoints[run.agentId]) {
    return deps.runs.update(run.runId, { status: 'gated', reason: `passed the gate (${gate.reason}) but no Vertex endpoint is configured for ${run.agentId}` }, now(deps));
  }
  return deployRunModel(deps, run, { by: 'training-gate', reason: gate.reason });
}

export async function checkTrainingRuns(deps: TrainingDeps): Promise<CheckReport> {
  const runs = await deps.runs.unsettled();
  let changed = 0;
  let deployed = 0;
  let gated = 0;
  let alerts = 0;
  for (let run of runs) {
    if ((run.status === 'pending' || run.status === 'running') && run.jobName) {
      const job = await deps.vertex.job(run.jobName);
      let status = runStatusOfJob(job.state);
      let reason = job.error;
      const started = Date.parse(job.createTime ?? run.createdAt);
      if (status === 'running' && now(deps).getTime() - started > deps.settings.timeoutHours * 3_600_000 + STUCK_GRACE_MS) {
        await deps.vertex.cancelJob(run.jobName);
        status = 'failed';
        reason = `stuck: still running ${deps.settings.timeoutHours} h after its timeout; cancelled`;
      }
      if (status !== run.status || job.state !== run.jobState) {
        run = await deps.runs.update(run.runId, { status, jobState: job.state, ...(reason ? { reason } : {}) }, now(deps));
        changed += 1;
        if (status === 'failed' || status === 'cancelled') {
          await alertFor(deps, run, `${status}${reason ? `: ${reason}` : ''}`);
          alerts += 1;
        }
      }
    }
    if (run.status === 'succeeded') {
      run = await settleSucceeded(deps, run);
      changed += 1;
      if (run.status === 'deployed') deployed += 1;
      if (run.status === 'gated') gated += 1;
      if (run.status === 'failed') {
        await alertFor(deps, run, run.reason ?? 'failed');
        alerts += 1;
      }
    }
  }
  const report = { checked: runs.length, changed, deployed, gated, alerts };
  if (changed > 0) log.info('training runs checked', { ...report });
  return report;
}
