import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { llmPrompt } from '../../../shared/domain/agent-prompt.js';
import { type AgentProfile, DEFAULT_AGENTS } from '../../../shared/domain/agents.js';
import type { Kline } from '../../../shared/domain/exchange.js';
import {
  type CandlesBySymbol,
  type DatasetBuild,
  type DatasetSpec,
  type DecisionOutcome,
  type RecordedDecision,
  LLM_LABEL_RULE,
  buildDataset,
  buildForecastDataset,
  buildLlmDataset,
  buildLlmRows,
  forecastSegments,
  indexCandles,
  llmRecord,
  rowCandles,
  splitAtOf,
} from '../../../shared/domain/training-dataset.js';

const MIN = 60_000;
const T0 = Date.UTC(2023, 2, 10); // 2023-03-10T00:00:00.000Z
const iso = (ms: number) => new Date(ms).toISOString();
const agent = (id: string) => DEFAULT_AGENTS.find((a) => a.agentId === id) as AgentProfile;
const DEEPSEEK = agent('deepseek-v3');
const LAGLLAMA: AgentProfile = { ...agent('lagllama-degen'), allowedSymbols: ['BTCUSDT', 'ETHUSDT'] };
const PAIR = ['BTCUSDT', 'ETHUSDT'];
const NO_OUTCOMES = new Map<string, DecisionOutcome>();

const kline = (openTime: number, closeMicros: number, volume = '1.5'): Kline => ({
  openTime,
  closeTime: openTime + MIN - 1,
  openMicros: closeMicros,
  highMicros: closeMicros,
  lowMicros: closeMicros,
  closeMicros,
  volume,
});

/** Flat one-minute candles of each symbol over [from, to), with some closes replaced (USD). */
function market(
  from: number,
  to: number,
  prices: Record<string, number>,
  changes: Record<string, Record<number, number>> = {},
): Map<string, Kline[]> {
  const out = new Map<string, Kline[]>();
  for (const [symbol, price] of Object.entries(prices)) {
    const ks: Kline[] = [];
    for (let m = from, i = 0; m < to; m += MIN, i++) {
      const close = changes[symbol]?.[m] ?? price;
      ks.push(kline(m, Math.round(close * 1_000_000), String(1 + (i % 5) * 0.25)));
    }
    out.set(symbol, ks);
  }
  return out;
}

function llmSpec(over: Partial<DatasetSpec> = {}): DatasetSpec {
  return {
    agent: DEEPSEEK,
    window: { from: T0, to: T0 + 100 * MIN },
    labelHorizonMinutes: 15,
    roundTripFeeFraction: 0.001,
    validationFraction: 0.2,
    purgeMinutes: 15,
    minLabelledRows: 1,
    contextCandles: 30,
    ...over,
  };
}

const decision = (t: number, over: Partial<RecordedDecision> = {}): RecordedDecision => ({
  agentId: 'deepseek-v3',
  decidedFor: iso(t),
  action: 'HOLD',
  context: { symbols: PAIR, freeMarginMicros: 950_000_000, positions: [] },
  ...over,
});

const sha = (content: string) => createHash('sha256').update(content, 'utf8').digest('hex');
const lines = (content: string) => content.split('\n').filter((l) => l !== '');
const built = (b: DatasetBuild) => {
  if (b.status !== 'built') throw new Error(`expected a built dataset, got: ${b.reason}`);
  return b;
};
const fileNamed = (b: DatasetBuild, name: string) => built(b).files.find((f) => f.name === name)?.content ?? '';

describe('LLM labels: the decision the realized return says was right', () => {
  const t = T0 + 40 * MIN;
  const exitOpen = t + 14 * MIN; // the candle that closes at t + 15 minutes
  const one = (changes: Record<string, Record<number, number>>, d: RecordedDecision = decision(t)) => {
    const { rows } = buildLlmRows(
      llmSpec(),
      [d],
      NO_OUTCOMES,
      market(T0 - 30 * MIN, T0 + 100 * MIN, { BTCUSDT: 20_000, ETHUSDT: 1_500 }, changes),
    );
    expect(rows).toHaveLength(1);
    return rows[0] as (typeof rows)[number];
  };

  it('labels BUY on the symbol that rose more than the fee, with the record line exactly as written', () => {
    const outcomes = new Map<string, DecisionOutcome>([
      ['sig-1', { reservation: 'ordered', filledQuantity: '0.012', realizedPnlMicros: -122_225 }],
    ]);
    const candles = market(T0 - 30 * MIN, T0 + 100 * MIN, { BTCUSDT: 20_000, ETHUSDT: 1_500 }, { BTCUSDT: { [exitOpen]: 20_100 } });
    const { rows } = buildLlmRows(llmSpec(), [decision(t, { action: 'BUY', signalId: 'sig-1' })], outcomes, candles);
    const prompt = llmPrompt({
      agent: DEEPSEEK,
      series: PAIR.map((symbol) => {
        const ks = (candles.get(symbol) as Kline[]).filter((k) => k.openTime >= t - 30 * MIN && k.openTime < t);
        return { symbol, closes: ks.map((k) => k.closeMicros / 1e6), volumes: ks.map((k) => Number(k.volume)) };
      }),
      positions: [],
      freeMarginMicros: 950_000_000,
    });
    expect(rows.map(llmRecord)).toEqual([
      JSON.stringify({
        messages: [
          { role: 'user', content: prompt },
          {
            role: 'assistant',
            content:
              '{"action":"BUY","symbol":"BTCUSDT","size_fraction":1,"leverage":3,"confidence":0.83,' +
              '"rationale":"Expect BTCUSDT +0.500% over the next 15 minutes, beyond the 0.100% round-trip fee."}',
          },
        ],
        meta: {
          agentId: 'deepseek-v3',
          decidedFor: '2023-03-10T00:40:00.000Z',
          recordedAction: 'BUY',
          signalId: 'sig-1',
          reservation: 'ordered',
          filledQuantity: '0.012',
          realizedPnlMicros: -122_225,
          contextRecorded: true,
          forwardReturn: 0.005,
          forwardReturns: { BTCUSDT: 0.005, ETHUSDT: 0 },
          featureWindow: { from: '2023-03-10T00:10:00.000Z', to: '2023-03-10T00:40:00.000Z' },
          labelWindow: { from: '2023-03-10T00:40:00.000Z', to: '2023-03-10T00:55:00.000Z' },
        },
      }),
    ]);
  });

  it('labels SELL on the symbol that fell more than the fee, sized by the move over four fees', () => {
    const row = one({ ETHUSDT: { [exitOpen]: 1_497 } });
    expect(row.completion).toBe(
      '{"action":"SELL","symbol":"ETHUSDT","size_fraction":0.5,"leverage":3,"confidence":0.67,' +
        '"rationale":"Expect ETHUSDT -0.200% over the next 15 minutes, beyond the 0.100% round-trip fee."}',
    );
    expect(row.meta.forwardReturns).toEqual({ BTCUSDT: 0, ETHUSDT: -0.002 });
    expect(row.meta.forwardReturn).toBe(-0.002);
  });

  it('labels HOLD on the first symbol when no move beats the fee, naming the largest move', () => {
    const row = one({ BTCUSDT: { [exitOpen]: 20_010 }, ETHUSDT: { [exitOpen]: 1_498.8 } });
    expect(row.completion).toBe(
      '{"action":"HOLD","symbol":"BTCUSDT","size_fraction":0,"leverage":3,"confidence":0.56,' +
        '"rationale":"No move beyond the 0.100% round-trip fee expected over the next 15 minutes; the largest is ETHUSDT -0.080%."}',
    );
    expect(row.meta.forwardReturn).toBe(0.0005);
  });

  it('takes the exit from the candle closing at t + H, not from any candle in between or after', () => {
    const row = one({ BTCUSDT: { [exitOpen - MIN]: 30_000, [exitOpen + MIN]: 10_000 } });
    expect(JSON.parse(row.completion)).toMatchObject({ action: 'HOLD', symbol: 'BTCUSDT' });
    expect(row.meta.forwardReturns).toEqual({ BTCUSDT: 0, ETHUSDT: 0 });
  });

  it('caps the label leverage at the agent maximum', () => {
    const twoX: AgentProfile = { ...DEEPSEEK, maxLeverage: 2 };
    const candles = market(T0 - 30 * MIN, T0 + 100 * MIN, { BTCUSDT: 20_000, ETHUSDT: 1_500 }, { BTCUSDT: { [exitOpen]: 20_100 } });
    const { rows } = buildLlmRows(llmSpec({ agent: twoX }), [decision(t)], NO_OUTCOMES, candles);
    expect(JSON.parse(rows[0]?.completion ?? '{}')).toMatchObject({ action: 'BUY', leverage: 2 });
  });
});

describe('LLM prompts: exactly what the agent is asked at inference', () => {
  const t = T0 + 200 * MIN;
  const candles = market(
    T0,
    T0 + 300 * MIN,
    { BTCUSDT: 20_000, ETHUSDT: 1_500 },
    {
      BTCUSDT: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [T0 + i * MIN, 20_000 + ((i * 37) % 101) / 4])),
      ETHUSDT: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [T0 + i * MIN, 1_500 - ((i * 13) % 29) / 8])),
    },
  );
  const positions = [{ symbol: 'BTCUSDT', quantity: '0.012', side: 'long' as const }];
  const recorded = decision(t, { context: { symbols: PAIR, freeMarginMicros: 912_345_678, positions } });

  it('equals llmPrompt of the context run-agents builds from the last 180 closed candles, whatever contextCandles >= 30', () => {
    // run-agents: the last 180 klines, closes = closeMicros / 1e6, volumes = Number(volume), decidedFor = last closeTime + 1.
    const last180 = (symbol: string) => (candles.get(symbol) as Kline[]).filter((k) => k.closeTime + 1 <= t).slice(-180);
    const atInference = llmPrompt({
      agent: DEEPSEEK,
      series: PAIR.map((symbol) => ({
        symbol,
        closes: last180(symbol).map((k) => k.closeMicros / 1_000_000),
        volumes: last180(symbol).map((k) => Number(k.volume)),
      })),
      positions,
      freeMarginMicros: 912_345_678,
    });
    for (const contextCandles of [30, 31, 180]) {
      const spec = llmSpec({ window: { from: T0, to: T0 + 300 * MIN }, contextCandles });
      expect(buildLlmRows(spec, [recorded], NO_OUTCOMES, candles).rows.map((r) => r.prompt)).toEqual([atInference]);
    }
  });

  it('falls back to the agent symbols, no positions and the whole allocation when no context was recorded', () => {
    const five = market(T0, T0 + 300 * MIN, { BTCUSDT: 20_000, ETHUSDT: 1_500, SOLUSDT: 20, BNBUSDT: 300, XRPUSDT: 0.4 });
    const spec = llmSpec({ window: { from: T0, to: T0 + 300 * MIN } });
    const { rows } = buildLlmRows(spec, [decision(t, { context: undefined })], NO_OUTCOMES, five);
    const expected = llmPrompt({
      agent: DEEPSEEK,
      series: DEEPSEEK.allowedSymbols.map((symbol) => {
        const ks = (five.get(symbol) as Kline[]).slice(170, 200);
        return { symbol, closes: ks.map((k) => k.closeMicros / 1e6), volumes: ks.map((k) => Number(k.volume)) };
      }),
      positions: [],
      freeMarginMicros: 1_000_000_000,
    });
    expect(rows.map((r) => [r.prompt, r.meta.contextRecorded])).toEqual([[expected, false]]);
    expect(expected).toContain('Free margin: 1000.000000 USD');
  });
});

describe('LLM rows: which decisions become rows', () => {
  it('counts each decision left out by its reason and keeps the one with all its data', () => {
    const candles = market(T0 - 30 * MIN, T0 + 100 * MIN, { BTCUSDT: 20_000, ETHUSDT: 1_500 });
    // a gap in ETH features of t = 00:20 and a missing BTC exit candle of t = 00:60
    candles.set(
      'ETHUSDT',
      (candles.get('ETHUSDT') as Kline[]).filter((k) => k.openTime !== T0 + 5 * MIN),
    );
    candles.set(
      'BTCUSDT',
      (candles.get('BTCUSDT') as Kline[]).filter((k) => k.openTime !== T0 + 74 * MIN),
    );
    const decisions: RecordedDecision[] = [
      decision(T0 + 40 * MIN),
      decision(T0 + 41 * MIN, { agentId: 'qwen-7b' }),
      decision(T0, { decidedFor: '2023-03-10T00:42:30.000Z' }),
      decision(T0, { decidedFor: '2023-03-10T00:43:00Z' }),
      decision(T0 - MIN),
      decision(T0 + 100 * MIN),
      decision(T0 + 86 * MIN),
      decision(T0 + 20 * MIN),
      decision(T0 + 60 * MIN),
      decision(T0 + 44 * MIN, { context: { symbols: [], freeMarginMicros: 1, positions: [] } }),
      decision(T0 + 45 * MIN, { context: { symbols: PAIR, freeMarginMicros: 1.5, positions: [] } }),
    ];
    const { rows, excluded } = buildLlmRows(llmSpec(), decisions, NO_OUTCOMES, candles);
    expect(rows.map((r) => r.meta.decidedFor)).toEqual(['2023-03-10T00:40:00.000Z']);
    expect(excluded).toEqual({
      other_agent: 1,
      invalid_time: 2,
      invalid_context: 2,
      outside_window: 2,
      label_after_window: 1,
      missing_features: 1,
      missing_label: 1,
    });
  });

  it('keeps a row whose label candle closes exactly at window.to and drops one a minute later', () => {
    const candles = market(T0 - 30 * MIN, T0 + 120 * MIN, { BTCUSDT: 20_000, ETHUSDT: 1_500 });
    const { rows, excluded } = buildLlmRows(llmSpec(), [decision(T0 + 85 * MIN), decision(T0 + 86 * MIN)], NO_OUTCOMES, candles);
    expect(rows.map((r) => r.meta.labelWindow.to)).toEqual([iso(T0 + 100 * MIN)]);
    expect(excluded.label_after_window).toBe(1);
  });

  it('refuses two decisions of the agent for one minute, and two different candles for one minute', () => {
    const candles = market(T0 - 30 * MIN, T0 + 100 * MIN, { BTCUSDT: 20_000, ETHUSDT: 1_500 });
    expect(() => buildLlmRows(llmSpec(), [decision(T0 + 40 * MIN), decision(T0 + 40 * MIN)], NO_OUTCOMES, candles)).toThrow(
      'two decisions of deepseek-v3 for 2023-03-10T00:40:00.000Z',
    );
    const btc = candles.get('BTCUSDT') as Kline[];
    expect(indexCandles(new Map([['BTCUSDT', [...btc, ...btc]]])).get('BTCUSDT')?.size).toBe(130);
    expect(() => indexCandles(new Map([['BTCUSDT', [...btc, kline(T0, 1)]]]))).toThrow(
      'BTCUSDT has two different candles for 2023-03-10T00:00:00.000Z',
    );
  });

  it('refuses to build an LLM set for the forecaster and a series set for an LLM agent', () => {
    expect(() => buildLlmDataset(llmSpec({ agent: LAGLLAMA }), [], NO_OUTCOMES, new Map())).toThrow('lagllama-degen is a forecaster');
    expect(() => buildForecastDataset(llmSpec(), new Map())).toThrow('deepseek-v3 is an LLM agent');
  });
});

describe('the time split with a purge gap', () => {
  const candles = market(T0 - 30 * MIN, T0 + 100 * MIN, { BTCUSDT: 20_000, ETHUSDT: 1_500 });

  it('puts rows whose label ends by splitAt - purge in train, rows from splitAt in validation, drops the rest, and writes the manifest', () => {
    // window 00:00–01:40, 20% validation: splitAt 01:20; purge 15: train labels end by 01:05
    const minutes = [10, 50, 51, 64, 79, 80, 85, 86];
    const build = built(
      buildLlmDataset(
        llmSpec(),
        minutes.map((m) => decision(T0 + m * MIN)),
        NO_OUTCOMES,
        candles,
      ),
    );
    const t = (name: string) => lines(fileNamed(build, name)).map((l) => JSON.parse(l).meta.decidedFor);
    expect(build.files.map((f) => [f.name, f.rows])).toEqual([
      ['train.jsonl', 2],
      ['validation.jsonl', 2],
      ['manifest.json', 1],
    ]);
    expect(t('train.jsonl')).toEqual(['2023-03-10T00:10:00.000Z', '2023-03-10T00:50:00.000Z']);
    expect(t('validation.jsonl')).toEqual(['2023-03-10T01:20:00.000Z', '2023-03-10T01:25:00.000Z']);
    const [train, validation, manifest] = build.files;
    expect(build.manifest).toEqual({
      schemaVersion: 1,
      kind: 'llm-sft',
      agentId: 'deepseek-v3',
      model: 'deepseek-v3',
      strategy: 'momentum',
      window: { from: '2023-03-10T00:00:00.000Z', to: '2023-03-10T01:40:00.000Z' },
      splitAt: '2023-03-10T01:20:00.000Z',
      validationFraction: 0.2,
      purgeMinutes: 15,
      contextCandles: 30,
      label: { horizonMinutes: 15, roundTripFeeFraction: 0.001, rule: LLM_LABEL_RULE },
      labelledRows: 4,
      files: [
        {
          name: 'train.jsonl',
          rows: 2,
          sha256: sha(train?.content ?? ''),
          timeRange: { min: '2023-03-10T00:10:00.000Z', max: '2023-03-10T00:50:00.000Z' },
        },
        {
          name: 'validation.jsonl',
          rows: 2,
          sha256: sha(validation?.content ?? ''),
          timeRange: { min: '2023-03-10T01:20:00.000Z', max: '2023-03-10T01:25:00.000Z' },
        },
      ],
      excluded: {
        other_agent: 0,
        invalid_time: 0,
        invalid_context: 0,
        outside_window: 0,
        label_after_window: 1,
        missing_features: 0,
        missing_label: 0,
        purged: 3,
      },
    });
    expect(manifest?.content).toBe(`${JSON.stringify(build.manifest, null, 2)}\n`);
  });

  it('floors splitAt to the minute without float error', () => {
    expect(iso(splitAtOf({ from: T0, to: T0 + 100 * MIN }, 0.3))).toBe('2023-03-10T01:10:00.000Z');
    expect(iso(splitAtOf({ from: T0, to: T0 + 99 * MIN }, 0.2))).toBe('2023-03-10T01:19:00.000Z'); // 79.2 minutes
  });

  it('throws when the purge is shorter than the label horizon, for every horizon and both kinds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 240 }), fc.integer({ min: 1, max: 240 }), (h, shortBy) => {
        const spec = llmSpec({ labelHorizonMinutes: h, purgeMinutes: Math.max(0, h - shortBy) });
        const message = `purgeMinutes (${spec.purgeMinutes}) must be an integer of at least labelHorizonMinutes (${h})`;
        expect(() => buildLlmDataset(spec, [], NO_OUTCOMES, new Map())).toThrow(message);
        expect(() => buildForecastDataset({ ...spec, agent: LAGLLAMA }, new Map())).toThrow(message);
      }),
    );
  });

  it('property: max over train of t + H <= splitAt - purge, min over validation of t >= splitAt, every label inside the window', () => {
    fc.assert(
      fc.property(randomMarket, decisionMinutes, splitParams, (candles, minutes, params) => {
        const spec = llmSpec({ ...params, minLabelledRows: 0 });
        const decisions = minutes.map((m) => decision(BASE + m * MIN));
        const build = buildLlmDataset(spec, decisions, NO_OUTCOMES, candles);
        const { rows } = buildLlmRows(spec, decisions, NO_OUTCOMES, candles);
        const splitAt = splitAtOf(spec.window, spec.validationFraction);
        const H = spec.labelHorizonMinutes * MIN;
        if (build.status === 'skipped') {
          expect(build.reason).toMatch(/^no (training|validation) rows /);
          return;
        }
        const times = (name: string) => lines(fileNamed(build, name)).map((l) => Date.parse(JSON.parse(l).meta.decidedFor));
        const train = times('train.jsonl');
        const validation = times('validation.jsonl');
        expect(Math.max(...train) + H).toBeLessThanOrEqual(splitAt - spec.purgeMinutes * MIN);
        expect(Math.min(...validation)).toBeGreaterThanOrEqual(splitAt);
        for (const t of [...train, ...validation]) {
          expect(t).toBeGreaterThanOrEqual(spec.window.from);
          expect(t + H).toBeLessThanOrEqual(spec.window.to);
        }
        expect(train.length + validation.length + (build.manifest.excluded.purged ?? -1)).toBe(rows.length);
      }),
    );
  });
});

// Random markets for the properties: two symbols, 150 minutes from BASE, random walks with gaps.
const BASE = T0 - 40 * MIN;
const LENGTH = 150;
const walk = fc.record({
  steps: fc.array(fc.integer({ min: -40, max: 40 }), { minLength: LENGTH, maxLength: LENGTH }),
  gaps: fc.uniqueArray(fc.nat(LENGTH - 1), { maxLength: 3 }),
});
const randomMarket: fc.Arbitrary<Map<string, Kline[]>> = fc.tuple(walk, walk).map(([btc, eth]) => {
  const series = (w: typeof btc, start: number) => {
    let price = start;
    return w.steps.flatMap((step, i) => {
      price += step * 10_000;
      return w.gaps.includes(i) ? [] : [kline(BASE + i * MIN, price, String(((i * 7) % 13) / 4))];
    });
  };
  return new Map([
    ['BTCUSDT', series(btc, 20_000_000_000)],
    ['ETHUSDT', series(eth, 1_500_000_000)],
  ]);
});
const decisionMinutes = fc.uniqueArray(fc.integer({ min: 0, max: LENGTH + 5 }), { minLength: 10, maxLength: 80 });
const splitParams = fc
  .record({
    h: fc.integer({ min: 1, max: 20 }),
    extraPurge: fc.integer({ min: 0, max: 10 }),
    validationFraction: fc.integer({ min: 1, max: 9 }).map((n) => n / 10),
    contextCandles: fc.integer({ min: 1, max: 35 }),
    fromOffset: fc.integer({ min: 0, max: 40 }),
  })
  .map((p) => ({
    labelHorizonMinutes: p.h,
    purgeMinutes: p.h + p.extraPurge,
    validationFraction: p.validationFraction,
    contextCandles: p.contextCandles,
    window: { from: BASE + p.fromOffset * MIN, to: BASE + LENGTH * MIN },
  }));

describe('no leakage', () => {
  it('property: feature candles all closed at or before t, the only label candle closes at t + H', () => {
    fc.assert(
      fc.property(
        randomMarket,
        fc.integer({ min: 0, max: LENGTH }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 30 }),
        (candles, m, n, h) => {
          const t = BASE + m * MIN;
          const found = rowCandles(indexCandles(candles), PAIR, t, n, h);
          if (typeof found === 'string') return;
          for (const symbol of PAIR) {
            const features = found.features.get(symbol) ?? [];
            expect(features).toHaveLength(n);
            for (const k of features) expect(k.openTime + MIN).toBeLessThanOrEqual(t);
            expect((features.at(-1)?.openTime ?? 0) + MIN).toBe(t);
            const exit = found.exits.get(symbol) as Kline;
            expect(exit.openTime + MIN).toBeGreaterThan(t);
            expect(exit.openTime + MIN).toBe(t + h * MIN);
          }
        },
      ),
    );
  });

  it('property: changing every candle that closes after a cut changes no prompt of a row at or before it and no row whose label ends by it', () => {
    fc.assert(
      fc.property(
        randomMarket,
        decisionMinutes,
        splitParams,
        fc.integer({ min: 0, max: LENGTH }),
        (candles, minutes, params, cutMinute) => {
          const spec = llmSpec(params);
          const cut = BASE + cutMinute * MIN;
          const future = new Map(
            [...candles].map(([symbol, ks]) => [
              symbol,
              ks.map((k) => (k.openTime + MIN > cut ? { ...k, closeMicros: k.closeMicros + 7_000_000, volume: '999.5' } : k)),
            ]),
          );
          const decisions = minutes.map((m) => decision(BASE + m * MIN));
          const before = buildLlmRows(spec, decisions, NO_OUTCOMES, candles).rows;
          const after = buildLlmRows(spec, decisions, NO_OUTCOMES, future).rows;
          expect(after.map((r) => r.t)).toEqual(before.map((r) => r.t));
          before.forEach((row, i) => {
            const changed = after[i] as (typeof after)[number];
            expect(row.meta.featureWindow.to).toBe(row.meta.decidedFor);
            expect(row.meta.labelWindow).toEqual({ from: row.meta.decidedFor, to: iso(row.t + spec.labelHorizonMinutes * MIN) });
            if (row.t <= cut) expect(changed.prompt).toBe(row.prompt);
            if (row.t + spec.labelHorizonMinutes * MIN <= cut) expect(llmRecord(changed)).toBe(llmRecord(row));
          });
        },
      ),
    );
  });
});

describe('determinism', () => {
  it('property: the same inputs in any order give byte-identical files whose sha256 matches their content', () => {
    fc.assert(
      fc.property(randomMarket, decisionMinutes, splitParams, fc.boolean(), (candles, minutes, params, forecaster) => {
        const spec = llmSpec({ ...params, minLabelledRows: 0, agent: forecaster ? LAGLLAMA : DEEPSEEK });
        const decisions = minutes.map((m) => decision(BASE + m * MIN, { signalId: `s-${m}` }));
        const outcomes = new Map(
          minutes.map((m) => [`s-${m}`, { reservation: 'rejected' as const, rejectionReason: 'agent_margin_exceeded' }]),
        );
        const shuffled: CandlesBySymbol = new Map([...candles].reverse().map(([s, ks]) => [s, [...ks].reverse()]));
        const first = buildDataset(spec, decisions, outcomes, candles);
        expect(buildDataset(spec, decisions, outcomes, candles)).toEqual(first);
        expect(buildDataset(spec, [...decisions].reverse(), new Map([...outcomes].reverse()), shuffled)).toEqual(first);
        if (first.status === 'skipped') return;
        for (const f of first.files) expect(f.sha256).toBe(sha(f.content));
        expect(first.files.at(-1)?.name).toBe('manifest.json');
        expect(first.manifest.files.map((f) => f.sha256)).toEqual(first.files.slice(0, 2).map((f) => f.sha256));
        expect(first.files.slice(0, 2).map((f) => lines(f.content).length)).toEqual(first.files.slice(0, 2).map((f) => f.rows));
      }),
    );
  });
});

describe('too little data', () => {
  const candles = market(T0 - 30 * MIN, T0 + 100 * MIN, { BTCUSDT: 20_000, ETHUSDT: 1_500 });
  const at = (...minutes: number[]) => minutes.map((m) => decision(T0 + m * MIN));

  it('skips with the count when train + validation rows are fewer than minLabelledRows', () => {
    expect(buildLlmDataset(llmSpec({ minLabelledRows: 5 }), at(10, 20, 80, 81, 60), NO_OUTCOMES, candles)).toEqual({
      status: 'skipped',
      reason: '4 labelled rows (2 train, 2 validation), fewer than the 5 required',
      labelledRows: 4,
    });
  });

  it('skips an empty training set and an empty validation set', () => {
    expect(buildLlmDataset(llmSpec(), at(80, 81), NO_OUTCOMES, candles)).toEqual({
      status: 'skipped',
      reason: 'no training rows with labels ending by 2023-03-10T01:05:00.000Z (splitAt minus the 15-minute purge)',
      labelledRows: 2,
    });
    expect(buildLlmDataset(llmSpec(), at(10, 20), NO_OUTCOMES, candles)).toEqual({
      status: 'skipped',
      reason: 'no validation rows from 2023-03-10T01:20:00.000Z to 2023-03-10T01:40:00.000Z',
      labelledRows: 2,
    });
  });

  it('skips a forecaster with no candles', () => {
    expect(buildDataset(llmSpec({ agent: LAGLLAMA }), [], NO_OUTCOMES, new Map())).toEqual({
      status: 'skipped',
      reason: '0 labelled return values (0 train, 0 validation), fewer than the 1 required',
      labelledRows: 0,
    });
  });
});

describe('forecaster series (GluonTS)', () => {
  // window 00:00–00:20, splitAt 00:15, purge 3: train minutes m with m + 1 <= 00:12.
  // BTC closes 100 on even minutes and 101 on odd ones, its 00:05 candle missing; ETH flat.
  const spec = llmSpec({
    agent: LAGLLAMA,
    window: { from: T0, to: T0 + 20 * MIN },
    validationFraction: 0.25,
    labelHorizonMinutes: 2,
    purgeMinutes: 3,
  });
  const btc = Array.from({ length: 21 }, (_, i) => i - 1)
    .filter((k) => k !== 5)
    .map((k) => kline(T0 + k * MIN, (k % 2 === 0 ? 100 : 101) * 1_000_000));
  const candles = new Map([
    ['ETHUSDT', Array.from({ length: 21 }, (_, i) => kline(T0 + (i - 1) * MIN, 2_000_000_000))],
    ['BTCUSDT', btc],
  ]);
  const up = 0.00995033;
  const down = -0.00995033;

  it('writes one record per symbol and run of minutes, split at gaps, log returns to 8 decimals, ordered by start then symbol', () => {
    const build = built(buildDataset(spec, [], NO_OUTCOMES, candles));
    expect(fileNamed(build, 'train.jsonl')).toBe(
      [
        { start: '2023-03-10T00:00:00', target: [down, up, down, up, down], item_id: 'BTCUSDT' },
        { start: '2023-03-10T00:00:00', target: Array(12).fill(0), item_id: 'ETHUSDT' },
        { start: '2023-03-10T00:07:00', target: [up, down, up, down, up], item_id: 'BTCUSDT' },
      ]
        .map((r) => `${JSON.stringify(r)}\n`)
        .join(''),
    );
    expect(fileNamed(build, 'validation.jsonl')).toBe(
      [
        { start: '2023-03-10T00:15:00', target: [up, down, up, down, up], item_id: 'BTCUSDT' },
        { start: '2023-03-10T00:15:00', target: Array(5).fill(0), item_id: 'ETHUSDT' },
      ]
        .map((r) => `${JSON.stringify(r)}\n`)
        .join(''),
    );
    expect(build.manifest).toMatchObject({
      kind: 'gluonts-series',
      agentId: 'lagllama-degen',
      splitAt: '2023-03-10T00:15:00.000Z',
      labelledRows: 32,
      label: { horizonMinutes: 2, freq: '1min', target: 'log_return', decimals: 8 },
      files: [
        { name: 'train.jsonl', rows: 3, values: 22, timeRange: { min: '2023-03-10T00:00:00.000Z', max: '2023-03-10T00:11:00.000Z' } },
        { name: 'validation.jsonl', rows: 2, values: 10, timeRange: { min: '2023-03-10T00:15:00.000Z', max: '2023-03-10T00:19:00.000Z' } },
      ],
      excluded: { purged: 6, missing_candles: 2 },
    });
    expect(build.manifest.contextCandles).toBeUndefined();
  });

  it('writes simple returns when asked', () => {
    const { validation } = forecastSegments({ ...spec, forecastReturn: 'simple' }, candles);
    expect(validation.map((s) => [s.symbol, s.values])).toEqual([
      ['BTCUSDT', [0.01, -0.00990099, 0.01, -0.00990099, 0.01]],
      ['ETHUSDT', [0, 0, 0, 0, 0]],
    ]);
  });

  it('property: train ends by splitAt - purge, validation starts at splitAt, every value is a real return of consecutive candles', () => {
    fc.assert(
      fc.property(randomMarket, splitParams, (candles, params) => {
        const s = llmSpec({ ...params, agent: LAGLLAMA });
        const { train, validation, excluded } = forecastSegments(s, candles);
        const splitAt = splitAtOf(s.window, s.validationFraction);
        const closes = new Map([...candles].map(([symbol, ks]) => [symbol, new Map(ks.map((k) => [k.openTime, k.closeMicros]))]));
        let values = 0;
        for (const [part, segments] of [
          ['train', train],
          ['validation', validation],
        ] as const) {
          for (const seg of segments) {
            const last = seg.start + (seg.values.length - 1) * MIN;
            if (part === 'train') expect(last + MIN).toBeLessThanOrEqual(splitAt - s.purgeMinutes * MIN);
            else expect(seg.start).toBeGreaterThanOrEqual(splitAt);
            expect(seg.start).toBeGreaterThanOrEqual(s.window.from);
            expect(last).toBeLessThan(s.window.to);
            seg.values.forEach((v, i) => {
              const m = seg.start + i * MIN;
              const now = closes.get(seg.symbol)?.get(m);
              const before = closes.get(seg.symbol)?.get(m - MIN);
              expect(now !== undefined && before !== undefined).toBe(true);
              expect(v).toBe(Number(Math.log((now as number) / (before as number)).toFixed(8)));
            });
            values += seg.values.length;
          }
        }
        const windowMinutes = (s.window.to - s.window.from) / MIN;
        expect(values + excluded.purged + excluded.missing_candles).toBe(windowMinutes * 2);
      }),
    );
  });
});
