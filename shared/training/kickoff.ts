import type { AgentProfile } from '../domain/agents.js';
import { type TrainingRun, capRefusal, customJobRequest, modelKindOf, recentWindow, trainingRunId, trainingWindowAt } from '../domain/training.js';
import { agentProfileOf } from '../firestore/agent-profiles.js';
import { log } from '../log.js';
import { type TrainingDeps, now } from './deps.js';
import { exportDataset } from './export-dataset.js';

/**
 * A training kickoff: for one agent and one data window, claim the run, export the dataset,
 * and start at most one Vertex custom job. Retried or repeated kickoffs for the same window find
 * the run and change nothing; one that crashed part-way resumes it, and finds a job it already
 * created by the job's run label before it would create another.
 */

export interface KickoffRequest {
  readonly agentId: string;
  /** `schedule` or `operator:<name>`. */
  readonly requestedBy: string;
  /**
   * `schedule` (the default): the window that ended at the last period boundary of the market's
   * clock. `recent`: the lookback up to the market's current hour. Or an explicit window.
   */
  readonly window?: 'schedule' | 'recent' | { readonly from: Date; readonly to: Date };
}

export type KickoffResult =
  | { readonly outcome: 'started' | 'existing' | 'skipped'; readonly run: TrainingRun }
  | { readonly outcome: 'unknown_agent'; readonly agentId: string };

const WEEK = 7 * 24 * 3_600_000;

/** The market's clock (the venue's, or the replay's locally); the wall clock if it has none. */
async function marketNow(deps: TrainingDeps, agent: AgentProfile): Promise<Date> {
  try {
    return new Date((await deps.market.ticker(agent.allowedSymbols[0] as string)).time);
  } catch {
    return now(deps);
  }
}

async function skip(deps: TrainingDeps, run: TrainingRun, reason: string): Promise<KickoffResult> {
  log.info('training skipped', { runId: run.runId, agentId: run.agentId, reason });
  return { outcome: 'skipped', run: await deps.runs.update(run.runId, { status: 'skipped', reason }, now(deps)) };
}

export async function startTraining(deps: TrainingDeps, request: KickoffRequest): Promise<KickoffResult> {
  const agent = await agentProfileOf(deps.db, request.agentId);
  if (!agent) return { outcome: 'unknown_agent', agentId: request.agentId };
  const window =
    typeof request.window === 'object'
      ? request.window
      : request.window === 'recent'
        ? recentWindow(await marketNow(deps, agent), deps.settings.schedule.lookbackDays)
        : trainingWindowAt(await marketNow(deps, agent), deps.settings.schedule);
  const runId = trainingRunId(agent.agentId, window);
  const at = now(deps);
  const claim = await deps.runs.claim({
    runId,
    agentId: agent.agentId,
    kind: modelKindOf(agent),
    window: { from: window.from.toISOString(), to: window.to.toISOString() },
    status: 'exporting',
    requestedBy: request.requestedBy,
    outputDirectory: `gs://${deps.settings.bucket}/runs/${agent.agentId}/${runId}`,
    createdAt: at.toISOString(),
    updatedAt: at.toISOString(),
  });
  let run = claim.run;
  // Claimed before, and past its export: this window's run exists; nothing to do.
  if (!claim.claimed && run.status !== 'exporting') return { outcome: 'existing', run };

  // A job this run created before a crash is found by its label, never created twice.
  const existingJob = await deps.vertex.findJobOfRun(runId);
  if (!existingJob) {
    const [active, recent] = await Promise.all([deps.vertex.activeJobs(), deps.runs.list(agent.agentId, 100)]);
    const agentJobsThisWeek = recent.filter((r) => r.jobName && Date.parse(r.createdAt) > at.getTime() - WEEK).length;
    const refused = capRefusal(deps.settings.caps, active.length, agentJobsThisWeek);
    if (refused) return skip(deps, run, refused);
  }

  if (run.kind === 'llm' && !agent.training?.baseModel) return skip(deps, run, `no base model to fine-tune: set training.baseModel in ${agent.agentId}'s profile`);
  const { build, exported } = await exportDataset(deps, agent, runId, window);
  if (!exported) return skip(deps, run, build.status === 'skipped' ? build.reason : 'no dataset');
  run = await deps.runs.update(runId, { dataset: exported }, now(deps));

  const serving = await deps.runs.deploymentOf(agent.agentId);
  const servingRun = serving?.current.runId ? await deps.runs.get(serving.current.runId) : undefined;
  const job =
    existingJob ??
    (await deps.vertex.createCustomJob(
      customJobRequest(run, exported, {
        image: deps.settings.trainerImage,
        machine: {
          machineType: agent.training?.machineType ?? deps.settings.machine.machineType,
          acceleratorType: agent.training?.acceleratorType ?? deps.settings.machine.acceleratorType,
          acceleratorCount: agent.training?.acceleratorCount ?? deps.settings.machine.acceleratorCount,
        },
        outputDirectory: run.outputDirectory as string,
        timeoutHours: deps.settings.timeoutHours,
        ...(deps.settings.serviceAccount ? { serviceAccount: deps.settings.serviceAccount } : {}),
        ...(agent.training?.baseModel ? { baseModel: agent.training.baseModel } : {}),
        ...(servingRun?.outputDirectory ? { baselineModel: `${servingRun.outputDirectory}/model` } : {}),
      }),
    ));
  run = await deps.runs.update(runId, { status: 'pending', jobName: job.name, jobState: job.state }, now(deps));
  log.info('training job started', { runId, agentId: agent.agentId, jobName: job.name, rows: exported.rows, recovered: existingJob !== undefined });
  return { outcome: 'started', run };
}
