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
    const env: NodeJS.ProcessEnv = { ...process.env, SAPPHIRE_PORT: String(base), GOOGLE_CLOUD_PROJECT: 'sapphire-local-smoke', SAPPHIRE_QUIET_LOGS: 'false', SAPPHIRE_LOG_FORMAT: 'json' };
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

    // One trace per signal: a signal sent with a traceparent is followed under that trace id by
    // every function on its path, and `npm run journey` prints that path from Firestore.
    const intake = /signal-intake\s+(http:\/\/\S+)/.exec(output)?.[1] as string;
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const signalId = `trace-${Date.now()}`;
    const now = Date.now();
    const answer = await fetch(`${intake}/signals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sapphire-local-dev-token', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      body: JSON.stringify({
        signalId,
        agentId: 'qwen-7b',
        symbol: 'BTCUSDT',
        side: 'BUY',
        // Above the venue's 100 USD minimum notional, within every agent's leverage.
        size: { type: 'quantity', quantity: '0.01', priceMicros: 25_000_000_000 },
        leverage: 3,
        confidence: 0.9,
        source: 'trace-test',
        createdAt: new Date(now).toISOString(),
        expiresAt: new Date(now + 300_000).toISOString(),
      }),
    });
    expect(answer.status).toBe(202);
    expect(answer.headers.get('traceparent')).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    let orderId: string | undefined;
    await waitUntil('the traced signal’s reservation', async () => (orderId = (await db.collection('reservations').doc(signalId).get()).get('orderId') as string | undefined) !== undefined, 30_000);
    await waitUntil('its fill', async () => !(await db.collection('fills').where('orderId', '==', orderId).limit(1).get()).empty, 30_000);
    // The fill is committed before its line is logged: wait for this signal's own line.
    const linesOf = () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{') && line.includes(signalId))
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return []; // the last line may still be arriving
          }
        })
        .filter((entry) => entry.signalId === signalId);
    await waitUntil('its log lines', () => linesOf().some((entry) => entry.message === 'fill applied'), 10_000);
    const entries = linesOf();
    const trace = `projects/sapphire-local-smoke/traces/${traceId}`;
    expect(entries.map((e) => e['logging.googleapis.com/trace'])).toEqual(entries.map(() => trace));
    const functions = new Set(entries.map((e) => (e['logging.googleapis.com/labels'] as { function?: string } | undefined)?.function));
    expect([...functions].sort()).toEqual(expect.arrayContaining(['margin-reservation', 'order-router', 'signal-intake']));
    expect(entries.map((e) => e.message)).toEqual(expect.arrayContaining(['signal accepted', 'reservation decided', 'order placed', 'fill applied']));
    // Its latencies are on its records, and /metrics counts them.
    const [reservation, order] = await Promise.all([db.collection('reservations').doc(signalId).get(), db.collection('orders').doc(orderId as string).get()]);
    expect(reservation.get('decisionLatencyMs')).toEqual(expect.any(Number));
    expect(order.get('placementLatencyMs')).toEqual(expect.any(Number));
    expect(order.get('venueLatencyMs')).toEqual(expect.any(Number));
    const opsApi = /ops-api\s+(http:\/\/\S+)/.exec(output)?.[1] as string;
    const metrics = await (await fetch(`${opsApi}/metrics`)).text();
    expect(Number(/^signal_decision_latency_seconds_count (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(Number(/^order_fill_latency_seconds_count (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    const journey = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/journey.ts', signalId], { stdio: ['ignore', 'pipe', 'inherit'] });
      let printed = '';
      child.stdout?.on('data', (c: Buffer) => (printed += c.toString()));
      child.on('exit', (code) => (code === 0 ? resolve(printed) : reject(new Error(`npm run journey exited with ${code}`))));
    });
    expect(journey).toMatch(/reserved .* BUY BTCUSDT/);
    expect(journey).toMatch(/fill/);
    await db.terminate();

    const exited = new Promise<number | null>((resolve) => stack?.once('exit', (code) => resolve(code)));
    process.kill(-(stack.pid as number), 'SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('stopped.');
    // The emulators it started are gone: their ports no longer answer.
    await expect(fetch(`http://${firestoreHost}/`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
  }, 240_000);
});
