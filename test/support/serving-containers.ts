import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/lib/ports.js';
import { ensurePythonEnv } from '../../scripts/python-env.js';

/**
 * A serving image of containers/ run as a real process on its Vertex contract (AIP_HTTP_PORT,
 * AIP_HEALTH_ROUTE, AIP_PREDICT_ROUTE, AIP_STORAGE_URI), with a tiny model its package builds.
 */

export type ServingImage = 'lagllama' | 'llm';

export interface ServingProcess {
  readonly url: string;
  readonly predictRoute: string;
  stop(): Promise<void>;
}

const PACKAGE: Record<ServingImage, string> = { lagllama: 'sapphire_lagllama_serving', llm: 'sapphire_llm_serving' };
const HEALTH_ROUTE = '/v1/endpoints/1/deployedModels/1';
const PREDICT_ROUTE = '/v1/endpoints/1/deployedModels/1:predict';

export async function startServingContainer(image: ServingImage): Promise<ServingProcess> {
  const python = await ensurePythonEnv();
  const modelDir = await mkdtemp(join(tmpdir(), `sapphire-${image}-model-`));
  const built = spawnSync(python, ['-m', `${PACKAGE[image]}.make_test_model`, modelDir], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`${PACKAGE[image]}.make_test_model failed: ${built.stderr.slice(-2_000)}`);
  const port = await freePort();
  const child: ChildProcess = spawn(python, ['-m', PACKAGE[image]], {
    env: {
      ...process.env,
      AIP_HTTP_PORT: String(port),
      AIP_HEALTH_ROUTE: HEALTH_ROUTE,
      AIP_PREDICT_ROUTE: PREDICT_ROUTE,
      AIP_STORAGE_URI: modelDir,
      SAPPHIRE_HOST: '127.0.0.1',
      SAPPHIRE_LLM_ENGINE: 'transformers',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${PACKAGE[image]} exited with ${child.exitCode}: ${stderr}`);
    const ready = await fetch(`${url}${HEALTH_ROUTE}`).then((r) => r.status === 200, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${PACKAGE[image]} was not healthy within 90 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return {
    url,
    predictRoute: PREDICT_ROUTE,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000)).then(() => child.kill('SIGKILL'))]);
    },
  };
}
