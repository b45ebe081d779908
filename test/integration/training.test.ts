import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AGENTS } from '../../shared/domain/agents.js';
import type { AlertMessage } from '../../shared/domain/messages.js';
import { USD } from '../../shared/domain/money.js';
import { customJobRequest } from '../../shared/domain/training.js';
import { BinanceFuturesClient } from '../../shared/exchange/binance-futures/client.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { COLLECTIONS } from '../../shared/firestore/collections.js';
import { TrainingRuns } from '../../shared/firestore/training-runs.js';
import { pubsubFor } from '../../shared/pubsub/client.js';
import { JsonPublisher } from '../../shared/pubsub/publisher.js';
import { ObjectStore } from '../../shared/storage/objects.js';
import { checkTrainingRuns } from '../../shared/training/check.js';
import type { TrainingDeps, TrainingSettings } from '../../shared/training/deps.js';
import { startTraining } from '../../shared/training/kickoff.js';
import { promoteRun, rollbackAgent } from '../../shared/training/lifecycle.js';
import { VertexControlPlane } from '../../shared/vertex/control-plane.js';
import { TOPICS } from '../../triggers/manifest.js';
import { type GcsEmulator, createBucket, startGcsEmulator } from '../../scripts/lib/gcs-emulator.js';
import type { MarketStandIn } from '../../scripts/lib/market-standin.js';
import { type LocalPushDelivery, provisionPubSub } from '../../scripts/lib/provision.js';
import { type VertexStandIn, startVertexStandIn, staticTokenAuth } from '../../scripts/lib/vertex-standin.js';
import { startReplayAt } from '../support/market.js';
import { TopicTap, closeInOrder, isolatedProject } from '../support/stack.js';
import { seedTestAgent } from '../support/trading.js';

/**
 * Training kickoffs end to end with the real clients: @google-cloud/aiplatform against the Vertex
 * stand-in, @google-cloud/storage against fake-gcs-server, Firestore and Pub/Sub emulators, and
 * the market replay for candles.
 */

const projectId = isolatedProject('training');
const db = firestoreFor(projectId);
const BUCKET = 'sapphire-test-training';
const LOCATION = 'europe-west4';
const WINDOW = { from: new Date('2023-03-08T00:00:00Z'), to: new Date('2023-03-08T06:00:00Z') };
const endpointOf = (agentId: string) => `projects/${projectId}/locations/${LOCATION}/endpoints/${agentId.length}`;

let gcs: GcsEmulator;
let vertex: VertexStandIn;
let venue: MarketStandIn;
let delivery: LocalPushDelivery | undefined;
let alerts: TopicTap<AlertMessage>;
let controlPlane: VertexControlPlane;
let deps: TrainingDeps;

const settings = (agentIds: readonly string[], overrides: Partial<TrainingSettings> = {}): TrainingSettings => ({
  bucket: BUCKET,
  schedule: { periodDays: 7, lookbackDays: 28 },
  caps: { maxConcurrentJobs: 10, maxRunsPerAgentPerWeek: 10 },
  labelHorizonMinutes: 15,
  validationFraction: 0.25,
  minRows: 5,
  promotionMargin: 0.02,
  timeoutHours: 12,
  machine: { machineType: 'a2-highgpu-1g', acceleratorType: 'NVIDIA_TESLA_A100', acceleratorCount: 1 },
  trainerImage: 'europe-west4-docker.pkg.dev/sapphire-test/sapphire/trainer:abc123',
  servingImages: { llm: 'europe-west4-docker.pkg.dev/sapphire-test/sapphire/llm-serving:abc123', forecaster: 'europe-west4-docker.pkg.dev/sapphire-test/sapphire/lagllama-serving:abc123' },
  servingMachines: { llm: { machineType: 'g2-standard-12', acceleratorType: 'NVIDIA_L4', acceleratorCount: 1 }, forecaster: { machineType: 'n1-standard-4' } },
  endpoints: Object.fromEntries(agentIds.map((id) => [id, endpointOf(id)])),
  ...overrides,
});

/** An LLM agent that decided every 15 minutes of the window, as agent-inference records it. */
async function agentWithDecisions(agentId: string, every = 15): Promise<void> {
  await seedTestAgent(db, agentId, { ...DEFAULT_AGENTS[1], agentId, allowedSymbols: ['BTCUSDT'], training: { baseModel: 'Qwen/Qwen2.5-7B-Instruct' } });
  const batch = db.batch();
  for (let t = WINDOW.from.getTime() + 60 * 60_000; t < WINDOW.to.getTime(); t += every * 60_000) {
    const decidedFor = new Date(t).toISOString();
    batch.set(db.collection(COLLECTIONS.agentDecisions).doc(`${agentId}:${decidedFor}`), {
      agentId,
      model: 'local-baseline',
      action: 'HOLD',
      source: 'model',
      latencyMs: 1,
      reason: 'within the band',
      decidedFor,
      context: { symbols: ['BTCUSDT'], freeMarginMicros: 1_000 * USD, positions: [] },
      recordedAt: decidedFor,
    });
  }
  await batch.commit();
}

const jobsOf = (runId: string) => [...vertex.jobs.values()].filter((j) => j.labels.sapphire_run === runId);

beforeAll(async () => {
  [gcs, vertex, venue] = await Promise.all([startGcsEmulator(), startVertexStandIn(), startReplayAt('2023-03-13T00:00:00Z')]);
  await createBucket(gcs.url, projectId, BUCKET);
  const pubsub = pubsubFor(projectId);
  delivery = await provisionPubSub(pubsub, () => undefined);
  alerts = await TopicTap.open<AlertMessage>(pubsub, TOPICS.alerts);
  controlPlane = new VertexControlPlane({ project: projectId, location: LOCATION, apiEndpoint: `http://${vertex.host}:${vertex.port}`, authClient: staticTokenAuth() });
  deps = {
    db,
    runs: new TrainingRuns(db),
    objects: new ObjectStore(projectId, gcs.url),
    vertex: controlPlane,
    market: new BinanceFuturesClient({ baseUrl: venue.url }),
    publisher: new JsonPublisher(pubsub),
    topics: TOPICS,
    settings: settings(['train-agent', 'gate-agent']),
  };
});

afterAll(async () => {
  await closeInOrder(alerts, delivery, controlPlane, venue, vertex, gcs);
});

describe('a training kickoff', () => {
  it('exports the dataset to Cloud Storage and starts one GPU job that names the machine, the trainer image and the dataset', async () => {
    await agentWithDecisions('train-agent');
    const result = await startTraining(deps, { agentId: 'train-agent', requestedBy: 'schedule', window: WINDOW });
    expect(result).toMatchObject({ outcome: 'started', run: { runId: 'train-agent-202303080600', status: 'pending', kind: 'llm' } });
    const run = (result as { run: { dataset: { train: string; validation: string; manifest: string; rows: number }; jobName: string } }).run;
    const prefix = `gs://${BUCKET}/datasets/train-agent/train-agent-202303080600`;
    expect(run.dataset).toMatchObject({ train: `${prefix}/train.jsonl`, validation: `${prefix}/validation.jsonl`, manifest: `${prefix}/manifest.json` });
    // 20 decisions from 01:00 to 05:45; the last one's label (06:00) is the window's end.
    const manifest = JSON.parse((await deps.objects.readText(run.dataset.manifest)) as string) as { labelledRows: number; files: { name: string; rows: number }[] };
    expect(manifest.labelledRows).toBe(run.dataset.rows);
    const train = (await deps.objects.readText(run.dataset.train)) as string;
    expect(train.trim().split('\n')).toHaveLength(manifest.files.find((f) => f.name === 'train.jsonl')?.rows as number);
    expect(JSON.parse(train.split('\n')[0] as string)).toMatchObject({ messages: [{ role: 'user' }, { role: 'assistant' }] });

    const [job] = jobsOf('train-agent-202303080600');
    expect(job?.name).toBe(run.jobName);
    // As the Vertex REST API received it.
    expect(job?.jobSpec).toEqual({
      workerPoolSpecs: [
        {
          machineSpec: { machineType: 'a2-highgpu-1g', acceleratorType: 'NVIDIA_TESLA_A100', acceleratorCount: 1 },
          replicaCount: '1',
          containerSpec: {
            imageUri: 'europe-west4-docker.pkg.dev/sapphire-test/sapphire/trainer:abc123',
            args: ['--agent=train-agent', '--kind=llm', `--train=${prefix}/train.jsonl`, `--validation=${prefix}/validation.jsonl`, '--base-model=Qwen/Qwen2.5-7B-Instruct'],
          },
        },
      ],
      baseOutputDirectory: { outputUriPrefix: `gs://${BUCKET}/runs/train-agent/train-agent-202303080600` },
      scheduling: { timeout: '43200s' },
    });
    expect(job?.labels).toEqual({ sapphire_run: 'train-agent-202303080600', sapphire_agent: 'train-agent' });
  });

  it('starts at most one job for an agent and a window, however often it is retried, even at once', async () => {
    const results = await Promise.all([1, 2, 3].map(() => startTraining(deps, { agentId: 'train-agent', requestedBy: 'schedule', window: WINDOW })));
    expect(results.map((r) => r.outcome)).toEqual(['existing', 'existing', 'existing']);
    expect(jobsOf('train-agent-202303080600')).toHaveLength(1);
  });

  it('finds the job a crashed kickoff created before recording it, instead of creating another', async () => {
    await agentWithDecisions('crash-agent');
    const window = { from: WINDOW.from, to: WINDOW.to };
    const runId = 'crash-agent-202303080600';
    // The crash: the run was claimed and its job created, and nothing more was recorded.
    await deps.runs.claim({ runId, agentId: 'crash-agent', kind: 'llm', window: { from: window.from.toISOString(), to: window.to.toISOString() }, status: 'exporting', requestedBy: 'schedule', outputDirectory: `gs://${BUCKET}/runs/crash-agent/${runId}`, createdAt: new Date().toISOString(), updatedAt: new Date().toISOString() });
    const orphan = await controlPlane.createCustomJob(customJobRequest({ runId, agentId: 'crash-agent', kind: 'llm' }, { train: 'gs://x/t', validation: 'gs://x/v' }, { image: 'img', machine: deps.settings.machine, outputDirectory: 'gs://x/o', timeoutHours: 1 }));

    const result = await startTraining(deps, { agentId: 'crash-agent', requestedBy: 'schedule', window });
    expect(result).toMatchObject({ outcome: 'started', run: { runId, status: 'pending', jobName: orphan.name } });
    expect(jobsOf(runId)).toHaveLength(1);
  });

  it('records a run with too little data as skipped, with its reason, and starts no job', async () => {
    await agentWithDecisions('sparse-agent', 120);
    const result = await startTraining(deps, { agentId: 'sparse-agent', requestedBy: 'schedule', window: WINDOW });
    expect(result).toMatchObject({ outcome: 'skipped', run: { status: 'skipped', reason: expect.stringMatching(/fewer than the 5 required/) } });
    expect(jobsOf('sparse-agent-202303080600')).toHaveLength(0);
  });

  it('refuses a new job beyond the cap on concurrent GPU jobs', async () => {
    await agentWithDecisions('capped-agent');
    const capped = { ...deps, settings: settings([], { caps: { maxConcurrentJobs: 1, maxRunsPerAgentPerWeek: 10 } }) };
    const result = await startTraining(capped, { agentId: 'capped-agent', requestedBy: 'schedule', window: WINDOW });
    expect(result).toMatchObject({ outcome: 'skipped', run: { reason: expect.stringMatching(/training jobs already active \(at most 1 at once\)/) } });
    expect(jobsOf('capped-agent-202303080600')).toHaveLength(0);
  });

  it('answers an unknown agent without claiming anything', async () => {
    expect(await startTraining(deps, { agentId: 'no-such-agent', requestedBy: 'schedule', window: WINDOW })).toEqual({ outcome: 'unknown_agent', agentId: 'no-such-agent' });
    expect(await deps.runs.list('no-such-agent')).toEqual([]);
  });
});

describe('the training check', () => {
  it('follows a job to running and raises an alert when it fails', async () => {
    const run = (await deps.runs.get('train-agent-202303080600'))!;
    vertex.setJobState(run.jobName as string, 'JOB_STATE_RUNNING');
    await checkTrainingRuns(deps);
    expect(await deps.runs.get(run.runId)).toMatchObject({ status: 'running', jobState: 'JOB_STATE_RUNNING' });

    vertex.setJobState(run.jobName as string, 'JOB_STATE_FAILED', { code: 13, message: 'CUDA out of memory' });
    expect(await checkTrainingRuns(deps)).toMatchObject({ alerts: 1 });
    expect(await deps.runs.get(run.runId)).toMatchObject({ status: 'failed', reason: 'CUDA out of memory' });
    const alert = await alerts.waitForMessage('the training alert', (a) => a.episodeId === `training:${run.runId}`);
    expect(alert.data).toMatchObject({ source: 'training', scope: 'train-agent', severity: 'warning', limitType: 'training_failed', transition: 'open' });
    expect(alert.data.message).toContain('CUDA out of memory');
    // A failed run is settled: the next check neither changes it nor alerts again.
    expect(await checkTrainingRuns(deps)).toMatchObject({ alerts: 0 });
  });

  async function succeed(agentId: string, window: { from: Date; to: Date }, metric: number, baseline?: number): Promise<string> {
    const result = await startTraining(deps, { agentId, requestedBy: 'schedule', window });
    const run = (result as { run: { runId: string; jobName: string; outputDirectory: string } }).run;
    await deps.objects.writeText(
      `${run.outputDirectory}/model/metrics.json`,
      JSON.stringify({
        validation_metric: { name: 'eval_loss', value: metric, higher_is_better: false },
        ...(baseline === undefined ? {} : { baseline_validation_metric: { name: 'eval_loss', value: baseline, higher_is_better: false } }),
        train_rows: 12,
        validation_rows: 4,
      }),
    );
    vertex.setJobState(run.jobName, 'JOB_STATE_SUCCEEDED');
    await checkTrainingRuns(deps);
    return run.runId;
  }

  it('uploads a succeeded model and deploys it when nothing serves yet', async () => {
    await agentWithDecisions('gate-agent');
    const runId = await succeed('gate-agent', WINDOW, 1.2);
    const run = await deps.runs.get(runId);
    expect(run).toMatchObject({ status: 'deployed', candidateMetric: { name: 'eval_loss', value: 1.2, higherIsBetter: false } });
    expect(vertex.models.get(run?.modelName as string)).toMatchObject({ artifactUri: `gs://${BUCKET}/runs/gate-agent/${runId}/model`, containerSpec: { imageUri: deps.settings.servingImages.llm } });
    expect(vertex.deployedModels(endpointOf('gate-agent')).map((d) => d.model)).toEqual([run?.modelName]);
    expect(await deps.runs.deploymentOf('gate-agent')).toMatchObject({ current: { runId, modelName: run?.modelName }, previous: [] });
  });

  it('holds back a model that does not beat the serving one on the same validation window, recording both figures', async () => {
    const later = { from: WINDOW.from, to: new Date('2023-03-08T05:00:00Z') };
    const runId = await succeed('gate-agent', later, 1.19, 1.2);
    expect(await deps.runs.get(runId)).toMatchObject({
      status: 'gated',
      candidateMetric: { value: 1.19 },
      deployedMetric: { value: 1.2 },
      reason: expect.stringMatching(/^not better by the margin/),
    });
    expect(vertex.deployedModels(endpointOf('gate-agent'))).toHaveLength(1);
    // The job was asked to measure the serving model on the same validation set.
    const args = (jobsOf(runId)[0]?.jobSpec as { workerPoolSpecs: { containerSpec: { args: string[] } }[] }).workerPoolSpecs[0]?.containerSpec.args;
    expect(args).toContain(`--baseline-model=gs://${BUCKET}/runs/gate-agent/gate-agent-202303080600/model`);
  });

  it('lets an operator promote the held-back model and roll back to the one before, both audited', async () => {
    const gatedRunId = 'gate-agent-202303080500';
    const promoted = await promoteRun(deps, 'gate-agent', gatedRunId, { by: 'operator:alice', reason: 'reviewed the eval by hand' });
    expect(promoted).toMatchObject({ status: 'deployed' });
    const afterPromote = await deps.runs.deploymentOf('gate-agent');
    expect(afterPromote?.current.runId).toBe(gatedRunId);
    expect(afterPromote?.previous.map((p) => p.runId)).toEqual(['gate-agent-202303080600']);

    const back = await rollbackAgent(deps, 'gate-agent', { by: 'operator:alice', reason: 'live PnL worse' });
    expect(back).toMatchObject({ runId: 'gate-agent-202303080600' });
    expect((await deps.runs.deploymentOf('gate-agent'))?.current.runId).toBe('gate-agent-202303080600');
    const audit = (await db.collection(COLLECTIONS.modelDeploymentChanges).where('agentId', '==', 'gate-agent').get()).docs.map((d) => d.data());
    expect(audit.map((a) => [a.action, a.by, a.reason])).toHaveLength(3);
    expect(audit.map((a) => [a.action, a.by, a.reason])).toEqual(
      expect.arrayContaining([
        ['promote', 'training-gate', expect.stringMatching(/^no model serves yet/)],
        ['promote', 'operator:alice', 'reviewed the eval by hand'],
        ['rollback', 'operator:alice', 'live PnL worse'],
      ]),
    );
  });
});
