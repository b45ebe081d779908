import type { z } from 'zod';
import { FUNCTIONS, pushTriggers, repeatMinutes } from '../../triggers/manifest.js';
import { deliverAlert } from '../alerts/deliver.js';
import { RateLimiter } from '../concurrency/rate-limiter.js';
import type { Config } from '../config.js';
import type { AgentProfile } from '../domain/agents.js';
import { CANDLE_MINUTE, type CandleSeries } from '../domain/candles.js';
import { AlertMessage, OrderRequest, TradeSignal } from '../domain/messages.js';
import { DeliveryLog } from '../firestore/alert-deliveries.js';
import { listAgentProfiles, seedAgentProfiles } from '../firestore/agent-profiles.js';
import { COLLECTIONS } from '../firestore/collections.js';
import { MAX_JOBS_PER_COMMIT } from '../firestore/coalesced-document.js';
import { LedgerRepository } from '../firestore/ledger-repository.js';
import { runAgent } from '../inference/run-agents.js';
import { inferenceDepsFromConfig } from '../inference/runtime.js';
import { reserveAndPublish } from '../reservations/reserve-and-publish.js';
import { reservationDepsFromConfig } from '../reservations/runtime.js';
import { evaluateAndEnforce, evaluatorDepsFromConfig } from '../risk/runtime.js';
import type { RuntimeIo } from '../runtime-io.js';
import { reconcile } from '../trading/reconcile.js';
import { routeOrder } from '../trading/route-order.js';
import { reconcileOptionsFromConfig, tradingDepsFromConfig } from '../trading/runtime.js';
import { type BusMessage, ReplayBus } from './bus.js';
import { MemoryFirestore } from './memory-firestore.js';
import { ReplayMarket } from './replay-market.js';
import type { ReplayRecorder } from './recorder.js';

/**
 * A replay: the deployed functions' own code — the same dependencies built by the same
 * factories, the same handlers — run over a market window on a simulated clock. Cloud
 * Scheduler's jobs fire at their cron minutes of market time, in the manifest's order; what
 * they publish is delivered to the subscribers the manifest names, one message at a time, until
 * the minute is quiet; then the clock moves on a minute. Only the outside changes: documents
 * live in process (MemoryFirestore), Pub/Sub is a queue (ReplayBus), the venue is the paper
 * exchange on the candle files (ReplayMarket), and agents decide with their local baselines.
 */

export interface ReplayRun {
  readonly from: number;
  readonly to: number;
  readonly market: ReadonlyMap<string, CandleSeries>;
  readonly agents: readonly AgentProfile[];
  readonly config: Config;
  /** Sets the process's clock (Date) to a market instant: the replay's time is everyone's. */
  readonly setClock: (time: number) => void;
  readonly recorder: ReplayRecorder;
  /** After each minute, with what the replay has done so far. */
  readonly onMinute?: (progress: ReplayProgress) => void;
}

export interface ReplayProgress {
  readonly time: number;
  readonly minutesDone: number;
  readonly minutes: number;
  readonly messages: number;
  readonly documents: number;
}

export interface ReplayOutcome {
  /** Messages a subscriber still failed after its subscription's delivery attempts (the dead letters). */
  readonly failedDeliveries: ReplayBus['failed'];
  readonly messages: number;
  /** The store, for a caller that compares it (the parity test). */
  readonly store: MemoryFirestore;
}

/** Scheduled jobs a replay does not run: training needs Vertex AI, which a replay does not reach. */
const NOT_REPLAYED = new Set(['training-kickoff']);

/** Collections whose history nothing on the replayed path reads back: the recorder takes each write as it comes. */
const HISTORY_COLLECTIONS = [COLLECTIONS.agentDecisions, COLLECTIONS.riskSnapshots];

type Handler = (message: unknown) => Promise<unknown>;

function validated<T>(schema: z.ZodType<T>, handle: (message: T) => Promise<unknown>): Handler {
  return (message) => handle(schema.parse(message));
}

export async function replay(run: ReplayRun): Promise<ReplayOutcome> {
  const store = new MemoryFirestore({ latestOnly: HISTORY_COLLECTIONS });
  store.observe(run.recorder.observeCommit);
  const db = store.asFirestore();
  // Ledger commits are paced per wall-clock second in production; a replay has no wall clock.
  const ledgers = LedgerRepository.for(db, { maxBatch: MAX_JOBS_PER_COMMIT });
  const bus = new ReplayBus();
  const io: RuntimeIo = { db, publisher: bus, market: new ReplayMarket(run.market) };
  const config = { ...run.config, ENABLE_VERTEX_AI: false, ENABLE_PAPER_TRADING: true } satisfies Config;
  const inference = inferenceDepsFromConfig(config, io);
  const reservations = reservationDepsFromConfig(config, io);
  const trading = tradingDepsFromConfig(config, io);
  const evaluator = evaluatorDepsFromConfig(config, io);
  const alerts = { destinations: [], deliveries: new DeliveryLog(db), limiter: new RateLimiter(config.ALERT_RATE_PER_SECOND) };
  const reconcileOptions = reconcileOptionsFromConfig(config);

  const scheduled: Record<string, () => Promise<unknown>> = {
    'agent-inference': async () => {
      const now = new Date();
      const agents = await listAgentProfiles(db);
      await Promise.allSettled(agents.map((agent) => runAgent(inference, agent, now)));
    },
    'drawdown-evaluator': () => evaluateAndEnforce(evaluator, () => trading),
    reconciler: () => reconcile(trading, reconcileOptions),
  };
  const pushed: Record<string, Handler> = {
    'margin-reservation': validated(TradeSignal, (signal) => reserveAndPublish(reservations, signal)),
    'order-router': validated(OrderRequest, (order) => routeOrder(trading, order)),
    'drawdown-evaluator': () => evaluateAndEnforce(evaluator, () => trading),
    'alert-publisher': validated(AlertMessage, (alert) => deliverAlert(alerts, alert)),
  };

  const jobs: { name: string; everyMinutes: number; run: () => Promise<unknown> }[] = [];
  for (const spec of FUNCTIONS) {
    for (const trigger of pushTriggers(spec)) {
      const handle = pushed[spec.name];
      bus.subscribe(trigger.topic, spec.name, trigger.deadLetter.maxDeliveryAttempts, async (message: BusMessage) => {
        if (!handle) throw new Error(`${spec.name} does not run in a replay, yet ${message.topic} reached it`);
        await handle(message.data);
      });
    }
    if (NOT_REPLAYED.has(spec.name)) continue;
    for (const trigger of spec.triggers) {
      if (trigger.kind !== 'schedule') continue;
      const everyMinutes = repeatMinutes(trigger.schedule);
      const job = scheduled[spec.name];
      if (!everyMinutes || !job) throw new Error(`a replay cannot run ${spec.name}'s schedule "${trigger.schedule}"`);
      jobs.push({ name: spec.name, everyMinutes, run: job });
    }
  }
  // What the report reads: every refusal, and every alert (what a subscriber of risk-events sees).
  bus.subscribe(config.topics.riskEvents, 'report', 1, run.recorder.observeMessage);
  bus.subscribe(config.topics.alerts, 'report', 1, run.recorder.observeMessage);

  run.setClock(run.from);
  await seedAgentProfiles(db, run.agents);
  const minutes = Math.round((run.to - run.from) / CANDLE_MINUTE);
  for (let i = 0; i < minutes; i += 1) {
    const time = run.from + i * CANDLE_MINUTE;
    run.setClock(time);
    const minuteOfHour = new Date(time).getUTCMinutes();
    for (const job of jobs) {
      if (minuteOfHour % job.everyMinutes !== 0) continue;
      await job.run();
      await bus.drain();
    }
    await run.recorder.endOfMinute(time, () => ledgers.allLedgers());
    run.onMinute?.({ time, minutesDone: i + 1, minutes, messages: bus.published, documents: store.documentCount });
  }
  return { failedDeliveries: bus.failed, messages: bus.published, store };
}
