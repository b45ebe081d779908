import { spawn } from 'node:child_process';
import { sleep } from '../../shared/concurrency/retry.js';
import { freePort } from './ports.js';
import { FAKE_GCS_SERVER, ensureGoTool } from './tools.js';

/**
 * A real Cloud Storage emulator for tests and the local stack: fsouza/fake-gcs-server, which
 * speaks the JSON and upload APIs that @google-cloud/storage uses. It is a Go program, built
 * once from the Go module proxy into .cache/bin (tools.ts) and reused after that.
 */

export interface GcsEmulator {
  /** http://127.0.0.1:port: the client's apiEndpoint (GCS_API_ENDPOINT). */
  readonly url: string;
  stop(): Promise<void>;
}

export async function startGcsEmulator(options: { readonly progress?: (line: string) => void } = {}): Promise<GcsEmulator> {
  const binary = await ensureGoTool(FAKE_GCS_SERVER, options.progress);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(binary, ['-scheme', 'http', '-host', '127.0.0.1', '-port', String(port), '-backend', 'memory', '-public-host', `127.0.0.1:${port}`, '-log-level', 'error'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2_000)));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`fake-gcs-server exited with code ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${url}/storage/v1/b`, { signal: AbortSignal.timeout(1_000) })).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`fake-gcs-server did not answer on ${url} within 15 s: ${stderr}`);
    }
    await sleep(100);
  }
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(2_000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

/** Creates a bucket on the emulator (the local stand-in for Terraform's bucket); an existing one is fine. */
export async function createBucket(url: string, projectId: string, bucket: string): Promise<void> {
  const response = await fetch(`${url}/storage/v1/b?project=${encodeURIComponent(projectId)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: bucket }),
  });
  if (!response.ok && response.status !== 409) throw new Error(`could not create bucket ${bucket}: HTTP ${response.status}`);
}
