import type { MetricServiceClient } from '@google-cloud/monitoring';
import { log } from '../log.js';
import type { MetricFamily } from '../ops/metrics.js';

/**
 * Writes Sapphire's metrics to Cloud Monitoring as custom metrics (custom.googleapis.com/<name>)
 * on the `global` resource, where the alert policies in terraform/ watch them. Cloud Monitoring
 * takes one point per time series every 5 s at most: writes closer than `minIntervalMs` are
 * skipped. Points carry the wall-clock time (a replay's market time would be refused as old).
 */

export interface MetricWriterOptions {
  readonly projectId: string;
  /** e.g. monitoring.googleapis.com; locally a stand-in host. */
  readonly apiEndpoint?: string;
  readonly port?: number;
  readonly protocol?: 'https' | 'http';
  readonly authClient?: unknown;
  readonly minIntervalMs?: number;
  readonly now?: () => number;
}

const MAX_SERIES_PER_REQUEST = 200;

export class MetricWriter {
  /** Loaded on first write, not at import: the client library is heavy for a cold start. */
  private client: Promise<MetricServiceClient> | undefined;
  private lastWrite = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;

  constructor(private readonly options: MetricWriterOptions) {
    this.now = options.now ?? Date.now;
  }

  private connect(): Promise<MetricServiceClient> {
    const { options } = this;
    this.client ??= import('@google-cloud/monitoring').then(
      ({ MetricServiceClient: Client }) =>
        new Client({
          fallback: true,
          ...(options.apiEndpoint ? { apiEndpoint: options.apiEndpoint } : {}),
          ...(options.port ? { port: options.port } : {}),
          ...(options.protocol ? { protocol: options.protocol } : {}),
          ...(options.authClient ? { authClient: options.authClient as never } : {}),
        }),
    );
    return this.client;
  }

  /** Returns how many time series were written (0 when throttled). */
  async write(families: readonly MetricFamily[]): Promise<number> {
    const now = this.now();
    if (now - this.lastWrite < (this.options.minIntervalMs ?? 10_000)) return 0;
    this.lastWrite = now;
    const endTime = { seconds: Math.floor(now / 1000), nanos: (now % 1000) * 1_000_000 };
    const series = families.flatMap((family) =>
      family.samples.map((sample) => ({
        metric: { type: `custom.googleapis.com/${family.name}`, labels: { ...sample.labels } },
        resource: { type: 'global', labels: { project_id: this.options.projectId } },
        // Counters are written as gauges of their running total: a cumulative series would
        // need a fixed start time that a restart would break.
        metricKind: 'GAUGE' as const,
        valueType: 'DOUBLE' as const,
        points: [{ interval: { endTime }, value: { doubleValue: sample.value } }],
      })),
    );
    const client = await this.connect();
    for (let i = 0; i < series.length; i += MAX_SERIES_PER_REQUEST) {
      await client.createTimeSeries({
        name: `projects/${this.options.projectId}`,
        timeSeries: series.slice(i, i + MAX_SERIES_PER_REQUEST),
      });
    }
    log.debug('metrics written to Cloud Monitoring', { series: series.length });
    return series.length;
  }

  async close(): Promise<void> {
    if (this.client) await (await this.client).close();
  }
}

/** The writer a deployed function uses: Application Default Credentials, or a stand-in host. */
export function metricWriterFromConfig(config: {
  GOOGLE_CLOUD_PROJECT: string;
  MONITORING_API_ENDPOINT?: string | undefined;
}): MetricWriter {
  const endpoint = config.MONITORING_API_ENDPOINT;
  if (!endpoint) return new MetricWriter({ projectId: config.GOOGLE_CLOUD_PROJECT });
  const url = new URL(endpoint.includes('://') ? endpoint : `https://${endpoint}`);
  return new MetricWriter({
    projectId: config.GOOGLE_CLOUD_PROJECT,
    apiEndpoint: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    protocol: url.protocol === 'http:' ? 'http' : 'https',
  });
}
