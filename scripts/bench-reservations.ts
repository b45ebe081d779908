/**
 * npm run bench:reservations — margin reservations per second against the Firestore emulator,
 * group commit versus one transaction per signal, with 64 concurrent producers.
 *
 * Prints progress while it runs, a table, and as its last line:
 *   RESULT speedup=<one-agent throughput ratio> violations=<n> lock_timeouts=<n>
 * (violations and lock timeouts are those of the coalescing design).
 */
import { randomBytes } from 'node:crypto';
import type { AgentProfile } from '../shared/domain/agents.js';
import { ReservationRecord } from '../shared/domain/margin.js';
import type { TradeSignal } from '../shared/domain/messages.js';
import { seedAgentProfiles } from '../shared/firestore/agent-profiles.js';
import { firestoreFor } from '../shared/firestore/client.js';
import { COLLECTIONS } from '../shared/firestore/collections.js';
import { LedgerRepository } from '../shared/firestore/ledger-repository.js';
import { MarginLedger } from '../shared/firestore/margin-ledger.js';
import { startEmulator } from './lib/emulators.js';
import { USD } from '../shared/domain/money.js';

const PRODUCERS = 64;
const SECONDS_PER_SCENARIO = Number(process.env.BENCH_SECONDS ?? 10);
/** Each signal reserves 0.25 USD: a 1,000 USD budget lasts 4,000 signals, then rejections follow. */
const SIGNAL = { notionalMicros: USD / 2, leverage: 2 };

type Design = 'coalescing' | 'naive';
interface Scenario {
  readonly design: Design;
  readonly agents: number;
  readonly maxSignals: number;
}

interface ScenarioResult extends Scenario {
  decided: number;
  accepted: number;
  rejected: number;
  failed: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  transactions: number;
  aborts: number;
  lockTimeouts: number;
  violations: number;
}

function profile(agentId: string): AgentProfile {
  return {
    agentId,
    displayName: agentId,
    model: 'bench',
    strategy: 'momentum',
    marginAllocationMicros: 1_000 * USD,
    maxLeverage: 10,
    minPositionNotionalMicros: 1,
    maxPositionNotionalMicros: 10_000 * USD,
    allowedSymbols: ['BTCUSDT'],
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function signal(agentId: string, n: number, runId: string): TradeSignal {
  const now = Date.now();
  return {
    signalId: `bench-${runId}-${n}`,
    agentId,
    symbol: 'BTCUSDT',
    side: 'BUY',
    size: { type: 'notional', notionalMicros: SIGNAL.notionalMicros },
    leverage: SIGNAL.leverage,
    confidence: 1,
    source: 'bench',
    reduceOnly: false,
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + 3_600_000).toISOString(),
  };
}

/** Reserved margin in the ledger equals the sum over reserved records, and fits the allocation. */
async function countViolations(projectId: string, agents: readonly AgentProfile[]): Promise<number> {
  const db = firestoreFor(projectId);
  let violations = 0;
  for (const agent of agents) {
    const [records, ledger] = await Promise.all([
      db.collection(COLLECTIONS.reservations).where('agentId', '==', agent.agentId).get(),
      LedgerRepository.for(db).ledgerOf(agent.agentId),
    ]);
    const reservedSum = records.docs
      .map((d) => ReservationRecord.parse(d.data()))
      .filter((r) => r.status === 'reserved')
      .reduce((sum, r) => sum + r.marginMicros, 0);
    const { reservedMicros: reserved, inUseMicros: inUse } = ledger;
    if (reserved !== reservedSum || reserved + inUse > agent.marginAllocationMicros || reserved < 0) violations += 1;
  }
  return violations;
}

async function runScenario(scenario: Scenario, label: string): Promise<ScenarioResult> {
  const runId = randomBytes(4).toString('hex');
  const projectId = `bench-${runId}`;
  const db = firestoreFor(projectId);
  const agents = Array.from({ length: scenario.agents }, (_, i) => profile(`bench-agent-${i}`));
  await seedAgentProfiles(db, agents);
  // Unpaced: this measures what group commit can decide, not the ledger's write pacing.
  const ledgers = new LedgerRepository(db, { maxBatch: 200 });
  const ledger = new MarginLedger(db, { maxSymbolsPerAgent: 50, coalesce: scenario.design === 'coalescing', ledgers });

  const latencies: number[] = [];
  let issued = 0;
  let accepted = 0;
  let rejected = 0;
  let failed = 0;
  const started = performance.now();
  const deadline = started + SECONDS_PER_SCENARIO * 1000;
  const progress = setInterval(() => {
    const seconds = (performance.now() - started) / 1000;
    process.stderr.write(`  ${label}: ${latencies.length} decided, ${failed} failed, ${Math.round(latencies.length / seconds)}/s\n`);
  }, 2_000);

  const producer = async () => {
    while (issued < scenario.maxSignals && performance.now() < deadline) {
      const n = issued++;
      const agentId = (agents[n % agents.length] as AgentProfile).agentId;
      const t0 = performance.now();
      try {
        const { record } = await ledger.reserveMargin(signal(agentId, n, runId));
        latencies.push(performance.now() - t0);
        if (record.status === 'reserved') accepted += 1;
        else rejected += 1;
      } catch {
        failed += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: PRODUCERS }, producer));
  clearInterval(progress);
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const stats = ledgers.transactionStats;
  return {
    ...scenario,
    decided: latencies.length,
    accepted,
    rejected,
    failed,
    seconds,
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    transactions: stats.commits,
    aborts: stats.aborts,
    lockTimeouts: stats.lockTimeouts,
    violations: await countViolations(projectId, agents),
  };
}

function table(results: readonly ScenarioResult[]): string {
  const header = ['design', 'agents', 'decided', 'accepted', 'rejected', 'failed', 'reservations/s', 'p50 ms', 'p99 ms', 'commits', 'aborts', 'lock timeouts', 'violations'];
  const rows = results.map((r) => [
    r.design,
    String(r.agents),
    String(r.decided),
    String(r.accepted),
    String(r.rejected),
    String(r.failed),
    r.perSecond.toFixed(0),
    r.p50.toFixed(1),
    r.p99.toFixed(1),
    String(r.transactions),
    String(r.aborts),
    String(r.lockTimeouts),
    String(r.violations),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padStart(widths[i] as number)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  process.env.METADATA_SERVER_DETECTION = 'none';
  process.stderr.write('starting the Firestore emulator…\n');
  const emulator = await startEmulator('firestore', { projectId: 'bench' });
  process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
  const stop = () => void emulator.stop().then(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    process.stderr.write(`emulator on ${emulator.host}; warming up…\n`);
    await runScenario({ design: 'coalescing', agents: 1, maxSignals: 500 }, 'warm-up');
    const scenarios: Scenario[] = [
      { design: 'coalescing', agents: 1, maxSignals: 20_000 },
      { design: 'coalescing', agents: 4, maxSignals: 20_000 },
      { design: 'naive', agents: 1, maxSignals: 20_000 },
      { design: 'naive', agents: 4, maxSignals: 20_000 },
    ];
    const results: ScenarioResult[] = [];
    for (const scenario of scenarios) {
      const label = `${scenario.design}, ${scenario.agents} agent${scenario.agents > 1 ? 's' : ''}`;
      process.stderr.write(`running ${label} (${PRODUCERS} producers, up to ${SECONDS_PER_SCENARIO} s)…\n`);
      results.push(await runScenario(scenario, label));
    }
    const find = (design: Design, agents: number) => results.find((r) => r.design === design && r.agents === agents) as ScenarioResult;
    const coalescing = results.filter((r) => r.design === 'coalescing');
    const speedup = find('coalescing', 1).perSecond / Math.max(find('naive', 1).perSecond, 1e-9);
    process.stdout.write(`\n${table(results)}\n\n`);
    process.stdout.write(
      `RESULT speedup=${speedup.toFixed(1)} violations=${coalescing.reduce((s, r) => s + r.violations, 0)} lock_timeouts=${coalescing.reduce((s, r) => s + r.lockTimeouts, 0)}\n`,
    );
  } finally {
    await emulator.stop();
  }
}

await main();
