import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { protos } from '@google-cloud/aiplatform';
import { OAuth2Client } from 'google-auth-library';

/**
 * A local stand-in for the Vertex AI REST API (v1), so `@google-cloud/aiplatform`'s real clients
 * run unchanged against it (REST transport, `fallback: true`):
 *   POST {endpoint}:predict                 scripted replies, or forwarded to a serving container
 *   POST {parent}/customJobs, GET …/customJobs/{id}, GET {parent}/customJobs?filter=labels.k="v"
 *   POST {parent}/models:upload, GET …/models/{id}
 *   POST {endpoint}:deployModel | :undeployModel, GET {endpoint}
 *   GET  …/operations/{id}                  every long-running operation is done at once
 * Custom jobs start PENDING; a test (or the local stack) moves them with `setJobState`.
 */

export type Reply =
  | { readonly predictions: unknown[]; readonly delayMs?: number }
  | { readonly status: number; readonly delayMs?: number };

export interface CustomJob {
  name: string;
  displayName: string;
  labels: Record<string, string>;
  jobSpec: Record<string, unknown>;
  state: string;
  error?: { code: number; message: string };
  createTime: string;
  updateTime: string;
}

export interface DeployedModel {
  id: string;
  model: string;
  displayName?: string;
}

export interface VertexStandIn {
  readonly host: string;
  readonly port: number;
  /** Predict calls, by endpoint resource name. */
  readonly requests: { endpoint: string; body: { instances: unknown[] } }[];
  /** Every control-plane call: method, path and body. */
  readonly calls: { method: string; path: string; body: unknown }[];
  readonly jobs: Map<string, CustomJob>;
  readonly models: Map<string, Record<string, unknown>>;
  script(endpoint: string, ...replies: Reply[]): void;
  /** Predictions for `endpoint` come from a serving container at `url` (Vertex's custom-container contract). */
  forward(endpoint: string, url: string, predictRoute?: string): void;
  setJobState(jobName: string, state: string, error?: { code: number; message: string }): void;
  deployedModels(endpoint: string): readonly DeployedModel[];
  close(): Promise<void>;
}

const V1 = '/v1/';

/** Proto3 JSON lets a client send an enum as its number (the REST transport does); Vertex keeps the name. */
function withEnumNames(jobSpec: Record<string, unknown>): Record<string, unknown> {
  const accelerators = protos.google.cloud.aiplatform.v1.AcceleratorType as unknown as Record<number, string>;
  const pools = (jobSpec.workerPoolSpecs as { machineSpec?: { acceleratorType?: unknown } }[] | undefined) ?? [];
  for (const pool of pools) {
    const type = pool.machineSpec?.acceleratorType;
    if (pool.machineSpec && typeof type === 'number') pool.machineSpec.acceleratorType = accelerators[type] ?? type;
  }
  return jobSpec;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function notFound(res: ServerResponse, what: string): void {
  send(res, 404, { error: { code: 404, message: `${what} not found`, status: 'NOT_FOUND' } });
}

/** `labels.sapphire_run="qwen-7b-202303130000"` and the like, joined by AND. */
function matchesFilter(job: CustomJob, filter: string | null): boolean {
  if (!filter) return true;
  return [...filter.matchAll(/labels\.([a-z0-9_-]+)\s*=\s*"([^"]*)"/g)].every(([, key, value]) => job.labels[key as string] === value);
}

export async function startVertexStandIn(): Promise<VertexStandIn> {
  const scripts = new Map<string, Reply[]>();
  const forwards = new Map<string, { url: string; route: string }>();
  const requests: VertexStandIn['requests'] = [];
  const calls: VertexStandIn['calls'] = [];
  const jobs = new Map<string, CustomJob>();
  const models = new Map<string, Record<string, unknown>>();
  const endpoints = new Map<string, { deployedModels: DeployedModel[]; trafficSplit: Record<string, number> }>();
  const operations = new Map<string, Record<string, unknown>>();
  let nextId = 1_000;

  const operation = (parent: string, type: string, response: Record<string, unknown>) => {
    const name = `${parent}/operations/${nextId++}`;
    const op = { name, done: true, response: { '@type': `type.googleapis.com/google.cloud.aiplatform.v1.${type}`, ...response } };
    operations.set(name, op);
    return op;
  };
  const endpointOf = (name: string) => {
    let endpoint = endpoints.get(name);
    if (!endpoint) {
      endpoint = { deployedModels: [], trafficSplit: {} };
      endpoints.set(name, endpoint);
    }
    return endpoint;
  };

  async function predict(endpoint: string, body: string, res: ServerResponse): Promise<void> {
    requests.push({ endpoint, body: JSON.parse(body) as { instances: unknown[] } });
    const forward = forwards.get(endpoint);
    if (forward) {
      const answer = await fetch(`${forward.url}${forward.route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const text = await answer.text();
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(answer.ok ? JSON.stringify({ ...(JSON.parse(text) as object), deployedModelId: '1' }) : text);
      return;
    }
    const queue = scripts.get(endpoint) ?? [];
    const reply = (queue.length > 1 ? queue.shift() : queue[0]) ?? { status: 404 };
    setTimeout(() => {
      if (res.destroyed) return;
      if ('status' in reply) {
        send(res, reply.status, { error: { code: reply.status, message: 'scripted failure', status: 'UNAVAILABLE' } });
        return;
      }
      send(res, 200, { predictions: reply.predictions, deployedModelId: '1' });
    }, reply.delayMs ?? 0);
  }

  function control(method: string, path: string, query: URLSearchParams, body: Record<string, unknown>, res: ServerResponse): void {
    calls.push({ method, path, body });
    const now = new Date().toISOString();
    let m: RegExpExecArray | null;
    if (method === 'POST' && (m = /^(projects\/[^/]+\/locations\/[^/]+)\/customJobs$/.exec(path))) {
      const name = `${m[1]}/customJobs/${nextId++}`;
      const job: CustomJob = {
        ...(body as Partial<CustomJob>),
        name,
        displayName: String(body.displayName ?? ''),
        labels: (body.labels as Record<string, string>) ?? {},
        jobSpec: withEnumNames((body.jobSpec as Record<string, unknown>) ?? {}),
        state: 'JOB_STATE_PENDING',
        createTime: now,
        updateTime: now,
      };
      jobs.set(name, job);
      send(res, 200, job);
      return;
    }
    if (method === 'GET' && (m = /^(projects\/[^/]+\/locations\/[^/]+)\/customJobs$/.exec(path))) {
      const parent = m[1] as string;
      send(res, 200, { customJobs: [...jobs.values()].filter((j) => j.name.startsWith(`${parent}/`) && matchesFilter(j, query.get('filter'))) });
      return;
    }
    if (method === 'GET' && /^projects\/[^/]+\/locations\/[^/]+\/customJobs\/[^/:]+$/.test(path)) {
      const job = jobs.get(path);
      if (job) send(res, 200, job);
      else notFound(res, path);
      return;
    }
    if (method === 'POST' && (m = /^(projects\/[^/]+\/locations\/[^/]+\/customJobs\/[^/:]+):cancel$/.exec(path))) {
      const job = jobs.get(m[1] as string);
      if (!job) return notFound(res, path);
      job.state = 'JOB_STATE_CANCELLED';
      job.updateTime = now;
      send(res, 200, {});
      return;
    }
    if (method === 'POST' && (m = /^(projects\/[^/]+\/locations\/[^/]+)\/models:upload$/.exec(path))) {
      const name = `${m[1]}/models/${nextId++}`;
      models.set(name, { ...(body.model as Record<string, unknown>), name, createTime: now });
      send(res, 200, operation(name, 'UploadModelResponse', { model: name }));
      return;
    }
    if (method === 'GET' && /^projects\/[^/]+\/locations\/[^/]+\/models\/[^/:]+$/.test(path)) {
      const model = models.get(path);
      if (model) send(res, 200, model);
      else notFound(res, path);
      return;
    }
    if (method === 'POST' && (m = /^(projects\/[^/]+\/locations\/[^/]+\/endpoints\/[^/:]+):deployModel$/.exec(path))) {
      const endpointName = m[1] as string;
      const requested = (body.deployedModel ?? {}) as Record<string, unknown>;
      if (!models.has(String(requested.model))) return notFound(res, String(requested.model));
      const deployed: DeployedModel = { id: String(nextId++), model: String(requested.model), displayName: String(requested.displayName ?? '') };
      const endpoint = endpointOf(endpointName);
      endpoint.deployedModels.push(deployed);
      // Vertex: '0' in a traffic split names the model being deployed.
      const split = (body.trafficSplit as Record<string, number> | undefined) ?? { '0': 100 };
      endpoint.trafficSplit = Object.fromEntries(Object.entries(split).map(([id, share]) => [id === '0' ? deployed.id : id, share]));
      send(res, 200, operation(endpointName, 'DeployModelResponse', { deployedModel: deployed }));
      return;
    }
    if (method === 'POST' && (m = /^(projects\/[^/]+\/locations\/[^/]+\/endpoints\/[^/:]+):undeployModel$/.exec(path))) {
      const endpoint = endpointOf(m[1] as string);
      endpoint.deployedModels = endpoint.deployedModels.filter((d) => d.id !== body.deployedModelId);
      endpoint.trafficSplit = (body.trafficSplit as Record<string, number> | undefined) ?? {};
      send(res, 200, operation(m[1] as string, 'UndeployModelResponse', {}));
      return;
    }
    if (method === 'GET' && /^projects\/[^/]+\/locations\/[^/]+\/endpoints\/[^/:]+$/.test(path)) {
      const endpoint = endpointOf(path);
      send(res, 200, { name: path, deployedModels: endpoint.deployedModels, trafficSplit: endpoint.trafficSplit });
      return;
    }
    if (method === 'GET' && /\/operations\/[^/]+$/.test(path)) {
      const op = operations.get(path);
      if (op) send(res, 200, op);
      else notFound(res, path);
      return;
    }
    notFound(res, `${method} ${path}`);
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      if (!url.pathname.startsWith(V1)) return notFound(res, url.pathname);
      const path = decodeURIComponent(url.pathname.slice(V1.length));
      const predictMatch = /^(projects\/[^/]+\/locations\/[^/]+\/endpoints\/[^/:]+):predict$/.exec(path);
      try {
        if (req.method === 'POST' && predictMatch?.[1]) {
          predict(predictMatch[1], body, res).catch((error: unknown) => send(res, 503, { error: { code: 503, message: String(error), status: 'UNAVAILABLE' } }));
          return;
        }
        control(req.method ?? 'GET', path, url.searchParams, body ? (JSON.parse(body) as Record<string, unknown>) : {}, res);
      } catch (error) {
        send(res, 400, { error: { code: 400, message: (error as Error).message, status: 'INVALID_ARGUMENT' } });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    requests,
    calls,
    jobs,
    models,
    script: (endpoint, ...replies) => void scripts.set(endpoint, [...replies]),
    forward: (endpoint, url, predictRoute = '/predict') => void forwards.set(endpoint, { url, route: predictRoute }),
    setJobState: (jobName, state, error) => {
      const job = jobs.get(jobName);
      if (!job) throw new Error(`no custom job ${jobName}`);
      job.state = state;
      job.updateTime = new Date().toISOString();
      if (error) job.error = error;
    },
    deployedModels: (endpoint) => endpointOf(endpoint).deployedModels,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Credentials that need no network: a fixed access token. */
export function staticTokenAuth(): OAuth2Client {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: 'stand-in-token', expiry_date: Date.now() + 3_600_000 });
  return client;
}
