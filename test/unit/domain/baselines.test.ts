import { describe, expect, it } from 'vitest';
import { type AgentProfile, DEFAULT_AGENTS } from '../../../shared/domain/agents.js';
import { PriceForecast, forecastDecision, parseLlmDecision } from '../../../shared/domain/agent-decision.js';
import {
  type SymbolSeries,
  baselineDecision,
  meanReversionBaseline,
  momentumBaseline,
  sentimentProxyBaseline,
  volatilityBaseline,
  volatilityForecast,
} from '../../../shared/domain/baselines/strategies.js';

const agent = (id: string) => DEFAULT_AGENTS.find((a) => a.agentId === id) as AgentProfile;
const series = (closes: number[], volumes = closes.map(() => 10)): SymbolSeries => ({ symbol: 'BTCUSDT', closes, volumes });

/** A clean uptrend: +0.05% a minute for two hours. */
const uptrend = Array.from({ length: 120 }, (_, i) => 20_000 * 1.0005 ** i);
const downtrend = Array.from({ length: 120 }, (_, i) => 20_000 * 0.9995 ** i);
/** Oscillating around 20,000, then a sharp drop to 19,900 on the last minute. */
const reverting = [...Array.from({ length: 119 }, (_, i) => 20_000 + 10 * Math.sin(i / 2)), 19_900];
/** Calm drift, then the last 20 minutes swing ±1.5% each minute. */
const burst = [
  ...Array.from({ length: 100 }, (_, i) => 20_000 * 1.0004 ** i),
  ...Array.from({ length: 21 }, (_, i) => 20_000 * 1.0004 ** 100 * (i % 2 === 0 ? 1.015 : 0.985)),
];

describe('momentum baseline (deepseek-v3)', () => {
  it('buys a clean uptrend, sells a downtrend, holds a flat market', () => {
    expect(momentumBaseline(series(uptrend), agent('deepseek-v3'))).toMatchObject({ action: 'BUY', leverage: 3 });
    expect(momentumBaseline(series(downtrend), agent('deepseek-v3'))).toMatchObject({ action: 'SELL' });
    expect(momentumBaseline(series(Array(120).fill(20_000)), agent('deepseek-v3'))).toMatchObject({ action: 'HOLD' });
  });
});

describe('mean-reversion baseline (qwen-7b)', () => {
  it('buys a close far below its mean and holds inside the band', () => {
    expect(meanReversionBaseline(series(reverting), agent('qwen-7b'))).toMatchObject({ action: 'BUY' });
    expect(meanReversionBaseline(series(reverting.slice(0, -1)), agent('qwen-7b'))).toMatchObject({ action: 'HOLD' });
    expect(meanReversionBaseline(series(uptrend.map((v, i) => (i === 119 ? v * 1.02 : v))), agent('qwen-7b'))).toMatchObject({ action: 'SELL' });
  });
});

describe('sentiment-proxy baseline (fingpt-alpha)', () => {
  it('buys a rise on surging volume, ignores the same rise on quiet volume', () => {
    const closes = [...Array(110).fill(20_000), ...Array.from({ length: 10 }, (_, i) => 20_000 * (1 + 0.001 * (i + 1)))];
    const surging = [...Array(110).fill(10), ...Array(10).fill(40)];
    expect(sentimentProxyBaseline(series(closes, surging), agent('fingpt-alpha'))).toMatchObject({ action: 'BUY' });
    expect(sentimentProxyBaseline(series(closes), agent('fingpt-alpha'))).toMatchObject({ action: 'HOLD' });
  });
});

describe('volatility-forecast baseline (lagllama-degen)', () => {
  it('gives ordered quantiles that widen with the horizon', () => {
    const f = PriceForecast.parse(volatilityForecast(burst));
    expect((f.p90.at(-1) as number) - (f.p10.at(-1) as number)).toBeGreaterThan((f.p90[0] as number) - (f.p10[0] as number));
  });

  it('trades a strong calm drift, and holds when a volatility burst widens the band', () => {
    const steady = Array.from({ length: 121 }, (_, i) => 20_000 * 1.001 ** i);
    expect(volatilityBaseline(series(steady), agent('lagllama-degen'))).toMatchObject({ action: 'BUY', leverage: 5 });
    const decision = volatilityBaseline(series(burst), agent('lagllama-degen'));
    expect(decision).toMatchObject({ action: 'HOLD' });
    expect(decision.action === 'HOLD' && decision.reason).toMatch(/band straddles/);
  });

  it('never trades a forecast whose move does not beat the fees', () => {
    expect(forecastDecision('BTCUSDT', 100, { p10: [99.99], p50: [100.05], p90: [100.1] }, { roundTripFeeFraction: 0.001, leverage: 2 })).toMatchObject({ action: 'HOLD' });
  });
});

describe('baselineDecision', () => {
  it('picks the most confident symbol', () => {
    const decision = baselineDecision(agent('deepseek-v3'), [series(Array(120).fill(20_000)), { ...series(uptrend), symbol: 'ETHUSDT' }]);
    expect(decision).toMatchObject({ action: 'BUY', symbol: 'ETHUSDT' });
  });
});

describe('parseLlmDecision', () => {
  const deepseek = agent('deepseek-v3');
  const good = { action: 'BUY', symbol: 'BTCUSDT', size_fraction: 0.25, leverage: 4, confidence: 0.7, rationale: 'breakout' };
  it('accepts the strict JSON answer', () => {
    expect(parseLlmDecision(JSON.stringify(good), deepseek, ['BTCUSDT'])).toMatchObject({ action: 'BUY', sizeFraction: 0.25, leverage: 4 });
  });
  it.each([
    ['malformed JSON', '{"action": "BUY", '],
    ['prose around the JSON', `Sure! Here is my decision: ${JSON.stringify(good)} Good luck.`],
    ['wrong types', JSON.stringify({ ...good, leverage: '4' })],
    ['an out-of-range size', JSON.stringify({ ...good, size_fraction: 1.5 })],
    ['leverage above the agent maximum', JSON.stringify({ ...good, leverage: 50 })],
    ['a symbol it was not given', JSON.stringify({ ...good, symbol: 'DOGEUSDT' })],
    ['extra fields', JSON.stringify({ ...good, stop_loss: 1 })],
  ])('holds on %s, with the reason', (_label, text) => {
    const decision = parseLlmDecision(text, deepseek, ['BTCUSDT']);
    expect(decision.action).toBe('HOLD');
    expect(decision.action === 'HOLD' && decision.reason.length).toBeGreaterThan(10);
  });
});
