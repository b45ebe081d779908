import type { v1 } from '@google-cloud/aiplatform';
import type { Json } from './values.js';
import { fromProtoValue, toProtoValue } from './values.js';

/**
 * Vertex AI online prediction through `@google-cloud/aiplatform`'s PredictionServiceClient,
 * over its REST transport (no gRPC start-up cost in a function; the same protocol a local
 * stand-in speaks in tests).
 */

export interface PredictorOptions {
  /** e.g. us-central1-aiplatform.googleapis.com; locally 127.0.0.1. */
  readonly apiEndpoint: string;
  readonly port?: number;
  readonly protocol?: 'https' | 'http';
  /** Credentials; when absent, Application Default Credentials. */
  readonly authClient?: unknown;
}

/** A transport failure (timeout, 5xx, unreachable): worth retrying, and counted by the circuit. */
export class PredictionUnavailable extends Error {
  override readonly name = 'PredictionUnavailable';
}

export class VertexPredictor {
  /** Loaded on first use: the client library takes most of a cold start, and most calls never predict. */
  private client: Promise<v1.PredictionServiceClient> | undefined;

  constructor(private readonly options: PredictorOptions) {}

  private connect(): Promise<v1.PredictionServiceClient> {
    this.client ??= import('@google-cloud/aiplatform').then(
      ({ v1: api }) =>
        new api.PredictionServiceClient({
          apiEndpoint: this.options.apiEndpoint,
          ...(this.options.port ? { port: this.options.port } : {}),
          ...(this.options.protocol ? { protocol: this.options.protocol } : {}),
          fallback: true,
          ...(this.options.authClient ? { authClient: this.options.authClient as never } : {}),
        }),
    );
    return this.client;
  }

  async predict(endpoint: string, instances: readonly unknown[], timeoutMs: number, parameters?: unknown): Promise<Json[]> {
    // Loading the library is not the prediction: the deadline starts once the client exists.
    const client = await this.connect();
    let timer: NodeJS.Timeout | undefined;
    // Our own deadline: the REST transport does not always honour the call's timeout.
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PredictionUnavailable(`prediction timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const call = client.predict(
        {
          endpoint,
          instances: instances.map(toProtoValue) as never,
          ...(parameters === undefined ? {} : { parameters: toProtoValue(parameters) as never }),
        },
        { timeout: timeoutMs, retry: null as never },
      );
      call.catch(() => undefined); // settled by the race below; a late failure is not unhandled
      const [response] = await Promise.race([call, deadline]);
      return (response.predictions ?? []).map((p) => fromProtoValue(p as never));
    } catch (error) {
      if (error instanceof PredictionUnavailable) throw error;
      const code = (error as { code?: unknown }).code;
      const status = (error as { response?: { status?: number } }).response?.status;
      // gRPC 4 DEADLINE_EXCEEDED, 8 RESOURCE_EXHAUSTED, 13 INTERNAL, 14 UNAVAILABLE; HTTP 429 and 5xx.
      const transport =
        typeof code !== 'number' || [4, 8, 13, 14, 429].includes(code) || code >= 500 || (status !== undefined && (status >= 500 || status === 429));
      if (transport) throw new PredictionUnavailable(`prediction failed: ${(error as Error).message.slice(0, 200)}`);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.client) await (await this.client).close();
  }
}
