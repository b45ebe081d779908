import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { sharedRelayStats } from '../../../scripts/lib/push-relay.js';

describe('sharedRelayStats', () => {
  it('starts at zero and reads like the plain counters', () => {
    const stats = sharedRelayStats();
    stats.attempts += 2;
    stats.maxInFlight = Math.max(stats.maxInFlight, 7);
    expect({ ...stats, buffer: undefined }).toEqual({ attempts: 2, acked: 0, failures: 0, deadLettered: 0, maxInFlight: 7, buffer: undefined });
  });

  it('shows what another thread counts over the same buffer', async () => {
    const stats = sharedRelayStats();
    // The other thread writes the cells as the relay's thread does (attempts, acked: the first two).
    const worker = new Worker('const { workerData, parentPort } = require("node:worker_threads"); const c = new Int32Array(workerData); Atomics.store(c, 0, 3); Atomics.store(c, 1, 2); parentPort.postMessage(0);', { eval: true, workerData: stats.buffer });
    await new Promise((resolve) => worker.once('message', resolve));
    await worker.terminate();
    expect([stats.attempts, stats.acked, sharedRelayStats(stats.buffer).acked]).toEqual([3, 2, 2]);
  });
});
