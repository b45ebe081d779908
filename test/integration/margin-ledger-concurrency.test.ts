import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AgentProfile } from '../../shared/domain/agents.js';
import type { ReservationRecord } from '../../shared/domain/margin.js';
import type { TradeSignal } from '../../shared/domain/messages.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { COLLECTIONS } from '../../shared/firestore/collections.js';
import { MarginLedger } from '../../shared/firestore/margin-ledger.js';
import { makeSignal } from '../support/signals.js';
import { isolatedProject } from '../support/stack.js';
import { reservationsOf, seedTestAgent } from '../support/trading.js';
import { USD } from '../../shared/domain/money.js';

/** The margin invariant under real concurrency on the Firestore emulator. */

const projectId = isolatedProject('concurrency');
const db = firestoreFor(projectId);

async function assertInvariant(agent: AgentProfile): Promise<ReservationRecord[]> {
  const records = await reservationsOf(db, agent.agentId);
  const reservedSum = records.filter((r) => r.status === 'reserved').reduce((sum, r) => sum + r.marginMicros, 0);
  const ledger = (await db.collection(COLLECTIONS.marginLedgers).doc(agent.agentId).get()).data();
  expect(ledger?.reservedMicros).toBe(reservedSum);
  expect(reservedSum + (ledger?.inUseMicros ?? 0)).toBeLessThanOrEqual(agent.marginAllocationMicros);
  return records;
}

function signalsFor(agentId: string, prefix: string, count: number, marginUsd: number): TradeSignal[] {
  return Array.from({ length: count }, (_, i) =>
    makeSignal({ agentId, signalId: `${prefix}-${i}`, size: { type: 'notional', notionalMicros: marginUsd * 2 * USD }, leverage: 2 }),
  );
}

function runWorker(signals: readonly TradeSignal[], startAt: number): Promise<{ decidedHere: string[]; reserved: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/reserve-worker.ts', JSON.stringify(signals)], {
      env: { ...process.env, START_AT: String(startAt) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`worker exited ${code}: ${err.slice(-2000)}`));
      else resolve(JSON.parse(out.trim().split('\n').pop() as string));
    });
  });
}

beforeAll(async () => {
  await db.collection('probe').doc('warm').set({ ok: true });
});

describe('MarginLedger under concurrency', () => {
  it('coalesces 300 concurrent reservations of one agent without over-allocating', async () => {
    const agent = await seedTestAgent(db, 'burst-agent');
    const ledger = new MarginLedger(db, { maxSymbolsPerAgent: 50 });
    // 300 × 7 USD of margin against a 1,000 USD budget: 142 fit, then the budget is gone.
    const signals = signalsFor(agent.agentId, 'burst', 300, 7);
    const outcomes = await Promise.all([...signals, ...signals.slice(0, 100)].map((s) => ledger.reserveMargin(s)));
    const records = await assertInvariant(agent);
    expect(records).toHaveLength(300);
    expect(records.filter((r) => r.status === 'reserved')).toHaveLength(142);
    expect(outcomes.filter((o) => o.decidedNow)).toHaveLength(300);
  });

  it('never over-allocates when two OS processes reserve for the same agent at once', async () => {
    const agent = await seedTestAgent(db, 'two-process-agent');
    const shared = signalsFor(agent.agentId, 'both', 60, 9);
    const startAt = Date.now() + 4_000; // both processes are loaded by then
    const [first, second] = await Promise.all([
      runWorker([...signalsFor(agent.agentId, 'p1', 120, 9), ...shared], startAt),
      runWorker([...signalsFor(agent.agentId, 'p2', 120, 9), ...shared], startAt),
    ]);
    const records = await assertInvariant(agent);
    expect(records).toHaveLength(300);
    // 1,000 / 9 = 111 reservations fit; every signal was decided by exactly one process.
    expect(records.filter((r) => r.status === 'reserved')).toHaveLength(111);
    const decided = [...first.decidedHere, ...second.decidedHere];
    expect(new Set(decided).size).toBe(300);
    expect(decided).toHaveLength(300);
  }, 90_000);

  it('releases a reservation exactly once, however many times and however concurrently it is asked', async () => {
    const agent = await seedTestAgent(db, 'release-agent');
    const ledger = new MarginLedger(db, { maxSymbolsPerAgent: 50 });
    const [kept, released] = signalsFor(agent.agentId, 'rel', 2, 40);
    await Promise.all([kept, released].map((s) => ledger.reserveMargin(s as TradeSignal)));
    const results = await Promise.all(Array.from({ length: 10 }, () => ledger.releaseReservation((released as TradeSignal).signalId, 'order rejected')));
    expect(results.filter((r) => r.released)).toHaveLength(1);
    expect(await ledger.ledgerOf(agent.agentId)).toMatchObject({ reservedMicros: 40 * USD, openSymbols: { BTCUSDT: 1 } });
    expect(await ledger.reservationOf((released as TradeSignal).signalId)).toMatchObject({ status: 'released', releaseReason: 'order rejected' });
    expect(await ledger.releaseReservation('never-seen', 'expired')).toEqual({ released: false });
    await assertInvariant(agent);
  });
});
