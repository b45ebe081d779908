import type { Firestore } from '@google-cloud/firestore';
import type { Config } from '../config.js';
import type { MarketData } from '../domain/exchange.js';
import type { MachineChoice, TrainingCaps, TrainingSchedule } from '../domain/training.js';
import type { TrainingRuns } from '../firestore/training-runs.js';
import type { MessagePublisher } from '../pubsub/publisher.js';
import type { ObjectStore } from '../storage/objects.js';
import type { VertexControlPlane } from '../vertex/control-plane.js';

/** How training runs: the deployment's settings, frozen at start. */
export interface TrainingSettings {
  readonly bucket: string;
  readonly schedule: TrainingSchedule;
  readonly caps: TrainingCaps;
  readonly labelHorizonMinutes: number;
  readonly validationFraction: number;
  readonly minRows: number;
  readonly promotionMargin: number;
  readonly timeoutHours: number;
  readonly machine: MachineChoice;
  readonly trainerImage: string;
  readonly servingImages: { readonly llm: string; readonly forecaster: string };
  /** A serving replica on an agent's endpoint, per kind: the LLMs need a GPU, Lag-Llama does not. */
  readonly servingMachines: { readonly llm: MachineChoice; readonly forecaster: { readonly machineType: string } };
  readonly serviceAccount?: string;
  /** Vertex endpoint resource name per agent. */
  readonly endpoints: Readonly<Record<string, string>>;
}

export interface TrainingDeps {
  readonly db: Firestore;
  readonly runs: TrainingRuns;
  readonly objects: ObjectStore;
  readonly vertex: VertexControlPlane;
  readonly market: MarketData;
  readonly publisher: MessagePublisher;
  readonly topics: Config['topics'];
  readonly settings: TrainingSettings;
  readonly clock?: () => Date;
}

export function trainingSettingsFrom(config: Config): TrainingSettings | undefined {
  if (!config.TRAINING_BUCKET) return undefined;
  return Object.freeze({
    bucket: config.TRAINING_BUCKET,
    schedule: { periodDays: config.TRAINING_PERIOD_DAYS, lookbackDays: config.TRAINING_LOOKBACK_DAYS },
    caps: { maxConcurrentJobs: config.TRAINING_MAX_CONCURRENT_JOBS, maxRunsPerAgentPerWeek: config.TRAINING_MAX_RUNS_PER_AGENT_PER_WEEK },
    labelHorizonMinutes: config.TRAINING_LABEL_HORIZON_MINUTES,
    validationFraction: config.TRAINING_VALIDATION_FRACTION,
    minRows: config.TRAINING_MIN_ROWS,
    promotionMargin: config.TRAINING_PROMOTION_MARGIN,
    timeoutHours: config.TRAINING_TIMEOUT_HOURS,
    machine: { machineType: config.TRAINING_MACHINE_TYPE, acceleratorType: config.TRAINING_ACCELERATOR_TYPE, acceleratorCount: config.TRAINING_ACCELERATOR_COUNT },
    trainerImage: config.TRAINER_IMAGE_URI,
    servingImages: { llm: config.LLM_SERVING_IMAGE_URI, forecaster: config.LAGLLAMA_SERVING_IMAGE_URI },
    servingMachines: { llm: { machineType: 'g2-standard-12', acceleratorType: 'NVIDIA_L4', acceleratorCount: 1 }, forecaster: { machineType: 'n1-standard-4' } },
    ...(config.TRAINER_SERVICE_ACCOUNT ? { serviceAccount: config.TRAINER_SERVICE_ACCOUNT } : {}),
    endpoints: config.VERTEX_ENDPOINTS,
  });
}

export function now(deps: TrainingDeps): Date {
  return deps.clock ? deps.clock() : new Date();
}
