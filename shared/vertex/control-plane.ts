import type { v1 } from '@google-cloud/aiplatform';
import type { CustomJobRequest } from '../domain/training.js';
import { RUN_LABEL } from '../domain/training.js';

/**
 * Vertex AI's control plane for training and serving, through `@google-cloud/aiplatform`'s
 * JobService, ModelService and EndpointService clients over REST (the protocol a local
 * stand-in speaks in tests). Clients load on first use: most function calls never train.
 */

export interface ControlPlaneOptions {
  readonly project: string;
  readonly location: string;
  /** API host; defaults to `<location>-aiplatform.googleapis.com`; locally host:port. */
  readonly apiEndpoint?: string;
  readonly authClient?: unknown;
}

export interface JobStatus {
  readonly name: string;
  readonly state: string;
  readonly error?: string;
  readonly createTime?: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface ModelUpload {
  readonly displayName: string;
  readonly artifactUri: string;
  readonly servingImageUri: string;
  readonly labels: Record<string, string>;
  readonly description?: string;
}

export interface ServingMachine {
  readonly machineType: string;
  readonly acceleratorType?: string;
  readonly acceleratorCount?: number;
}

export interface ServingModel {
  readonly deployedModelId: string;
  readonly modelName: string;
}

/** A plain-http endpoint is a local stand-in: it needs a bearer token, not Google credentials. */
async function localStandInAuth(): Promise<unknown> {
  const { OAuth2Client } = await import('google-auth-library');
  const client = new OAuth2Client();
  client.setCredentials({ access_token: 'local-stand-in', expiry_date: Date.now() + 365 * 24 * 3_600_000 });
  return client;
}

interface Clients {
  readonly jobs: v1.JobServiceClient;
  readonly models: v1.ModelServiceClient;
  readonly endpoints: v1.EndpointServiceClient;
}

function jobStatus(job: { name?: string | null; state?: unknown; error?: { message?: string | null } | null; createTime?: unknown; labels?: Record<string, string> | null }): JobStatus {
  const created = job.createTime as { seconds?: unknown } | string | undefined;
  return {
    name: job.name ?? '',
    state: String(job.state ?? 'JOB_STATE_UNSPECIFIED'),
    ...(job.error?.message ? { error: job.error.message } : {}),
    ...(typeof created === 'string' ? { createTime: created } : created?.seconds ? { createTime: new Date(Number(created.seconds) * 1000).toISOString() } : {}),
    labels: job.labels ?? {},
  };
}

export class VertexControlPlane {
  private clients: Promise<Clients> | undefined;
  readonly parent: string;

  constructor(private readonly options: ControlPlaneOptions) {
    this.parent = `projects/${options.project}/locations/${options.location}`;
  }

  private connect(): Promise<Clients> {
    this.clients ??= import('@google-cloud/aiplatform').then(async ({ v1: api }) => {
      const endpoint = this.options.apiEndpoint ?? `${this.options.location}-aiplatform.googleapis.com`;
      const [host, port] = endpoint.replace(/^https?:\/\//, '').split(':');
      const local = endpoint.startsWith('http://');
      const authClient = this.options.authClient ?? (local ? await localStandInAuth() : undefined);
      const settings = {
        apiEndpoint: host as string,
        ...(port ? { port: Number(port) } : {}),
        protocol: local ? 'http' : 'https',
        fallback: true,
        ...(authClient ? { authClient: authClient as never } : {}),
      } as const;
      return { jobs: new api.JobServiceClient(settings), models: new api.ModelServiceClient(settings), endpoints: new api.EndpointServiceClient(settings) };
    });
    return this.clients;
  }

  async createCustomJob(request: CustomJobRequest): Promise<JobStatus> {
    const { jobs } = await this.connect();
    const [job] = await jobs.createCustomJob({ parent: this.parent, customJob: request as never });
    return jobStatus(job);
  }

  /** The job a run created, found by its label: how a crash between create and record is recovered. */
  async findJobOfRun(runId: string): Promise<JobStatus | undefined> {
    const { jobs } = await this.connect();
    const [found] = await jobs.listCustomJobs({ parent: this.parent, filter: `labels.${RUN_LABEL}="${runId}"` }, { autoPaginate: false } as never);
    const job = found.find((j) => j.labels?.[RUN_LABEL] === runId);
    return job && jobStatus(job);
  }

  /** Jobs of Sapphire's that are queued, pending or running. */
  async activeJobs(): Promise<JobStatus[]> {
    const { jobs } = await this.connect();
    const [found] = await jobs.listCustomJobs(
      { parent: this.parent, filter: `labels.${RUN_LABEL}:* AND (state="JOB_STATE_QUEUED" OR state="JOB_STATE_PENDING" OR state="JOB_STATE_RUNNING")` },
      { autoPaginate: false } as never,
    );
    return found.map(jobStatus).filter((j) => j.labels[RUN_LABEL] && ['JOB_STATE_QUEUED', 'JOB_STATE_PENDING', 'JOB_STATE_RUNNING'].includes(j.state));
  }

  async job(name: string): Promise<JobStatus> {
    const { jobs } = await this.connect();
    const [job] = await jobs.getCustomJob({ name });
    return jobStatus(job);
  }

  async cancelJob(name: string): Promise<void> {
    const { jobs } = await this.connect();
    await jobs.cancelCustomJob({ name });
  }

  /** Uploads a trained model; resolves with its resource name once Vertex has it. */
  async uploadModel(upload: ModelUpload): Promise<string> {
    const { models } = await this.connect();
    const [operation] = await models.uploadModel({
      parent: this.parent,
      model: {
        displayName: upload.displayName,
        artifactUri: upload.artifactUri,
        labels: upload.labels,
        ...(upload.description ? { description: upload.description } : {}),
        containerSpec: { imageUri: upload.servingImageUri, predictRoute: '/predict', healthRoute: '/health', ports: [{ containerPort: 8080 }] },
      },
    });
    const [response] = await operation.promise();
    if (!response.model) throw new Error('Vertex answered the model upload without a model name');
    return response.model;
  }

  /** Deploys `modelName` to `endpoint` with all traffic, replacing what served before. */
  async deployModel(endpoint: string, modelName: string, displayName: string, machine: ServingMachine): Promise<ServingModel> {
    const { endpoints } = await this.connect();
    const [operation] = await endpoints.deployModel({
      endpoint,
      deployedModel: { model: modelName, displayName, dedicatedResources: { machineSpec: machine as never, minReplicaCount: 1, maxReplicaCount: 1 } },
      trafficSplit: { '0': 100 },
    });
    const [response] = await operation.promise();
    const id = response.deployedModel?.id;
    if (!id) throw new Error('Vertex answered the deployment without a deployed model id');
    return { deployedModelId: id, modelName };
  }

  /** The model taking the most traffic on `endpoint`, if any. */
  async servingModel(endpoint: string): Promise<ServingModel | undefined> {
    const { endpoints } = await this.connect();
    const [found] = await endpoints.getEndpoint({ name: endpoint });
    const split = Object.entries(found.trafficSplit ?? {}).sort((a, b) => Number(b[1]) - Number(a[1]));
    const top = split[0]?.[0];
    const deployed = (found.deployedModels ?? []).find((d) => d.id === top) ?? found.deployedModels?.[0];
    return deployed?.id && deployed.model ? { deployedModelId: deployed.id, modelName: deployed.model } : undefined;
  }

  async close(): Promise<void> {
    if (!this.clients) return;
    const { jobs, models, endpoints } = await this.clients;
    await Promise.all([jobs.close(), models.close(), endpoints.close()]);
  }
}
