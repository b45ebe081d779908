import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './local-defaults.js';

/**
 * One function served by the functions-framework CLI from a process of its own, as one Cloud Run
 * instance: `crash()` kills it with SIGKILL wherever it is (mid-request, between two writes), and
 * a new instance starts on the same port, as Cloud Run replaces a crashed one. Nothing after the
 * kill runs: what the instance held (a lease, an unanswered push) is left as a real crash leaves it.
 */

const FRAMEWORK = join(ROOT, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');
const READY_WITHIN_MS = 60_000;

export interface FunctionProcess {
  readonly url: string;
  /** Kills the instance (SIGKILL) and starts a new one on the same port; resolves when it answers. */
  crash(): Promise<void>;
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

async function answering(url: string, child: ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + READY_WITHIN_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before it answered`);
    if (await fetch(url, { method: 'OPTIONS' }).then(() => true, () => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${name} did not answer on ${url} within ${READY_WITHIN_MS / 1000} s`);
}

/** Starts `functions/<name>/index.ts` (entry point `entryPoint`) on `port`, with this process's environment. */
export async function startFunctionProcess(name: string, entryPoint: string, port: number): Promise<FunctionProcess> {
  const url = `http://127.0.0.1:${port}`;
  const launch = async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', FRAMEWORK, `--source=${join(ROOT, 'functions', name, 'index.ts')}`, `--target=${entryPoint}`, `--port=${port}`], {
      cwd: ROOT,
      env: process.env,
      // Its log lines go where this process's would; the framework's banner does not.
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await answering(url, child, name);
    return child;
  };
  let child = await launch();
  const kill = async () => {
    child.kill('SIGKILL');
    await exited(child);
  };
  return {
    url,
    crash: async () => {
      await kill();
      child = await launch();
    },
    stop: kill,
  };
}
