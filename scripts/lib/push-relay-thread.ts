import { Worker, parentPort, workerData } from 'node:worker_threads';
import { pubsubFor } from '../../shared/pubsub/client.js';
import { type PushRelayOptions, type PushRelayStats, PushRelay, type RelayRoute, sharedRelayStats } from './push-relay.js';

/**
 * The push relay on a thread of its own, as Cloud Pub/Sub's push is a service of its own: its
 * streaming pulls, push requests and acknowledgements no longer queue on the event loop of the
 * functions it delivers to (locally, every function shares one process). Counters are shared
 * memory; the stack's thread reads them as the relay writes them.
 */

interface ThreadData {
  readonly entry: string;
  readonly projectId: string;
  readonly routes: readonly RelayRoute[];
  readonly maxInFlight?: number;
  readonly stats: SharedArrayBuffer;
}

export interface RelayThread {
  readonly stats: PushRelayStats;
  stop(): Promise<void>;
}

export function startRelayThread(projectId: string, routes: readonly RelayRoute[], options: Pick<PushRelayOptions, 'maxInFlight'> = {}): RelayThread {
  const stats = sharedRelayStats();
  const data: ThreadData = { entry: import.meta.url, projectId, routes, ...options, stats: stats.buffer };
  const worker = new Worker(new URL('./typescript-worker.mjs', import.meta.url), { workerData: data });
  worker.on('error', (error) => process.stderr.write(`push relay thread: ${error.message}\n`));
  return {
    stats,
    stop: async () => {
      const stopped = new Promise<void>((resolve) => worker.once('message', () => resolve()));
      worker.postMessage('stop');
      await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      await worker.terminate();
    },
  };
}

// In the relay's thread: start it, and stop it when asked.
if (parentPort && (workerData as ThreadData | undefined)?.entry === import.meta.url) {
  const { projectId, routes, maxInFlight, stats } = workerData as ThreadData;
  const port = parentPort;
  const relay = PushRelay.start(pubsubFor(projectId), routes, { ...(maxInFlight ? { maxInFlight } : {}), stats: sharedRelayStats(stats) });
  port.on('message', (message) => {
    if (message === 'stop') void relay.stop().then(() => port.postMessage('stopped'));
  });
}
