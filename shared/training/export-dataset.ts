import type { AgentProfile } from '../domain/agents.js';
import type { Kline } from '../domain/exchange.js';
import { ROUND_TRIP_FEE_FRACTION } from '../domain/baselines/strategies.js';
import { ReservationRecord } from '../domain/margin.js';
import { type DatasetBuild, type DecisionOutcome, type RecordedDecision, buildDataset } from '../domain/training-dataset.js';
import { COLLECTIONS } from '../firestore/collections.js';
import type { TrainingDeps } from './deps.js';

/**
 * The dataset export's I/O: what Sapphire recorded about one agent in a window (decisions with
 * the context it saw, what became of their signals) and the candles around them, handed to the
 * pure builder; the files it makes go to Cloud Storage beside their manifest.
 */

const MINUTE = 60_000;
/** Candles a prompt is built from: the prompt shows the last 30. */
const CONTEXT_CANDLES = 30;
/** The venue's page size for klines. */
const KLINES_PAGE = 1_000;

export interface ExportedDataset {
  readonly train: string;
  readonly validation: string;
  readonly manifest: string;
  readonly rows: number;
}

/** Closed one-minute candles of `symbol` in [from, to), paging back from `to`. */
async function candlesBetween(deps: TrainingDeps, symbol: string, from: number, to: number): Promise<Kline[]> {
  const pages: Kline[][] = [];
  let end = to - 1;
  while (end >= from) {
    const page = (await deps.market.klines(symbol, KLINES_PAGE, end)).filter((k) => k.openTime >= from && k.closeTime < to);
    if (page.length === 0) break;
    pages.unshift(page);
    const earliest = Math.min(...page.map((k) => k.openTime));
    if (earliest <= from) break;
    end = earliest - 1;
  }
  return pages.flat();
}

async function recordedDecisions(deps: TrainingDeps, agentId: string, from: number, to: number): Promise<RecordedDecision[]> {
  const snap = await deps.db.collection(COLLECTIONS.agentDecisions).where('agentId', '==', agentId).get();
  return snap.docs
    .map((d) => d.data() as RecordedDecision)
    .filter((d) => {
      const t = Date.parse(d.decidedFor);
      return t >= from && t < to;
    });
}

async function outcomesOf(deps: TrainingDeps, decisions: readonly RecordedDecision[]): Promise<Map<string, DecisionOutcome>> {
  const signalIds = decisions.flatMap((d) => (d.signalId ? [d.signalId] : []));
  const outcomes = new Map<string, DecisionOutcome>();
  for (let i = 0; i < signalIds.length; i += 300) {
    const refs = signalIds.slice(i, i + 300).map((id) => deps.db.collection(COLLECTIONS.reservations).doc(id));
    if (refs.length === 0) continue;
    for (const snap of await deps.db.getAll(...refs)) {
      if (!snap.exists) continue;
      const record = ReservationRecord.parse(snap.data());
      outcomes.set(record.signalId, { reservation: record.status, ...(record.reason ? { rejectionReason: record.reason } : {}) });
    }
  }
  return outcomes;
}

/** Builds the agent's dataset for the window; writes it to `gs://<bucket>/datasets/<agent>/<run>/` unless skipped. */
export async function exportDataset(
  deps: TrainingDeps,
  agent: AgentProfile,
  runId: string,
  window: { readonly from: Date; readonly to: Date },
): Promise<{ readonly build: DatasetBuild; readonly exported?: ExportedDataset }> {
  const to = window.to.getTime();
  const decisions = agent.strategy === 'volatility_forecast' ? [] : await recordedDecisions(deps, agent.agentId, window.from.getTime(), to);
  // The time split is a share of the span that holds data: for decisions, from the first one
  // (an agent that started recording mid-window would otherwise validate on all of it).
  const first = Math.min(...decisions.map((d) => Date.parse(d.decidedFor)));
  const from = Number.isFinite(first) ? Math.max(window.from.getTime(), Math.floor(first / MINUTE) * MINUTE) : window.from.getTime();
  const symbols = [...new Set([...agent.allowedSymbols, ...decisions.flatMap((d) => d.context?.symbols ?? [])])];
  const reach = (agent.strategy === 'volatility_forecast' ? 1 : CONTEXT_CANDLES) * MINUTE;
  const candles = new Map<string, Kline[]>();
  for (const symbol of symbols) {
    try {
      candles.set(symbol, await candlesBetween(deps, symbol, from - reach, to));
    } catch {
      candles.set(symbol, []); // a symbol the venue does not list adds no rows
    }
  }
  const horizon = deps.settings.labelHorizonMinutes;
  const build = buildDataset(
    {
      agent,
      window: { from, to },
      labelHorizonMinutes: horizon,
      roundTripFeeFraction: ROUND_TRIP_FEE_FRACTION,
      validationFraction: deps.settings.validationFraction,
      purgeMinutes: horizon,
      minLabelledRows: deps.settings.minRows,
      contextCandles: CONTEXT_CANDLES,
    },
    decisions,
    await outcomesOf(deps, decisions),
    candles,
  );
  if (build.status === 'skipped') return { build };
  const prefix = `gs://${deps.settings.bucket}/datasets/${agent.agentId}/${runId}`;
  for (const file of build.files) {
    await deps.objects.writeText(`${prefix}/${file.name}`, file.content, file.name.endsWith('.jsonl') ? 'application/jsonl' : 'application/json');
  }
  return {
    build,
    exported: { train: `${prefix}/train.jsonl`, validation: `${prefix}/validation.jsonl`, manifest: `${prefix}/manifest.json`, rows: build.manifest.labelledRows },
  };
}
