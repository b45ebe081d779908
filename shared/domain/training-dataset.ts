import { createHash } from 'node:crypto';
import { type MarketContext, llmPrompt } from './agent-prompt.js';
import type { AgentProfile } from './agents.js';
import type { SymbolSeries } from './baselines/strategies.js';
import type { Kline } from './exchange.js';

/**
 * The dataset export of a training kickoff: from what Sapphire recorded (each decision of an
 * agent, the context it saw, its outcome) and one-minute candles, the training and validation
 * files of one agent over one time window, and their manifest. Pure: data in, file contents
 * out; the same inputs give byte-identical files.
 *
 * No leakage: a row's features are candles closed at or before its minute t (a candle closes
 * at openTime + 1 minute), its label only the candle closing at t + H. Split by time with a
 * purge gap: a training row's label ends at or before splitAt − purge, a validation row starts
 * at or after splitAt, rows in between are dropped.
 */

export const DATASET_SCHEMA_VERSION = 1;
const MINUTE = 60_000;
/** Returns are written with this many decimals (GluonTS targets and row metadata). */
export const RETURN_DECIMALS = 8;
/** A label commits all the free margin when the move is this many round-trip fees. */
const FULL_SIZE_FEES = 4;
/** The leverage a label asks for, capped by the agent's maximum. */
const LABEL_LEVERAGE = 3;

export interface DatasetWindow {
  /** Epoch ms, whole minutes, [from, to). */
  readonly from: number;
  readonly to: number;
}

export interface DatasetSpec {
  readonly agent: AgentProfile;
  readonly window: DatasetWindow;
  /** H: how far ahead a label looks (and the forecaster's prediction length). */
  readonly labelHorizonMinutes: number;
  /** Taker fee in and out as a fraction of notional (0.001). */
  readonly roundTripFeeFraction: number;
  /** The latest share of the window's time that validates, in (0, 1). */
  readonly validationFraction: number;
  /** Minutes between the end of training labels and splitAt; at least labelHorizonMinutes. */
  readonly purgeMinutes: number;
  /** Fewer labelled rows (training + validation) than this: the build is skipped. */
  readonly minLabelledRows: number;
  /** Candles per symbol an LLM row is built from (the prompt shows the last 30). */
  readonly contextCandles: number;
  /** The forecaster's target: log returns (default) or simple returns per minute. */
  readonly forecastReturn?: 'log' | 'simple';
}

/** One agentDecisions document. */
export interface RecordedDecision {
  readonly agentId: string;
  /** The decision minute as ISO (toISOString): the start of the minute after the last closed candle. */
  readonly decidedFor: string;
  readonly action: string;
  readonly signalId?: string;
  readonly reason?: string;
  readonly context?: {
    readonly symbols: readonly string[];
    readonly freeMarginMicros: number;
    readonly positions: MarketContext['positions'];
  };
}

/** What became of a decision's signal (its reservations/{signalId} document and the trade). */
export interface DecisionOutcome {
  readonly reservation?: 'reserved' | 'ordered' | 'rejected' | 'released';
  readonly rejectionReason?: string;
  readonly filledQuantity?: string;
  readonly realizedPnlMicros?: number;
}

/** One-minute klines per symbol, in any order; only closed candles. */
export type CandlesBySymbol = ReadonlyMap<string, readonly Kline[]>;

export interface DatasetFile {
  readonly name: string;
  /** JSONL (one record a line, each ending in \n) or JSON. */
  readonly content: string;
  readonly rows: number;
  /** Hex SHA-256 of the UTF-8 content. */
  readonly sha256: string;
}

export interface DatasetFileEntry {
  readonly name: string;
  /** Lines of the file. */
  readonly rows: number;
  /** Return values in the file (forecaster series only). */
  readonly values?: number;
  readonly sha256: string;
  /** First and last row minute t (an LLM row's decision minute, a forecaster return's minute). */
  readonly timeRange: { readonly min: string; readonly max: string };
}

export interface DatasetManifest {
  readonly schemaVersion: number;
  readonly kind: 'llm-sft' | 'gluonts-series';
  readonly agentId: string;
  readonly model: string;
  readonly strategy: AgentProfile['strategy'];
  readonly window: { readonly from: string; readonly to: string };
  readonly splitAt: string;
  readonly validationFraction: number;
  readonly purgeMinutes: number;
  readonly contextCandles?: number;
  readonly label: {
    readonly horizonMinutes: number;
    readonly roundTripFeeFraction: number;
    readonly rule: string;
    readonly freq?: '1min';
    readonly target?: 'log_return' | 'simple_return';
    readonly decimals?: number;
  };
  readonly labelledRows: number;
  readonly files: readonly DatasetFileEntry[];
  /** Why data was left out, counted (decisions for an LLM set, return minutes for a forecaster). */
  readonly excluded: Readonly<Record<string, number>>;
}

export type DatasetBuild =
  | { readonly status: 'built'; readonly files: readonly DatasetFile[]; readonly manifest: DatasetManifest }
  | { readonly status: 'skipped'; readonly reason: string; readonly labelledRows: number };

// ---------------------------------------------------------------------------------------------
// Spec, time split, candles

/** Checks a spec; throws RangeError on one that could leak or makes no sense. */
export function validateSpec(spec: DatasetSpec): void {
  const { window: w } = spec;
  const wholeMinute = (ms: number) => Number.isSafeInteger(ms) && ms % MINUTE === 0;
  if (!wholeMinute(w.from) || !wholeMinute(w.to) || w.from >= w.to) {
    throw new RangeError(`window must be whole minutes with from < to, got [${w.from}, ${w.to})`);
  }
  const positiveInt = (n: number) => Number.isSafeInteger(n) && n > 0;
  if (!positiveInt(spec.labelHorizonMinutes))
    throw new RangeError(`labelHorizonMinutes must be a positive integer, got ${spec.labelHorizonMinutes}`);
  if (!Number.isSafeInteger(spec.purgeMinutes) || spec.purgeMinutes < spec.labelHorizonMinutes) {
    throw new RangeError(
      `purgeMinutes (${spec.purgeMinutes}) must be an integer of at least labelHorizonMinutes (${spec.labelHorizonMinutes})`,
    );
  }
  if (!(spec.validationFraction > 0 && spec.validationFraction < 1))
    throw new RangeError(`validationFraction must be in (0, 1), got ${spec.validationFraction}`);
  if (!(Number.isFinite(spec.roundTripFeeFraction) && spec.roundTripFeeFraction >= 0 && spec.roundTripFeeFraction < 1)) {
    throw new RangeError(`roundTripFeeFraction must be in [0, 1), got ${spec.roundTripFeeFraction}`);
  }
  if (!Number.isSafeInteger(spec.minLabelledRows) || spec.minLabelledRows < 0)
    throw new RangeError(`minLabelledRows must be a non-negative integer, got ${spec.minLabelledRows}`);
  if (!positiveInt(spec.contextCandles)) throw new RangeError(`contextCandles must be a positive integer, got ${spec.contextCandles}`);
}

/**
 * The first validation minute: from + (1 − validationFraction) × (to − from), floored to the
 * minute (rounded to the millisecond first, so 0.7 × 6,000,000 is 4,200,000, not 4,199,999.99…).
 */
export function splitAtOf(window: DatasetWindow, validationFraction: number): number {
  const trainMs = Math.round((1 - validationFraction) * (window.to - window.from));
  return window.from + Math.floor(trainMs / MINUTE) * MINUTE;
}

/** Which part a row of minute t with a label ending at labelEnd belongs to. */
export function splitOf(t: number, labelEnd: number, splitAt: number, purgeMinutes: number): 'train' | 'validation' | 'purged' {
  if (t >= splitAt) return 'validation';
  if (labelEnd <= splitAt - purgeMinutes * MINUTE) return 'train';
  return 'purged';
}

/** Candles of each symbol by openTime. */
export type CandleIndex = ReadonlyMap<string, ReadonlyMap<number, Kline>>;

/**
 * Indexes candles by symbol and openTime. Identical duplicates (overlapping pages) collapse;
 * two different candles for one minute, a candle off the minute, a non-positive close or an
 * unreadable volume throw: the export would otherwise depend on input order or train on junk.
 */
export function indexCandles(candles: CandlesBySymbol): CandleIndex {
  const index = new Map<string, Map<number, Kline>>();
  for (const [symbol, klines] of candles) {
    const bySymbol = new Map<number, Kline>();
    for (const k of klines) {
      if (!Number.isSafeInteger(k.openTime) || k.openTime % MINUTE !== 0)
        throw new RangeError(`${symbol} candle openTime ${k.openTime} is not a whole minute`);
      if (!Number.isSafeInteger(k.closeMicros) || k.closeMicros <= 0)
        throw new RangeError(`${symbol} candle ${iso(k.openTime)} has close ${k.closeMicros} micro-USD`);
      if (k.volume.trim() === '' || !Number.isFinite(Number(k.volume)))
        throw new RangeError(`${symbol} candle ${iso(k.openTime)} has volume ${JSON.stringify(k.volume)}`);
      const seen = bySymbol.get(k.openTime);
      if (seen && !sameKline(seen, k)) throw new RangeError(`${symbol} has two different candles for ${iso(k.openTime)}`);
      bySymbol.set(k.openTime, k);
    }
    index.set(symbol, bySymbol);
  }
  return index;
}

function sameKline(a: Kline, b: Kline): boolean {
  return (
    a.openTime === b.openTime &&
    a.closeTime === b.closeTime &&
    a.openMicros === b.openMicros &&
    a.highMicros === b.highMicros &&
    a.lowMicros === b.lowMicros &&
    a.closeMicros === b.closeMicros &&
    a.volume === b.volume
  );
}

/** The candles one LLM row is built from. */
export interface RowCandles {
  /** Per symbol, the `contextCandles` consecutive candles closing at t − (n−1) min … t, oldest first. */
  readonly features: ReadonlyMap<string, readonly Kline[]>;
  /** Per symbol, the candle closing at t + H: the label's exit price. */
  readonly exits: ReadonlyMap<string, Kline>;
}

/**
 * The candles of a row at minute t, or why it cannot be built. Features: the `contextCandles`
 * candles closed at or before t, consecutive, the last closing exactly at t (its close is the
 * entry price); a gap means the row lacks data. Label: only the candle closing at t + H.
 */
export function rowCandles(
  index: CandleIndex,
  symbols: readonly string[],
  t: number,
  contextCandles: number,
  labelHorizonMinutes: number,
): RowCandles | 'missing_features' | 'missing_label' {
  const features = new Map<string, readonly Kline[]>();
  for (const symbol of symbols) {
    const bySymbol = index.get(symbol);
    const series: Kline[] = [];
    for (let i = contextCandles; i >= 1; i--) {
      const k = bySymbol?.get(t - i * MINUTE);
      if (!k) return 'missing_features';
      series.push(k);
    }
    features.set(symbol, series);
  }
  const exits = new Map<string, Kline>();
  for (const symbol of symbols) {
    const k = index.get(symbol)?.get(t + (labelHorizonMinutes - 1) * MINUTE);
    if (!k) return 'missing_label';
    exits.set(symbol, k);
  }
  return { features, exits };
}

// ---------------------------------------------------------------------------------------------
// LLM rows

/** The decision the realized market says was right, in the prompt's snake_case JSON. */
export interface LabelDecision {
  readonly action: 'BUY' | 'SELL' | 'HOLD';
  readonly symbol: string;
  readonly size_fraction: number;
  readonly leverage: number;
  readonly confidence: number;
  readonly rationale: string;
}

export const LLM_LABEL_RULE =
  'r = close(t + H) / close(t) - 1 per symbol of the prompt (close(t): the candle closing at t). ' +
  'The symbol with the largest |r| (the first on ties) is BUY if r > fee, SELL if r < -fee; otherwise HOLD on the first symbol. ' +
  `size_fraction = min(1, |r| / (${FULL_SIZE_FEES} x fee)) for a trade, 0 for HOLD; leverage = min(maxLeverage, ${LABEL_LEVERAGE}); ` +
  'confidence = |r| / (|r| + fee) for a trade, fee / (|r| + fee) for HOLD; both to 2 decimals. The rationale states r over H minutes.';

/**
 * The label of a row: `returns` are the forward returns per symbol, in the prompt's symbol
 * order. See LLM_LABEL_RULE.
 */
export function labelDecision(
  agent: AgentProfile,
  returns: readonly { readonly symbol: string; readonly r: number }[],
  labelHorizonMinutes: number,
  roundTripFeeFraction: number,
): LabelDecision {
  const first = returns[0];
  if (!first) throw new RangeError('a label needs at least one symbol');
  const best = returns.reduce((b, x) => (Math.abs(x.r) > Math.abs(b.r) ? x : b));
  const move = Math.abs(best.r);
  const fee = roundTripFeeFraction;
  const leverage = Math.min(agent.maxLeverage, LABEL_LEVERAGE);
  const feeText = `${(fee * 100).toFixed(3)}%`;
  if (move > fee) {
    return {
      action: best.r > 0 ? 'BUY' : 'SELL',
      symbol: best.symbol,
      size_fraction: Math.min(1, round(fee === 0 ? 1 : move / (FULL_SIZE_FEES * fee), 2)),
      leverage,
      confidence: round(move / (move + fee), 2),
      rationale: `Expect ${best.symbol} ${percent(best.r)} over the next ${labelHorizonMinutes} minutes, beyond the ${feeText} round-trip fee.`,
    };
  }
  return {
    action: 'HOLD',
    symbol: first.symbol,
    size_fraction: 0,
    leverage,
    confidence: move + fee === 0 ? 1 : round(fee / (move + fee), 2),
    rationale: `No move beyond the ${feeText} round-trip fee expected over the next ${labelHorizonMinutes} minutes; the largest is ${best.symbol} ${percent(best.r)}.`,
  };
}

/** The decision JSON exactly as the prompt asks for it, keys in the prompt's order. */
export function decisionJson(d: LabelDecision): string {
  return JSON.stringify({
    action: d.action,
    symbol: d.symbol,
    size_fraction: d.size_fraction,
    leverage: d.leverage,
    confidence: d.confidence,
    rationale: d.rationale,
  });
}

export interface LlmRowMeta {
  readonly agentId: string;
  readonly decidedFor: string;
  readonly recordedAction: string;
  readonly signalId?: string;
  readonly reservation?: DecisionOutcome['reservation'];
  readonly rejectionReason?: string;
  readonly filledQuantity?: string;
  readonly realizedPnlMicros?: number;
  /** False when the decision had no recorded context: allowedSymbols, no positions, the full allocation. */
  readonly contextRecorded: boolean;
  /** The label symbol's return, to RETURN_DECIMALS. */
  readonly forwardReturn: number;
  /** Every prompt symbol's return, in prompt order. */
  readonly forwardReturns: Readonly<Record<string, number>>;
  /** The feature candles: the first one's open to the last one's close (= t). */
  readonly featureWindow: { readonly from: string; readonly to: string };
  /** The label: from t (the entry close) to t + H (the exit close). */
  readonly labelWindow: { readonly from: string; readonly to: string };
}

export interface LlmRow {
  /** The decision minute, epoch ms. */
  readonly t: number;
  readonly prompt: string;
  readonly completion: string;
  readonly meta: LlmRowMeta;
}

export type LlmExclusion =
  'other_agent' | 'invalid_time' | 'invalid_context' | 'outside_window' | 'label_after_window' | 'missing_features' | 'missing_label';

export interface LlmRows {
  /** By decision minute. */
  readonly rows: readonly LlmRow[];
  readonly excluded: Readonly<Record<LlmExclusion, number>>;
}

/**
 * Every labelled row of the spec's agent in the window, before the split. Throws when the agent
 * is a forecaster, when the spec is invalid, or on two decisions of the agent for one minute
 * (agentDecisions documents are keyed by agent and minute, so that is an I/O bug).
 */
export function buildLlmRows(
  spec: DatasetSpec,
  decisions: readonly RecordedDecision[],
  outcomes: ReadonlyMap<string, DecisionOutcome>,
  candles: CandlesBySymbol,
): LlmRows {
  validateSpec(spec);
  const { agent, window: w } = spec;
  if (agent.strategy === 'volatility_forecast')
    throw new RangeError(`${agent.agentId} is a forecaster: build its dataset with buildForecastDataset`);
  const H = spec.labelHorizonMinutes;
  const index = indexCandles(candles);
  const excluded: Record<LlmExclusion, number> = {
    other_agent: 0,
    invalid_time: 0,
    invalid_context: 0,
    outside_window: 0,
    label_after_window: 0,
    missing_features: 0,
    missing_label: 0,
  };
  const minutes = new Set<number>();
  const rows: LlmRow[] = [];
  for (const d of decisions) {
    if (d.agentId !== agent.agentId) {
      excluded.other_agent++;
      continue;
    }
    const t = Date.parse(d.decidedFor);
    if (!Number.isSafeInteger(t) || t % MINUTE !== 0 || iso(t) !== d.decidedFor) {
      excluded.invalid_time++;
      continue;
    }
    if (minutes.has(t)) throw new RangeError(`two decisions of ${agent.agentId} for ${d.decidedFor}`);
    minutes.add(t);
    if (t < w.from || t >= w.to) {
      excluded.outside_window++;
      continue;
    }
    if (t + H * MINUTE > w.to) {
      excluded.label_after_window++;
      continue;
    }
    const symbols = d.context ? d.context.symbols : agent.allowedSymbols;
    const freeMarginMicros = d.context ? d.context.freeMarginMicros : agent.marginAllocationMicros;
    if (symbols.length === 0 || new Set(symbols).size !== symbols.length || !Number.isSafeInteger(freeMarginMicros)) {
      excluded.invalid_context++;
      continue;
    }
    const found = rowCandles(index, symbols, t, spec.contextCandles, H);
    if (typeof found === 'string') {
      excluded[found]++;
      continue;
    }
    const series: SymbolSeries[] = symbols.map((symbol) => {
      const ks = found.features.get(symbol) as readonly Kline[];
      return { symbol, closes: ks.map((k) => k.closeMicros / 1_000_000), volumes: ks.map((k) => Number(k.volume)) };
    });
    const prompt = llmPrompt({ agent, series, positions: d.context?.positions ?? [], freeMarginMicros });
    const returns = symbols.map((symbol) => {
      const entry = (found.features.get(symbol) as readonly Kline[]).at(-1) as Kline;
      const exit = found.exits.get(symbol) as Kline;
      return { symbol, r: exit.closeMicros / entry.closeMicros - 1 };
    });
    const label = labelDecision(agent, returns, H, spec.roundTripFeeFraction);
    const outcome = d.signalId === undefined ? undefined : outcomes.get(d.signalId);
    const meta: LlmRowMeta = {
      agentId: d.agentId,
      decidedFor: d.decidedFor,
      recordedAction: d.action,
      ...(d.signalId === undefined ? {} : { signalId: d.signalId }),
      ...(outcome?.reservation === undefined ? {} : { reservation: outcome.reservation }),
      ...(outcome?.rejectionReason === undefined ? {} : { rejectionReason: outcome.rejectionReason }),
      ...(outcome?.filledQuantity === undefined ? {} : { filledQuantity: outcome.filledQuantity }),
      ...(outcome?.realizedPnlMicros === undefined ? {} : { realizedPnlMicros: outcome.realizedPnlMicros }),
      contextRecorded: d.context !== undefined,
      forwardReturn: round(returns.find((x) => x.symbol === label.symbol)?.r ?? 0, RETURN_DECIMALS),
      forwardReturns: Object.fromEntries(returns.map((x) => [x.symbol, round(x.r, RETURN_DECIMALS)])),
      featureWindow: { from: iso(t - spec.contextCandles * MINUTE), to: iso(t) },
      labelWindow: { from: iso(t), to: iso(t + H * MINUTE) },
    };
    rows.push({ t, prompt, completion: decisionJson(label), meta });
  }
  rows.sort((a, b) => a.t - b.t);
  return { rows, excluded };
}

/** One line of an SFT file: the chat the model learns, and what it is not trained on. */
export function llmRecord(row: LlmRow): string {
  return JSON.stringify({
    messages: [
      { role: 'user', content: row.prompt },
      { role: 'assistant', content: row.completion },
    ],
    meta: row.meta,
  });
}

/** The SFT dataset of an LLM agent: train.jsonl, validation.jsonl, manifest.json. */
export function buildLlmDataset(
  spec: DatasetSpec,
  decisions: readonly RecordedDecision[],
  outcomes: ReadonlyMap<string, DecisionOutcome>,
  candles: CandlesBySymbol,
): DatasetBuild {
  const { rows, excluded } = buildLlmRows(spec, decisions, outcomes, candles);
  const splitAt = splitAtOf(spec.window, spec.validationFraction);
  const parts = { train: [] as LlmRow[], validation: [] as LlmRow[], purged: [] as LlmRow[] };
  for (const row of rows) parts[splitOf(row.t, row.t + spec.labelHorizonMinutes * MINUTE, splitAt, spec.purgeMinutes)].push(row);
  const skipped = tooFew(spec, parts.train.length, parts.validation.length, splitAt, 'rows');
  if (skipped) return skipped;
  const data = [
    { name: 'train.jsonl', lines: parts.train.map(llmRecord), times: parts.train.map((r) => r.t) },
    { name: 'validation.jsonl', lines: parts.validation.map(llmRecord), times: parts.validation.map((r) => r.t) },
  ];
  return assemble(
    spec,
    'llm-sft',
    splitAt,
    data,
    parts.train.length + parts.validation.length,
    { ...excluded, purged: parts.purged.length },
    {
      contextCandles: spec.contextCandles,
      label: { horizonMinutes: spec.labelHorizonMinutes, roundTripFeeFraction: spec.roundTripFeeFraction, rule: LLM_LABEL_RULE },
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Forecaster series

/** A run of consecutive per-minute returns of one symbol inside one part of the split. */
export interface ReturnSegment {
  readonly symbol: string;
  /** The minute (openTime) of the first return. */
  readonly start: number;
  readonly values: readonly number[];
}

export interface ForecastSegments {
  readonly train: readonly ReturnSegment[];
  readonly validation: readonly ReturnSegment[];
  /** Return minutes in the window left out: in the purge gap, or without both candles. */
  readonly excluded: { readonly purged: number; readonly missing_candles: number };
}

/**
 * The return of minute m (the candle opening at m) is close(m) / close(m − 1 min), known when
 * that candle closes at m + 1 min. Training: minutes with m + 1 min <= splitAt − purge;
 * validation: splitAt <= m < window.to. A minute without both candles is a gap: the segment
 * ends there and the next one starts after it; nothing is filled in.
 */
export function forecastSegments(spec: DatasetSpec, candles: CandlesBySymbol): ForecastSegments {
  validateSpec(spec);
  const { window: w } = spec;
  const index = indexCandles(candles);
  const splitAt = splitAtOf(w, spec.validationFraction);
  const kind = spec.forecastReturn ?? 'log';
  const out = { train: [] as ReturnSegment[], validation: [] as ReturnSegment[] };
  let purged = 0;
  let missing = 0;
  for (const symbol of [...new Set(spec.agent.allowedSymbols)].sort()) {
    const bySymbol = index.get(symbol);
    let open: { part: 'train' | 'validation'; start: number; values: number[] } | undefined;
    const close = () => {
      if (open) out[open.part].push({ symbol, start: open.start, values: open.values });
      open = undefined;
    };
    for (let m = w.from; m < w.to; m += MINUTE) {
      const part = splitOf(m, m + MINUTE, splitAt, spec.purgeMinutes);
      const now = bySymbol?.get(m);
      const before = bySymbol?.get(m - MINUTE);
      if (part === 'purged' || !now || !before) {
        if (part === 'purged') purged++;
        else missing++;
        close();
        continue;
      }
      if (open && open.part !== part) close();
      const ratio = now.closeMicros / before.closeMicros;
      const value = round(kind === 'log' ? Math.log(ratio) : ratio - 1, RETURN_DECIMALS);
      if (open) open.values.push(value);
      else open = { part, start: m, values: [value] };
    }
    close();
  }
  const order = (a: ReturnSegment, b: ReturnSegment) => a.start - b.start || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0);
  return { train: out.train.sort(order), validation: out.validation.sort(order), excluded: { purged, missing_candles: missing } };
}

/** One GluonTS record; start is the first return's minute in UTC without an offset, as pandas reads it. */
export function seriesRecord(segment: ReturnSegment): string {
  return JSON.stringify({ start: iso(segment.start).slice(0, 19), target: segment.values, item_id: segment.symbol });
}

/** The GluonTS dataset of a forecaster agent: train.jsonl, validation.jsonl, manifest.json. */
export function buildForecastDataset(spec: DatasetSpec, candles: CandlesBySymbol): DatasetBuild {
  if (spec.agent.strategy !== 'volatility_forecast')
    throw new RangeError(`${spec.agent.agentId} is an LLM agent: build its dataset with buildLlmDataset`);
  const segments = forecastSegments(spec, candles);
  const splitAt = splitAtOf(spec.window, spec.validationFraction);
  const count = (ss: readonly ReturnSegment[]) => ss.reduce((n, s) => n + s.values.length, 0);
  const trainValues = count(segments.train);
  const validationValues = count(segments.validation);
  const skipped = tooFew(spec, trainValues, validationValues, splitAt, 'return values');
  if (skipped) return skipped;
  const times = (ss: readonly ReturnSegment[]) => ss.flatMap((s) => [s.start, s.start + (s.values.length - 1) * MINUTE]);
  const data = [
    { name: 'train.jsonl', lines: segments.train.map(seriesRecord), times: times(segments.train), values: trainValues },
    { name: 'validation.jsonl', lines: segments.validation.map(seriesRecord), times: times(segments.validation), values: validationValues },
  ];
  const kind = spec.forecastReturn ?? 'log';
  return assemble(spec, 'gluonts-series', splitAt, data, trainValues + validationValues, segments.excluded, {
    label: {
      horizonMinutes: spec.labelHorizonMinutes,
      roundTripFeeFraction: spec.roundTripFeeFraction,
      rule:
        `target[i] is the ${kind} return of minute start + i: ${kind === 'log' ? 'ln(close(m) / close(m - 1 min))' : 'close(m) / close(m - 1 min) - 1'}, ` +
        `to ${RETURN_DECIMALS} decimals, one record per symbol and run of consecutive minutes (a missing candle starts a new record). ` +
        'Train: minutes m with m + 1 min <= splitAt - purge; validation: splitAt <= m < window.to. The forecaster predicts H minutes.',
      freq: '1min',
      target: kind === 'log' ? 'log_return' : 'simple_return',
      decimals: RETURN_DECIMALS,
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Choosing, assembling

/** The agent's dataset: GluonTS series for the forecaster, SFT chats for the LLM agents. */
export function buildDataset(
  spec: DatasetSpec,
  decisions: readonly RecordedDecision[],
  outcomes: ReadonlyMap<string, DecisionOutcome>,
  candles: CandlesBySymbol,
): DatasetBuild {
  return spec.agent.strategy === 'volatility_forecast'
    ? buildForecastDataset(spec, candles)
    : buildLlmDataset(spec, decisions, outcomes, candles);
}

function tooFew(spec: DatasetSpec, train: number, validation: number, splitAt: number, what: string): DatasetBuild | undefined {
  const labelledRows = train + validation;
  const reason =
    labelledRows < spec.minLabelledRows
      ? `${labelledRows} labelled ${what} (${train} train, ${validation} validation), fewer than the ${spec.minLabelledRows} required`
      : train === 0
        ? `no training ${what} with labels ending by ${iso(splitAt - spec.purgeMinutes * MINUTE)} (splitAt minus the ${spec.purgeMinutes}-minute purge)`
        : validation === 0
          ? `no validation ${what} from ${iso(splitAt)} to ${iso(spec.window.to)}`
          : undefined;
  return reason === undefined ? undefined : { status: 'skipped', reason, labelledRows };
}

function assemble(
  spec: DatasetSpec,
  kind: DatasetManifest['kind'],
  splitAt: number,
  data: readonly { name: string; lines: readonly string[]; times: readonly number[]; values?: number }[],
  labelledRows: number,
  excluded: Readonly<Record<string, number>>,
  extra: Pick<DatasetManifest, 'label'> & Partial<Pick<DatasetManifest, 'contextCandles'>>,
): DatasetBuild {
  const files = data.map((d) => file(d.name, d.lines.map((l) => `${l}\n`).join(''), d.lines.length));
  const manifest: DatasetManifest = {
    schemaVersion: DATASET_SCHEMA_VERSION,
    kind,
    agentId: spec.agent.agentId,
    model: spec.agent.model,
    strategy: spec.agent.strategy,
    window: { from: iso(spec.window.from), to: iso(spec.window.to) },
    splitAt: iso(splitAt),
    validationFraction: spec.validationFraction,
    purgeMinutes: spec.purgeMinutes,
    ...(extra.contextCandles === undefined ? {} : { contextCandles: extra.contextCandles }),
    label: extra.label,
    labelledRows,
    files: data.map((d, i) => ({
      name: d.name,
      rows: d.lines.length,
      ...(d.values === undefined ? {} : { values: d.values }),
      sha256: (files[i] as DatasetFile).sha256,
      timeRange: { min: iso(d.times.reduce((a, b) => Math.min(a, b))), max: iso(d.times.reduce((a, b) => Math.max(a, b))) },
    })),
    excluded,
  };
  return { status: 'built', files: [...files, file('manifest.json', `${JSON.stringify(manifest, null, 2)}\n`, 1)], manifest };
}

function file(name: string, content: string, rows: number): DatasetFile {
  return { name, content, rows, sha256: createHash('sha256').update(content, 'utf8').digest('hex') };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function round(x: number, decimals: number): number {
  return Number(x.toFixed(decimals));
}

function percent(r: number): string {
  return `${r > 0 ? '+' : ''}${(r * 100).toFixed(3)}%`;
}
