import type { Firestore } from '@google-cloud/firestore';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_AGENTS } from '../../shared/domain/agents.js';
import { CANDLE_MINUTE } from '../../shared/domain/candles.js';
import { loadConfig } from '../../shared/config.js';
import { COLLECTIONS } from '../../shared/firestore/collections.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { readCandleFolder } from '../../shared/replay/candle-files.js';
import { replay } from '../../shared/replay/engine.js';
import { type DecisionRow, ReplayRecorder } from '../../shared/replay/recorder.js';
import { FUNCTIONS, repeatMinutes } from '../../triggers/manifest.js';
import { LOCAL_DEFAULTS, MARKET_DIR } from '../../scripts/lib/local-defaults.js';
import { type LocalStack, startLocalStack } from '../../scripts/lib/local-stack.js';
import { freePort } from '../../scripts/lib/ports.js';

/**
 * Parity: one market window through the emulator stack exactly as `npm start` wires it (every
 * function served over HTTP, Pub/Sub on the emulator with the push relay, the venue stand-in
 * replaying the candles), stepped a market minute at a time with the stand-in's clock frozen
 * between steps and Cloud Scheduler's jobs POSTed at their cron minutes; and the same window
 * through `npm run replay`'s engine. Decisions, reservations, orders, fills, positions and
 * ledgers must be identical, field for field, except the fields listed in WALL_CLOCK_FIELDS:
 * the stack stamps them with the wall clock (2026, and real latencies), the replay with market
 * time.
 */

const FROM = Date.parse('2023-03-10T00:00:00Z');
const TO = Date.parse('2023-03-10T01:30:00Z');

/** Fields written from the wall clock: when something happened, and how long it took. */
const WALL_CLOCK_FIELDS: Readonly<Record<string, readonly string[]>> = {
  [COLLECTIONS.agentDecisions]: ['recordedAt', 'latencyMs'],
  // A signal's expiry is its decision time plus its life: the wall clock's in the stack.
  [COLLECTIONS.reservations]: ['decidedAt', 'receivedAt', 'decisionLatencyMs', 'publishedAt', 'releasedAt', 'expiresAt'],
  [COLLECTIONS.orders]: ['createdAt', 'updatedAt', 'placedAt', 'placementLatencyMs', 'venueLatencyMs', 'expiresAt'],
  [COLLECTIONS.fills]: ['appliedAt', 'fillLatencyMs'],
  [COLLECTIONS.positions]: [],
  // `revision` counts writes: the stack's concurrent deliveries may share one commit where the replay's come one by one.
  [COLLECTIONS.marginLedgers]: ['updatedAt', 'revision'],
  [COLLECTIONS.paperOrders]: [],
  [COLLECTIONS.paperFills]: [],
  [COLLECTIONS.paperAccount]: [],
};
const COMPARED = Object.keys(WALL_CLOCK_FIELDS).filter((c) => c !== COLLECTIONS.agentDecisions);

type Documents = Record<string, Record<string, unknown>>;

function withoutWallClock(collection: string, data: Record<string, unknown>): Record<string, unknown> {
  const dropped = new Set(WALL_CLOCK_FIELDS[collection]);
  return Object.fromEntries(Object.entries(data).filter(([key]) => !dropped.has(key)));
}

async function readAll(db: Firestore, collection: string): Promise<Documents> {
  const snap = await db.collection(collection).get();
  return Object.fromEntries(snap.docs.map((d) => [d.id, withoutWallClock(collection, d.data())]));
}

const decisionOf = (d: Record<string, unknown>) => ({ agentId: d.agentId, decidedFor: d.decidedFor, model: d.model, action: d.action, signalId: d.signalId ?? '', source: d.source, reason: d.reason ?? '' });

let stack: LocalStack | undefined;
afterAll(async () => {
  await stack?.stop();
}, 60_000);

async function post(url: string, body: unknown = {}): Promise<unknown> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** Waits until every signal of a tick has its outcome published and its order (if any) ended. */
async function settled(db: Firestore, signalIds: readonly string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  const ended = new Set(['filled', 'canceled', 'rejected', 'expired']);
  for (const signalId of signalIds) {
    for (;;) {
      const reservation = (await db.collection(COLLECTIONS.reservations).doc(signalId).get()).data();
      const order = reservation?.orderId ? (await db.collection(COLLECTIONS.orders).doc(String(reservation.orderId)).get()).data() : undefined;
      const done = reservation?.publishedAt && (reservation.status === 'rejected' || reservation.status === 'released' || (order && ended.has(String(order.status))));
      if (done) break;
      if (Date.now() > deadline) throw new Error(`signal ${signalId} not settled: ${JSON.stringify({ reservation, order })}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

describe('replay parity with the emulator stack', () => {
  it('decides, reserves, orders, fills and books the same, to the micro-dollar', async () => {
    // The decision cache is wall-clock: off on both sides, so each tick asks its model.
    process.env.AGENT_CACHE_TTL_SECONDS = '0';
    process.env.SAPPHIRE_QUIET_LOGS = 'true';
    stack = await startLocalStack({ basePort: await freePort(), delivery: 'relay', replayStart: FROM, replaySpeed: 0 });
    const market = stack.market;
    if (!market) throw new Error(`no candle files in ${MARKET_DIR}`);
    const db = firestoreFor(stack.projectId);
    const url = (name: string) => stack?.endpoints.get(name) as string;
    const jobs = FUNCTIONS.filter((spec) => spec.name !== 'training-kickoff').flatMap((spec) =>
      spec.triggers.flatMap((t) => (t.kind === 'schedule' ? [{ name: spec.name, every: repeatMinutes(t.schedule) as number }] : [])),
    );
    for (let time = FROM; time < TO; time += CANDLE_MINUTE) {
      market.clock.set(time, 0);
      for (const job of jobs) {
        if (new Date(time).getUTCMinutes() % job.every !== 0) continue;
        const answer = (await post(url(job.name))) as { runs?: { signalId?: string }[] };
        await settled(db, (answer.runs ?? []).flatMap((r) => (r.signalId ? [r.signalId] : [])));
      }
    }
    const fromStack = Object.fromEntries(await Promise.all(COMPARED.map(async (c) => [c, await readAll(db, c)] as const)));
    const stackDecisions = (await db.collection(COLLECTIONS.agentDecisions).get()).docs.map((d) => decisionOf(d.data()));
    await stack.stop();
    stack = undefined;

    // The same window through the replay's engine, on the process clock faked to market time.
    const data = await readCandleFolder(MARKET_DIR);
    const replayDecisions: DecisionRow[] = [];
    const recorder = new ReplayRecorder(
      { from: FROM, to: TO, sampleMinutes: 1, agents: DEFAULT_AGENTS, symbols: [...data.series.keys()], files: data.files, priceOf: (s, t) => data.series.get(s)?.priceAt(t) ?? 0 },
      { decision: (row) => replayDecisions.push(row), trade: () => undefined },
    );
    vi.useFakeTimers({ toFake: ['Date'], now: FROM });
    let outcome: Awaited<ReturnType<typeof replay>>;
    try {
      outcome = await replay({ from: FROM, to: TO, market: data.series, agents: DEFAULT_AGENTS, config: loadConfig({ ...LOCAL_DEFAULTS, ...process.env }), setClock: (t) => vi.setSystemTime(t), recorder });
    } finally {
      vi.useRealTimers();
    }
    const memory = outcome.store.asFirestore();
    const fromReplay = Object.fromEntries(await Promise.all(COMPARED.map(async (c) => [c, await readAll(memory, c)] as const)));

    expect(outcome.failedDeliveries).toEqual([]);
    const byKey = (rows: { agentId: unknown; decidedFor: unknown }[]) => [...rows].sort((a, b) => (`${a.agentId}${a.decidedFor}` < `${b.agentId}${b.decidedFor}` ? -1 : 1));
    expect(byKey(replayDecisions.map((r) => decisionOf({ ...r })))).toEqual(byKey(stackDecisions));
    // The window trades (here 19 signals, 14 fills in 72 decisions): the comparison below is of something.
    expect(Object.keys(fromStack[COLLECTIONS.reservations] ?? {}).length).toBeGreaterThan(5);
    expect(Object.keys(fromStack[COLLECTIONS.fills] ?? {}).length).toBeGreaterThan(5);
    for (const collection of COMPARED) expect({ collection, documents: fromReplay[collection] }).toEqual({ collection, documents: fromStack[collection] });
  }, 300_000);
});
