/**
 * npm run bench:pipeline — the real path of a signal on the emulators, wired exactly as
 * `npm start` wires it: HTTP POST to signal-intake → Pub/Sub → push to margin-reservation →
 * `orders` → order-router → paper exchange on the replay stand-in → fill → ledger.
 *
 * Scenarios (each on a fresh database):
 *   single  50 signals one after another, each waiting for its fill (open, close, open, …)
 *   burst   200 signals for one agent as fast as the client sends them (150 unique, 50 repeated,
 *           50 USD margin each against the 1,000 USD budget: at least 20 accepted, a few more
 *           as fills free what the venue's margin leaves of their reservations)
 *   burst4  the same for all four agents at once (800 signals)
 * Each runs with the local push relay and with the emulator's own push, each delivery in a
 * process of its own. Then the cold start of every `npm run build` bundle.
 *
 * Prints progress, a table, and as its last line:
 *   RESULT burst_decided_per_s=… burst4_decided_per_s=… burst_fill_s=… single_p50_ms=…
 *          single_p99_ms=… cold_start_max_ms=… ledger_doc_writes_per_s_max=… violations=… lost=…
 * (figures of the relay, the delivery `npm start` uses). BENCH_DELIVERIES=relay skips the other;
 * BENCH_DELIVERIES= (empty) measures cold starts only; BENCH_SCENARIOS=burst4 (a comma list) runs
 * only those scenarios, for profiling.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Firestore } from '@google-cloud/firestore';
import { DEFAULT_AGENTS } from '../shared/domain/agents.js';
import { committedMicros } from '../shared/domain/ledger.js';
import { orderIdForSignal, type TradeSignalInput } from '../shared/domain/messages.js';
import { seedAgentProfiles } from '../shared/firestore/agent-profiles.js';
import { firestoreFor } from '../shared/firestore/client.js';
import { COLLECTIONS } from '../shared/firestore/collections.js';
import { LedgerRepository } from '../shared/firestore/ledger-repository.js';
import { buildFunctions } from './build.js';
import { LOCAL_DEFAULTS } from './lib/local-defaults.js';
import { type LocalStack, startLocalStack } from './lib/local-stack.js';
import { freePort } from './lib/ports.js';
import type { PushDeliveryMode } from './lib/provision.js';
import { USD } from '../shared/domain/money.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = resolve(SELF, '..', '..');
const LOST_AFTER_MS = 60_000;
const CLIENT_CONCURRENCY = 64;
const progress = (text: string) => process.stderr.write(`${text}\n`);

// ---------------------------------------------------------------------------------------------
// Figures

export interface ScenarioFigures {
  readonly name: 'single' | 'burst' | 'burst4';
  readonly signals: number;
  readonly unique: number;
  readonly accepted: number;
  readonly decided: number;
  readonly decidedPerSecond: number;
  /** Seconds from the last 202 until every accepted order was filled (burst scenarios). */
  readonly fillSeconds: number;
  readonly stages: Readonly<Record<string, { p50: number; p99: number }>>;
  readonly ledgerWritesPerSecondMax: number;
  readonly aborts: number;
  readonly violations: number;
  readonly lost: number;
  readonly relayMaxInFlight: number | undefined;
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

// ---------------------------------------------------------------------------------------------
// The worker: one delivery, the stack in this process.

/**
 * The bench polls a few documents by id and counts with aggregation queries instead of
 * listening to whole collections: snapshot listeners cost the Firestore emulator more CPU than
 * the path being measured. Times are Firestore's commit times (createTime), read at the end.
 */
async function createTimes(db: Firestore, collection: string, ids: readonly string[]): Promise<Map<string, number>> {
  const times = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 100) {
    const snaps = await db.getAll(...ids.slice(i, i + 100).map((id) => db.collection(collection).doc(id)));
    for (const snap of snaps) if (snap.exists && snap.createTime) times.set(snap.id, snap.createTime.toMillis());
  }
  return times;
}

/** A paper market order's one fill: `fills/{orderId}:{tradeId}` with the paper venue's trade id. */
const paperFillId = (orderId: string) => `${orderId}:paper-${orderId}-1`;

async function resetDatabase(stack: LocalStack): Promise<void> {
  const response = await fetch(`http://${stack.emulators.firestore.host}/emulator/v1/projects/${stack.projectId}/databases/(default)/documents`, { method: 'DELETE' });
  if (!response.ok) throw new Error(`could not clear the Firestore emulator: HTTP ${response.status}`);
  await seedAgentProfiles(firestoreFor(stack.projectId), DEFAULT_AGENTS);
}

async function postSignal(url: string, signal: TradeSignalInput): Promise<number> {
  const response = await fetch(`${url}/signals`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${LOCAL_DEFAULTS.SIGNAL_INTAKE_TOKENS}` },
    body: JSON.stringify(signal),
  });
  await response.arrayBuffer();
  if (response.status !== 202) throw new Error(`signal-intake answered ${response.status} to ${signal.signalId}`);
  return Date.now();
}

function signalOf(signalId: string, agentId: string, overrides: Partial<TradeSignalInput>): TradeSignalInput {
  const now = Date.now();
  return {
    signalId,
    agentId,
    symbol: 'BTCUSDT',
    side: 'BUY',
    size: { type: 'notional', notionalMicros: 150 * USD },
    leverage: 3,
    confidence: 0.9,
    source: 'bench',
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + 10 * 60_000).toISOString(),
    ...overrides,
  };
}

/**
 * One POST on a kept-alive connection with node:http, which costs a fraction of fetch's CPU:
 * on a 2-core machine the load generator otherwise takes a share the stack should have.
 */
function postSignalOn(agent: Agent, url: string, signal: TradeSignalInput): Promise<number> {
  const body = JSON.stringify(signal);
  return new Promise((resolvePromise, reject) => {
    const req = request(
      `${url}/signals`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${LOCAL_DEFAULTS.SIGNAL_INTAKE_TOKENS}` },
      },
      (res) => {
        res.resume();
        res.once('end', () => {
          if (res.statusCode === 202) resolvePromise(Date.now());
          else reject(new Error(`signal-intake answered ${res.statusCode} to ${signal.signalId}`));
        });
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

/** Sends with at most `limit` requests in flight; returns each signal's 202 time. */
async function sendAll(url: string, signals: readonly TradeSignalInput[], limit: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: limit });
  const answered: number[] = new Array(signals.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, signals.length) }, async () => {
      for (let i = next++; i < signals.length; i = next++) answered[i] = await postSignalOn(agent, url, signals[i] as TradeSignalInput);
    }),
  );
  agent.destroy();
  return answered;
}

/**
 * A burst is sent from a process of its own, as clients are elsewhere: the stack's one event
 * loop then serves the functions, not the load generator.
 */
function sendFromAnotherProcess(url: string, signals: readonly TradeSignalInput[]): Promise<{ started: number; answered: number[] }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--send', url], { stdio: ['pipe', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`the sender exited with ${code}`));
      else resolvePromise(JSON.parse(output) as { started: number; answered: number[] });
    });
    child.stdin.end(JSON.stringify(signals));
  });
}

async function sender(url: string): Promise<void> {
  let input = '';
  for await (const chunk of process.stdin) input += String(chunk);
  const signals = JSON.parse(input) as TradeSignalInput[];
  const started = Date.now();
  const answered = await sendAll(url, signals, CLIENT_CONCURRENCY);
  process.stdout.write(JSON.stringify({ started, answered }));
}

async function waitFor(condition: () => Promise<boolean>, deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return condition();
}

/** Every ledger snapshot must keep reserved + in use within the allocation. */
function invariantWatch(db: Firestore): { violations: () => number; close: () => void } {
  const allocation = new Map(DEFAULT_AGENTS.map((a) => [a.agentId, a.marginAllocationMicros]));
  let violations = 0;
  const stop = LedgerRepository.for(db).watchLedgers((ledgers) => {
    for (const [agentId, ledger] of ledgers) {
      if (committedMicros(ledger) > (allocation.get(agentId) ?? 0) || ledger.reservedMicros < 0) violations += 1;
    }
  });
  return { violations: () => violations, close: stop };
}

/** Orders placed more than once at the paper venue: more than one fill per client order id. */
async function doublePlacements(db: Firestore): Promise<number> {
  const fills = await db.collection(COLLECTIONS.paperFills).get();
  const perOrder = new Map<string, number>();
  for (const doc of fills.docs) perOrder.set(String(doc.get('clientOrderId')), (perOrder.get(String(doc.get('clientOrderId'))) ?? 0) + 1);
  return [...perOrder.values()].filter((n) => n > 1).length;
}

async function runSingle(stack: LocalStack, db: Firestore): Promise<ScenarioFigures> {
  const intake = stack.endpoints.get('signal-intake') as string;
  const watch = invariantWatch(db);
  const ledgers = LedgerRepository.for(db);
  ledgers.resetWriteStats();
  const abortsBefore = ledgers.transactionStats.aborts;
  const stages: Record<string, number[]> = { '202→filled': [], '202→decided': [], 'decided→placed': [], 'placed→filled': [] };
  let lost = 0;
  let unfilled = 0;
  const total = 50;
  // One open and close first, not counted: clients load on first use (by design), and the
  // scenario measures the path, not the first call's library loading.
  const warmUp = 2;
  for (let i = -warmUp; i < total; i += 1) {
    // Open 0.01 BTC, then close it, agent after agent: budgets never run out, and each agent's
    // ledger sees the few writes a second of live trading (bursts are the other scenarios).
    const signalId = i < 0 ? `single-warm-up-${i + warmUp}` : `single-${i}`;
    const closing = (i + warmUp) % 2 === 1;
    const agentId = DEFAULT_AGENTS[Math.floor((i + warmUp) / 2) % DEFAULT_AGENTS.length]?.agentId as string;
    const signal = signalOf(signalId, agentId, {
      side: closing ? 'SELL' : 'BUY',
      reduceOnly: closing,
      size: { type: 'quantity', quantity: '0.01', priceMicros: 25_000 * USD },
      leverage: 3, // within every agent's maximum
    });
    const answeredAt = await postSignal(intake, signal);
    const orderId = orderIdForSignal(signalId);
    const fillRef = db.collection(COLLECTIONS.fills).doc(paperFillId(orderId));
    let polls = 0;
    let refused = false;
    await waitFor(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20)); // gently: polling loads the emulator too
      if ((await fillRef.get()).exists) return true;
      polls += 1;
      if (polls % 10 !== 0) return false;
      // Refused signals never fill: look for a rejection now and then.
      const [reservation, order] = await db.getAll(db.collection(COLLECTIONS.reservations).doc(signalId), db.collection(COLLECTIONS.orders).doc(orderId));
      refused = reservation?.get('status') === 'rejected' || order?.get('status') === 'rejected';
      return refused;
    }, answeredAt + LOST_AFTER_MS);
    const [decided, placed, filled] = await Promise.all([
      createTimes(db, COLLECTIONS.reservations, [signalId]).then((m) => m.get(signalId)),
      createTimes(db, COLLECTIONS.paperOrders, [orderId]).then((m) => m.get(orderId)),
      createTimes(db, COLLECTIONS.fills, [paperFillId(orderId)]).then((m) => m.get(paperFillId(orderId))),
    ]);
    if (filled === undefined || decided === undefined || placed === undefined) {
      if (i < 0) throw new Error(`the warm-up signal ${signalId} did not fill`);
      if (refused) unfilled += 1;
      else lost += 1;
      continue;
    }
    if (process.env.BENCH_TRACE) progress(`    ${signalId} ${agentId} 202→filled ${filled - answeredAt} decided ${decided - answeredAt} placed ${placed - decided} filled ${filled - placed}`);
    if (i < 0) continue;
    stages['202→filled']?.push(filled - answeredAt);
    stages['202→decided']?.push(decided - answeredAt);
    stages['decided→placed']?.push(placed - decided);
    stages['placed→filled']?.push(filled - placed);
    if ((i + 1) % 10 === 0) progress(`  single: ${i + 1}/${total} filled`);
  }
  // Every signal of this scenario is valid and should fill: a refusal counts against it.
  const violations = watch.violations() + (await doublePlacements(db)) + unfilled;
  watch.close();
  const filledCount = stages['202→filled']?.length ?? 0;
  return {
    name: 'single',
    signals: total,
    unique: total,
    accepted: filledCount,
    decided: filledCount,
    decidedPerSecond: Number.NaN,
    fillSeconds: Number.NaN,
    stages: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, { p50: percentile(v, 50), p99: percentile(v, 99) }])),
    ledgerWritesPerSecondMax: ledgers.writeStats.maxWritesPerSecond,
    aborts: ledgers.transactionStats.aborts - abortsBefore,
    violations,
    lost,
    relayMaxInFlight: stack.delivery.stats?.maxInFlight,
  };
}

/** A fixed shuffle (so runs compare): 150 unique signals per agent, the first 50 sent twice. */
function burstSignals(agentIds: readonly string[], label: string): { signals: TradeSignalInput[]; unique: Set<string> } {
  const signals: TradeSignalInput[] = [];
  for (const agentId of agentIds) {
    const own = Array.from({ length: 150 }, (_, i) => signalOf(`${label}-${agentId}-${i}`, agentId, {}));
    signals.push(...own, ...own.slice(0, 50));
  }
  let seed = 42;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  for (let i = signals.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [signals[i], signals[j]] = [signals[j] as TradeSignalInput, signals[i] as TradeSignalInput];
  }
  return { signals, unique: new Set(signals.map((s) => s.signalId)) };
}

async function runBurst(stack: LocalStack, db: Firestore, name: 'burst' | 'burst4', agentIds: readonly string[]): Promise<ScenarioFigures> {
  const intake = stack.endpoints.get('signal-intake') as string;
  const { signals, unique } = burstSignals(agentIds, name);
  // At least 1,000 USD budget / 50 USD margin each; a few more once fills put into use the venue's
  // margin, a little less than was reserved (step rounding), and the rest is free again.
  const leastAccepted = 20 * agentIds.length;
  const watch = invariantWatch(db);
  const ledgers = LedgerRepository.for(db);
  ledgers.resetWriteStats();
  const abortsBefore = ledgers.transactionStats.aborts;
  const count = async (collection: string) => (await db.collection(collection).count().get()).data().count;

  const { started, answered } = await sendFromAnotherProcess(intake, signals);
  const lastAnswer = Math.max(...answered);
  progress(`  ${name}: ${signals.length} signals answered 202 in ${((lastAnswer - started) / 1000).toFixed(2)} s; waiting for outcomes and fills…`);
  await waitFor(async () => {
    // Seldom: a count scans the collection in the emulator, CPU the path under test needs, and
    // the figures come from commit times, not from when the bench notices.
    await new Promise((resolve) => setTimeout(resolve, 500));
    if ((await count(COLLECTIONS.reservations)) < unique.size) return false;
    const acceptedSoFar = (await db.collection(COLLECTIONS.reservations).where('status', 'in', ['reserved', 'ordered']).count().get()).data().count;
    return (await count(COLLECTIONS.fills)) >= Math.max(leastAccepted, acceptedSoFar);
  }, lastAnswer + LOST_AFTER_MS);
  // Let stragglers (redeliveries, evaluator runs) finish before counting placements.
  await new Promise((resolve) => setTimeout(resolve, 1_000));

  const reservations = await db.collection(COLLECTIONS.reservations).get();
  const decidedTimes = reservations.docs.filter((d) => unique.has(d.id)).map((d) => d.createTime.toMillis());
  const accepted = reservations.docs.filter((d) => d.get('status') !== 'rejected').map((d) => orderIdForSignal(d.id));
  const fills = await createTimes(db, COLLECTIONS.fills, accepted.map(paperFillId));
  const lastDecided = Math.max(...decidedTimes);
  if (process.env.BENCH_TRACE) {
    const per100ms = (times: readonly number[]) => {
      const counts = new Map<number, number>();
      for (const t of times) counts.set(Math.floor((t - started) / 100), (counts.get(Math.floor((t - started) / 100)) ?? 0) + 1);
      return counts;
    };
    const [answeredIn, decidedIn] = [per100ms(answered), per100ms(decidedTimes)];
    for (let b = 0; b <= Math.floor((lastDecided - started) / 100); b += 1) progress(`    ${b * 100} ms: answered ${answeredIn.get(b) ?? 0} decided ${decidedIn.get(b) ?? 0}`);
  }
  const violations = watch.violations() + (await doublePlacements(db)) + (accepted.length >= leastAccepted ? 0 : 1);
  watch.close();
  return {
    name,
    signals: signals.length,
    unique: unique.size,
    accepted: accepted.length,
    decided: decidedTimes.length,
    decidedPerSecond: decidedTimes.length / ((lastDecided - started) / 1000),
    fillSeconds: fills.size === accepted.length ? Math.max(0, Math.max(...fills.values()) - lastAnswer) / 1000 : Number.POSITIVE_INFINITY,
    stages: {},
    ledgerWritesPerSecondMax: ledgers.writeStats.maxWritesPerSecond,
    aborts: ledgers.transactionStats.aborts - abortsBefore,
    violations,
    lost: unique.size - decidedTimes.length,
    relayMaxInFlight: stack.delivery.stats?.maxInFlight,
  };
}

async function worker(delivery: PushDeliveryMode): Promise<void> {
  process.env.SAPPHIRE_QUIET_LOGS = 'true';
  process.env.GOOGLE_CLOUD_PROJECT ??= 'sapphire-bench';
  const stack = await startLocalStack({
    basePort: await freePort(),
    delivery,
    replayStart: Date.parse('2023-03-08T00:00:00Z'),
    replaySpeed: 1,
    progress: (n, total, text) => progress(`[${delivery} ${n}/${total}] ${text}`),
  });
  const results: ScenarioFigures[] = [];
  // Interrupted (Ctrl-C reaches the whole process group): leave no emulator behind.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => void stack.stop().finally(() => process.exit(130)));
  }
  try {
    const db = firestoreFor(stack.projectId);
    const scenarios = new Set((process.env.BENCH_SCENARIOS ?? 'single,burst,burst4').split(','));
    if (scenarios.has('single')) {
      progress(`${delivery}: single`);
      results.push(await runSingle(stack, db));
      await resetDatabase(stack);
    }
    if (scenarios.has('burst')) {
      progress(`${delivery}: burst, one agent`);
      results.push(await runBurst(stack, db, 'burst', ['qwen-7b']));
      await resetDatabase(stack);
    }
    if (scenarios.has('burst4')) {
      progress(`${delivery}: burst, four agents`);
      results.push(await runBurst(stack, db, 'burst4', DEFAULT_AGENTS.map((a) => a.agentId)));
    }
  } finally {
    await stack.stop();
  }
  process.stdout.write(`BENCH_JSON ${JSON.stringify(results)}\n`);
}

// ---------------------------------------------------------------------------------------------
// The parent: cold starts, one worker per delivery, the table.

const FRAMEWORK = join(ROOT, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');

async function coldStarts(): Promise<{ name: string; ms: number }[]> {
  // Inside the repository, so the bundles' external packages resolve from its node_modules.
  const out = join(ROOT, 'dist', `.bench-${process.pid}`);
  progress('cold start: building the bundles…');
  const built = await buildFunctions(out);
  const results: { name: string; ms: number }[] = [];
  try {
    for (const fn of built) {
      const port = await freePort();
      const started = performance.now();
      const child: ChildProcess = spawn(process.execPath, [FRAMEWORK, `--source=${fn.folder}`, `--target=${fn.entryPoint}`, `--port=${port}`], {
        env: { ...process.env, ...LOCAL_DEFAULTS, GOOGLE_CLOUD_PROJECT: 'sapphire-bench' },
        stdio: 'ignore',
      });
      let ms = Number.NaN;
      for (let i = 0; i < 2_000 && child.exitCode === null; i += 1) {
        const answered = await fetch(`http://127.0.0.1:${port}/`, { method: 'OPTIONS' }).then(() => true, () => false);
        if (answered) {
          ms = performance.now() - started;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      child.kill('SIGKILL');
      results.push({ name: fn.name, ms });
      progress(`  ${fn.name.padEnd(20)} ${ms.toFixed(0)} ms`);
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
  return results;
}

function runWorker(delivery: PushDeliveryMode): Promise<ScenarioFigures[]> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--worker', delivery], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => {
      const line = output.split('\n').find((l) => l.startsWith('BENCH_JSON '));
      if (code !== 0 || !line) reject(new Error(`the ${delivery} worker exited with ${code}`));
      else resolvePromise(JSON.parse(line.slice('BENCH_JSON '.length)) as ScenarioFigures[]);
    });
  });
}

/** Figures cross a JSON pipe, where NaN and ∞ become null: both print as '—'. */
const fmt = (n: number | null | undefined, digits = 1) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : '—');

function printTable(byDelivery: ReadonlyMap<PushDeliveryMode, ScenarioFigures[]>, cold: readonly { name: string; ms: number }[]): void {
  const rows = [
    '| delivery | scenario | signals (unique) | accepted | decided/s | fill s after last 202 | 202→filled p50 / p99 ms | 202→decided p50 | decided→placed p50 | placed→filled p50 | ledger writes/s max | aborts | violations | lost | relay in flight max |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [delivery, scenarios] of byDelivery) {
    for (const s of scenarios) {
      const st = (k: string) => s.stages[k];
      rows.push(
        `| ${delivery} | ${s.name} | ${s.signals} (${s.unique}) | ${s.accepted} | ${fmt(s.decidedPerSecond)} | ${fmt(s.fillSeconds, 2)} | ${st('202→filled') ? `${fmt(st('202→filled')?.p50 ?? NaN, 0)} / ${fmt(st('202→filled')?.p99 ?? NaN, 0)}` : '—'} | ${fmt(st('202→decided')?.p50 ?? NaN, 0)} | ${fmt(st('decided→placed')?.p50 ?? NaN, 0)} | ${fmt(st('placed→filled')?.p50 ?? NaN, 0)} | ${s.ledgerWritesPerSecondMax} | ${s.aborts} | ${s.violations} | ${s.lost} | ${s.relayMaxInFlight ?? '—'} |`,
      );
    }
  }
  rows.push('', '| bundle | cold start ms |', '|---|---|', ...cold.map((c) => `| ${c.name} | ${fmt(c.ms, 0)} |`));
  process.stdout.write(`${rows.join('\n')}\n\n`);
}

async function main(): Promise<void> {
  const deliveries = (process.env.BENCH_DELIVERIES ?? 'relay,emulator').split(',').filter(Boolean) as PushDeliveryMode[];
  const cold = await coldStarts();
  const byDelivery = new Map<PushDeliveryMode, ScenarioFigures[]>();
  for (const delivery of deliveries) byDelivery.set(delivery, await runWorker(delivery));
  printTable(byDelivery, cold);
  const relay = byDelivery.get('relay') ?? [];
  const get = (name: string) => relay.find((s) => s.name === name);
  const single = get('single')?.stages['202→filled'];
  const result = {
    burst_decided_per_s: fmt(get('burst')?.decidedPerSecond ?? NaN),
    burst4_decided_per_s: fmt(get('burst4')?.decidedPerSecond ?? NaN),
    burst_fill_s: fmt(get('burst')?.fillSeconds ?? NaN, 2),
    single_p50_ms: fmt(single?.p50 ?? NaN, 0),
    single_p99_ms: fmt(single?.p99 ?? NaN, 0),
    cold_start_max_ms: fmt(Math.max(...cold.map((c) => c.ms)), 0),
    ledger_doc_writes_per_s_max: Math.max(0, ...relay.filter((s) => s.name !== 'single').map((s) => s.ledgerWritesPerSecondMax)),
    violations: relay.reduce((sum, s) => sum + s.violations, 0),
    lost: relay.reduce((sum, s) => sum + s.lost, 0),
  };
  process.stdout.write(`RESULT ${Object.entries(result).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
}

const workerIndex = process.argv.indexOf('--worker');
const senderIndex = process.argv.indexOf('--send');
if (workerIndex >= 0) await worker(process.argv[workerIndex + 1] as PushDeliveryMode);
else if (senderIndex >= 0) await sender(process.argv[senderIndex + 1] as string);
else await main();
process.exit(0);
