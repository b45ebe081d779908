import { z } from 'zod';
import type { AgentProfile } from './agents.js';
import { AgentId, IsoTime } from './vocabulary.js';

/**
 * The training lifecycle's rules: which window a kickoff trains on, the one run per agent and
 * window, the Vertex custom job it asks for, how job states map to run states, and the gate a
 * new model must pass before it serves.
 */

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** Where a run stands. `skipped`: too little data, no job. `gated`: trained, but not better than what serves. */
export const TrainingRunStatus = z.enum(['exporting', 'skipped', 'pending', 'running', 'succeeded', 'failed', 'cancelled', 'deployed', 'gated']);
export type TrainingRunStatus = z.infer<typeof TrainingRunStatus>;
/** No further change comes from Vertex for these. */
export const SETTLED_RUN_STATUSES: ReadonlySet<TrainingRunStatus> = new Set(['skipped', 'failed', 'cancelled', 'deployed', 'gated']);

export const ModelKind = z.enum(['llm', 'forecaster']);
export type ModelKind = z.infer<typeof ModelKind>;

export function modelKindOf(agent: AgentProfile): ModelKind {
  return agent.strategy === 'volatility_forecast' ? 'forecaster' : 'llm';
}

/** A model's validation figure, as the trainer wrote it in metrics.json. */
export const ValidationMetric = z.object({
  name: z.string().min(1).max(64),
  value: z.number().finite(),
  higherIsBetter: z.boolean(),
});
export type ValidationMetric = z.infer<typeof ValidationMetric>;

/** metrics.json beside the trained model (the trainer writes snake_case). */
export const TrainerMetrics = z
  .object({
    validation_metric: z.object({ name: z.string().min(1).max(64), value: z.number().finite(), higher_is_better: z.boolean() }),
    train_rows: z.number().int().nonnegative().optional(),
    validation_rows: z.number().int().nonnegative().optional(),
  })
  .transform((m) => ({
    validationMetric: { name: m.validation_metric.name, value: m.validation_metric.value, higherIsBetter: m.validation_metric.higher_is_better },
    trainRows: m.train_rows,
    validationRows: m.validation_rows,
  }));

export const TrainingWindow = z.object({ from: IsoTime, to: IsoTime });
export type TrainingWindow = z.infer<typeof TrainingWindow>;

export const TrainingRun = z.object({
  runId: z.string(),
  agentId: AgentId,
  kind: ModelKind,
  window: TrainingWindow,
  status: TrainingRunStatus,
  /** Who started it: `schedule` or `operator:<name>`. */
  requestedBy: z.string(),
  reason: z.string().optional(),
  /** gs:// URIs of train.jsonl, validation.jsonl and manifest.json. */
  dataset: z.object({ train: z.string(), validation: z.string(), manifest: z.string(), rows: z.number().int().nonnegative() }).optional(),
  /** The Vertex CustomJob resource name, once created. */
  jobName: z.string().optional(),
  jobState: z.string().optional(),
  outputDirectory: z.string().optional(),
  /** The uploaded Vertex Model resource name. */
  modelName: z.string().optional(),
  candidateMetric: ValidationMetric.optional(),
  /** The serving model's figure on the same validation window, when the gate compared them. */
  deployedMetric: ValidationMetric.optional(),
  deployedModelId: z.string().optional(),
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
export type TrainingRun = z.infer<typeof TrainingRun>;

export interface TrainingSchedule {
  /** Windows end on multiples of this period (7 days: every Monday 00:00 UTC). */
  readonly periodDays: number;
  readonly lookbackDays: number;
}

/**
 * The window a kickoff at `now` trains on: it ends at the last period boundary (Mondays 00:00
 * UTC for a week) and looks back `lookbackDays`. However often the scheduler fires within a
 * period, it names the same window, so the same run.
 */
export function trainingWindowAt(now: Date, schedule: TrainingSchedule): { from: Date; to: Date } {
  const period = schedule.periodDays * DAY;
  // 1970-01-05 was a Monday: weekly boundaries fall on Mondays.
  const epochMonday = 4 * DAY;
  const to = epochMonday + Math.floor((now.getTime() - epochMonday) / period) * period;
  return { from: new Date(to - schedule.lookbackDays * DAY), to: new Date(to) };
}

/** An operator's window: the last `lookbackDays` up to the start of the current hour. */
export function recentWindow(now: Date, lookbackDays: number): { from: Date; to: Date } {
  const to = Math.floor(now.getTime() / 3_600_000) * 3_600_000;
  return { from: new Date(to - lookbackDays * DAY), to: new Date(to) };
}

/** One run per agent and window: its id, and a Vertex label value naming it (lower case, ≤ 63). */
export function trainingRunId(agentId: string, window: { to: Date }): string {
  const stamp = window.to.toISOString().slice(0, 16).replace(/[-:T]/g, '');
  return `${agentId}-${stamp}`;
}

/** The label every Sapphire custom job carries, so a job is found by its run after a crash. */
export const RUN_LABEL = 'sapphire_run';

export function runStatusOfJob(state: string): TrainingRunStatus {
  switch (state) {
    case 'JOB_STATE_SUCCEEDED':
      return 'succeeded';
    case 'JOB_STATE_FAILED':
    case 'JOB_STATE_EXPIRED':
    case 'JOB_STATE_PARTIALLY_SUCCEEDED':
      return 'failed';
    case 'JOB_STATE_CANCELLED':
    case 'JOB_STATE_CANCELLING':
      return 'cancelled';
    case 'JOB_STATE_RUNNING':
    case 'JOB_STATE_UPDATING':
      return 'running';
    default:
      return 'pending';
  }
}

export interface TrainingCaps {
  /** GPU jobs pending or running at once, over all agents. */
  readonly maxConcurrentJobs: number;
  /** Jobs one agent may start in a rolling week. */
  readonly maxRunsPerAgentPerWeek: number;
}

/** Why a new job may not start now, or undefined when it may. */
export function capRefusal(caps: TrainingCaps, activeJobs: number, agentJobsThisWeek: number): string | undefined {
  if (activeJobs >= caps.maxConcurrentJobs) return `${activeJobs} training jobs already active (at most ${caps.maxConcurrentJobs} at once)`;
  if (agentJobsThisWeek >= caps.maxRunsPerAgentPerWeek) return `${agentJobsThisWeek} jobs for this agent in the last 7 days (at most ${caps.maxRunsPerAgentPerWeek})`;
  return undefined;
}

export interface PromotionDecision {
  readonly promote: boolean;
  readonly reason: string;
}

/**
 * The gate: a candidate serves only if it beats the serving model's figure on the same
 * validation window by at least `margin` (a fraction of the serving figure's size). With no
 * serving model, any candidate serves.
 */
export function promotionDecision(candidate: ValidationMetric, deployed: ValidationMetric | undefined, margin: number): PromotionDecision {
  if (!deployed) return { promote: true, reason: `no model serves yet; ${candidate.name} ${candidate.value}` };
  if (deployed.name !== candidate.name || deployed.higherIsBetter !== candidate.higherIsBetter) {
    return { promote: false, reason: `metrics differ (${candidate.name} vs ${deployed.name}): promote by hand if intended` };
  }
  const needed = Math.abs(deployed.value) * margin;
  const gain = candidate.higherIsBetter ? candidate.value - deployed.value : deployed.value - candidate.value;
  const figures = `${candidate.name} ${candidate.value} vs serving ${deployed.value}, needs a gain of ${needed}`;
  return gain > needed ? { promote: true, reason: `better: ${figures}` } : { promote: false, reason: `not better by the margin: ${figures}` };
}

export interface JobImages {
  readonly trainerImageUri: string;
}

export interface MachineChoice {
  readonly machineType: string;
  readonly acceleratorType: string;
  readonly acceleratorCount: number;
}

export interface CustomJobRequest {
  readonly displayName: string;
  readonly labels: Record<string, string>;
  readonly jobSpec: {
    readonly workerPoolSpecs: readonly {
      readonly machineSpec: MachineChoice;
      readonly replicaCount: number;
      readonly containerSpec: { readonly imageUri: string; readonly args: readonly string[] };
    }[];
    readonly baseOutputDirectory: { readonly outputUriPrefix: string };
    readonly serviceAccount?: string;
    /** A protobuf Duration: the client sends it as "43200s". */
    readonly scheduling: { readonly timeout: { readonly seconds: number } };
  };
}

/** The CustomJob a run asks Vertex for: one GPU worker running the trainer on the run's dataset. */
export function customJobRequest(
  run: Pick<TrainingRun, 'runId' | 'agentId' | 'kind'>,
  dataset: { readonly train: string; readonly validation: string },
  options: {
    readonly image: string;
    readonly machine: MachineChoice;
    readonly outputDirectory: string;
    readonly timeoutHours: number;
    readonly serviceAccount?: string;
    readonly baseModel?: string;
    /** The serving model's artifacts: the trainer measures it on the same validation set, for the gate. */
    readonly baselineModel?: string;
  },
): CustomJobRequest {
  return {
    displayName: `sapphire-train-${run.runId}`,
    labels: { [RUN_LABEL]: run.runId, sapphire_agent: run.agentId },
    jobSpec: {
      workerPoolSpecs: [
        {
          machineSpec: options.machine,
          replicaCount: 1,
          containerSpec: {
            imageUri: options.image,
            args: [
              `--agent=${run.agentId}`,
              `--kind=${run.kind}`,
              `--train=${dataset.train}`,
              `--validation=${dataset.validation}`,
              ...(options.baseModel ? [`--base-model=${options.baseModel}`] : []),
              ...(options.baselineModel ? [`--baseline-model=${options.baselineModel}`] : []),
            ],
          },
        },
      ],
      baseOutputDirectory: { outputUriPrefix: options.outputDirectory },
      ...(options.serviceAccount ? { serviceAccount: options.serviceAccount } : {}),
      scheduling: { timeout: { seconds: options.timeoutHours * 3_600 } },
    },
  };
}
