import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './ports.js';

/**
 * Starts and stops Google's Firestore and Pub/Sub emulators (gcloud components, Java 17+).
 *
 * Each emulator runs in its own process group: `gcloud` forks a Java process that survives a
 * signal sent to gcloud alone, so stopping kills the whole group.
 */

export type EmulatorKind = 'firestore' | 'pubsub';

export interface RunningEmulator {
  readonly kind: EmulatorKind;
  /** host:port, the value for FIRESTORE_EMULATOR_HOST / PUBSUB_EMULATOR_HOST. */
  readonly host: string;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  /** Project id the Pub/Sub emulator is started for (topics of other projects still work). */
  readonly projectId: string;
  /** Where the emulator's output goes; defaults to nowhere. */
  readonly onOutput?: (kind: EmulatorKind, line: string) => void;
  readonly readyTimeoutMs?: number;
}

const GCLOUD_ENV = {
  CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
  CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: '1',
  CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: '1',
  // A fresh JVM spends its first minutes compiling with C2 on background threads, which on a
  // 2-core machine take CPU from the stack under test; C1 alone warms up at once, and the
  // serial collector adds no GC threads. A caller's own JAVA_TOOL_OPTIONS wins.
  JAVA_TOOL_OPTIONS: process.env.JAVA_TOOL_OPTIONS ?? '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:CICompilerCount=1',
};

function commandFor(kind: EmulatorKind, host: string, projectId: string): string[] {
  return kind === 'firestore'
    ? ['emulators', 'firestore', 'start', `--host-port=${host}`, `--project=${projectId}`]
    : ['beta', 'emulators', 'pubsub', 'start', `--host-port=${host}`, `--project=${projectId}`];
}

async function waitUntilReady(kind: EmulatorKind, host: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // gcloud's wrapper can exit 0 while the emulator it launched in the same group comes up;
    // only a failure exit is final.
    if (child.exitCode !== null && child.exitCode !== 0) {
      throw new EmulatorStartFailure(`${kind} emulator exited with code ${child.exitCode} before it was ready`);
    }
    try {
      const response = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new EmulatorStartFailure(`${kind} emulator did not answer on ${host} within ${timeoutMs} ms`);
}

/** An emulator that did not come up; starting it again on another port usually works. */
export class EmulatorStartFailure extends Error {
  override readonly name = 'EmulatorStartFailure';
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // group already gone
  }
}

const START_ATTEMPTS = 3;

/** Starts an emulator on a free port; a start that fails (a port taken meanwhile, say) is tried again on another. */
export async function startEmulator(kind: EmulatorKind, options: EmulatorOptions): Promise<RunningEmulator> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startOnce(kind, options);
    } catch (error) {
      if (!(error instanceof EmulatorStartFailure) || attempt >= START_ATTEMPTS) throw error;
      options.onOutput?.(kind, `${error.message}; starting it again`);
    }
  }
}

async function startOnce(kind: EmulatorKind, options: EmulatorOptions): Promise<RunningEmulator> {
  const host = `127.0.0.1:${await freePort()}`;
  const child = spawn('gcloud', commandFor(kind, host, options.projectId), {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...GCLOUD_ENV },
  });
  const forward = (chunk: Buffer) => {
    if (!options.onOutput) return;
    for (const line of chunk.toString().split('\n')) if (line.trim()) options.onOutput(kind, line);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  // Killing the group on our own exit keeps a crashed test run from leaving Java behind.
  const onExit = () => killGroup(child, 'SIGKILL');
  process.once('exit', onExit);

  const stop = async () => {
    process.removeListener('exit', onExit);
    // The wrapper may be gone while the emulator it launched still runs in its group.
    const wrapperDone = child.exitCode !== null || child.signalCode !== null;
    const exited = wrapperDone ? new Promise<void>((resolve) => setTimeout(resolve, 500)) : new Promise<void>((resolve) => child.once('exit', () => resolve()));
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    // gcloud may exit before its Java child; make sure the group is gone.
    killGroup(child, 'SIGKILL');
  };

  try {
    await waitUntilReady(kind, host, child, options.readyTimeoutMs ?? 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { kind, host, stop };
}

export interface EmulatorPair {
  readonly firestore: RunningEmulator;
  readonly pubsub: RunningEmulator;
  /** Environment a Google client library needs to talk to these emulators. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startEmulators(options: EmulatorOptions): Promise<EmulatorPair> {
  const [firestore, pubsub] = await Promise.allSettled([
    startEmulator('firestore', options),
    startEmulator('pubsub', options),
  ]);
  if (firestore.status === 'rejected' || pubsub.status === 'rejected') {
    if (firestore.status === 'fulfilled') await firestore.value.stop();
    if (pubsub.status === 'fulfilled') await pubsub.value.stop();
    const reason = firestore.status === 'rejected' ? firestore.reason : (pubsub as PromiseRejectedResult).reason;
    throw reason instanceof Error ? reason : new Error(String(reason));
  }
  return {
    firestore: firestore.value,
    pubsub: pubsub.value,
    env: {
      FIRESTORE_EMULATOR_HOST: firestore.value.host,
      PUBSUB_EMULATOR_HOST: pubsub.value.host,
    },
    stop: async () => {
      await Promise.all([firestore.value.stop(), pubsub.value.stop()]);
    },
  };
}
