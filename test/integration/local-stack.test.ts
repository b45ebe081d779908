import { type ChildProcess, spawn } from 'node:child_process';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/ports.js';
import { waitUntil } from '../support/stack.js';

/**
 * `npm start` as a newcomer runs it: the whole stack on its own emulators, trading by itself on
 * the replayed market. Signals, reservations and paper fills appear within two minutes; Ctrl-C
 * stops everything, emulators included.
 */

let stack: ChildProcess | undefined;
let output = '';

afterAll(async () => {
  if (!stack?.pid || stack.exitCode !== null) return;
  // Ctrl-C first: only the stack itself knows its emulators' process groups.
  const exited = new Promise((resolve) => stack?.once('exit', resolve));
  process.kill(-stack.pid, 'SIGINT');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  if (stack.exitCode === null) process.kill(-stack.pid, 'SIGKILL');
}, 30_000);

describe('npm start', () => {
  it('trades by itself within two minutes and stops cleanly', async () => {
    const base = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, SAPPHIRE_PORT: String(base), GOOGLE_CLOUD_PROJECT: 'sapphire-local-smoke', SAPPHIRE_QUIET_LOGS: 'false' };
    delete env.FIRESTORE_EMULATOR_HOST;
    delete env.PUBSUB_EMULATOR_HOST;
    stack = spawn(process.execPath, ['--import', 'tsx', 'scripts/dev.ts'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    stack.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    stack.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    await waitUntil('the banner', () => {
      if (stack?.exitCode !== null) throw new Error(`npm start exited with ${stack?.exitCode}:\n${output.slice(-3_000)}`);
      return output.includes('Sapphire is running locally');
    }, 90_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${output.slice(-3_000)}`);
    });
    const firestoreHost = /Firestore emulator\s+(\S+)/.exec(output)?.[1] as string;
    // This test process reads the stack's own emulator, not the test suite's.
    process.env.FIRESTORE_EMULATOR_HOST = firestoreHost;
    const db = new Firestore({ projectId: 'sapphire-local-smoke' });

    const started = Date.now();
    await waitUntil('a paper fill', async () => !(await db.collection('fills').limit(1).get()).empty, 120_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; the stack said:\n${output.slice(-3_000)}`);
    });
    const elapsed = Date.now() - started;
    const [signals, reservations, fills] = await Promise.all([
      db.collection('agentDecisions').where('signalId', '!=', null).get(),
      db.collection('reservations').get(),
      db.collection('fills').get(),
    ]);
    expect(signals.size).toBeGreaterThan(0);
    expect(reservations.size).toBeGreaterThan(0);
    expect(fills.size).toBeGreaterThan(0);
    expect(output).toContain('"agent decided"');
    expect(elapsed).toBeLessThan(120_000);
    await db.terminate();

    const exited = new Promise<number | null>((resolve) => stack?.once('exit', (code) => resolve(code)));
    process.kill(-(stack.pid as number), 'SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('stopped.');
    // The emulators it started are gone: their ports no longer answer.
    await expect(fetch(`http://${firestoreHost}/`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
  }, 240_000);
});
