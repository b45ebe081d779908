import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decisionSchema, llmPrompt, type MarketContext } from '../../shared/domain/agent-prompt.js';
import { DEFAULT_AGENTS } from '../../shared/domain/agents.js';
import { USD } from '../../shared/domain/money.js';
import { VertexForecastModel, VertexLlmModel } from '../../shared/inference/models.js';
import { VertexPredictor } from '../../shared/vertex/predictor.js';
import { type VertexStandIn, startVertexStandIn, staticTokenAuth } from '../../scripts/lib/vertex-standin.js';
import { MARKET_CSV } from '../support/market.js';
import { type ServingProcess, startServingContainer } from '../support/serving-containers.js';
import { parseCandlesCsv } from '../../shared/domain/candles.js';
import { readFile } from 'node:fs/promises';

/**
 * Sapphire's own Vertex client against the real serving images of containers/, started as
 * processes on Vertex's custom-container contract with tiny models: the stand-in forwards each
 * endpoint's predict calls to its container, as Vertex forwards to a deployed model.
 */

const FORECASTER = 'projects/sapphire-test/locations/europe-west4/endpoints/3';
const LLM = 'projects/sapphire-test/locations/europe-west4/endpoints/1';
let vertex: VertexStandIn;
let lagllama: ServingProcess;
let llm: ServingProcess;
let predictor: VertexPredictor;
let closes: number[];

const agent = (id: string) => DEFAULT_AGENTS.find((a) => a.agentId === id) as (typeof DEFAULT_AGENTS)[number];
const context = (id: string): MarketContext => ({
  agent: agent(id),
  series: [{ symbol: 'BTCUSDT', closes, volumes: closes.map(() => 12.5) }],
  positions: [],
  freeMarginMicros: 1_000 * USD,
});

beforeAll(async () => {
  const candles = parseCandlesCsv(await readFile(MARKET_CSV, 'utf8'));
  closes = candles.slice(10_000, 10_180).map((c) => c.closeMicros / USD);
  [vertex, lagllama, llm] = await Promise.all([startVertexStandIn(), startServingContainer('lagllama'), startServingContainer('llm')]);
  vertex.forward(FORECASTER, lagllama.url, lagllama.predictRoute);
  vertex.forward(LLM, llm.url, llm.predictRoute);
  predictor = new VertexPredictor({ apiEndpoint: vertex.host, port: vertex.port, protocol: 'http', authClient: staticTokenAuth() });
}, 240_000);

afterAll(async () => {
  await predictor?.close();
  await Promise.all([lagllama?.stop(), llm?.stop()]);
  await vertex?.close();
});

describe('the Lag-Llama serving container', () => {
  it('answers the forecaster agent with quantile paths Sapphire accepts', async () => {
    const decision = await new VertexForecastModel(predictor, FORECASTER, 30_000).decide(context('lagllama-degen'));
    expect(decision.action === 'HOLD' ? decision.reason : decision.rationale).not.toMatch(/^invalid forecast/);
    const [instance] = vertex.requests.at(-1)?.body.instances as { series: number[]; prediction_length: number }[];
    expect(instance).toMatchObject({ prediction_length: 15, freq: '1min' });
    expect(instance?.series).toEqual(closes.slice(-256));
  });

  it('answers a Vertex-style predict with ordered, positive p10/p50/p90 paths of the asked length', async () => {
    const [forecast] = (await predictor.predict(FORECASTER, [{ series: closes.slice(-64), prediction_length: 15, freq: '1min' }], 30_000)) as {
      p10: number[];
      p50: number[];
      p90: number[];
    }[];
    expect(forecast?.p50).toHaveLength(15);
    forecast?.p50.forEach((p50, i) => {
      expect(forecast.p10[i]).toBeGreaterThan(0);
      expect(forecast.p10[i]).toBeLessThanOrEqual(p50);
      expect(p50).toBeLessThanOrEqual(forecast.p90[i] as number);
    });
  });

  it('refuses a bad instance with a JSON 400, not a stack trace', async () => {
    const response = await fetch(`${lagllama.url}${lagllama.predictRoute}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [{ series: [1, -2, 3], prediction_length: 15, freq: '1min' }] }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: expect.stringMatching(/^instances\[0\]/) });
  });
});

describe('the LLM serving container (transformers engine on a tiny model)', () => {
  it('answers an LLM agent with a decision Sapphire parses, decoded within the schema it sent', async () => {
    const decision = await new VertexLlmModel(predictor, LLM, 60_000).decide(context('qwen-7b'));
    if (decision.action === 'HOLD') expect(decision.reason).not.toMatch(/^invalid answer/);
    else expect(decision).toMatchObject({ symbol: 'BTCUSDT' });
    const [instance] = vertex.requests.at(-1)?.body.instances as { prompt: string; response_schema: unknown }[];
    expect(instance?.prompt).toBe(llmPrompt(context('qwen-7b')));
    expect(instance?.response_schema).toEqual(decisionSchema(context('qwen-7b')));
  });

  it('keeps every answer inside the schema: actions, symbols and bounds', async () => {
    const answers = await predictor.predict(
      LLM,
      [1, 2, 3].map(() => ({ prompt: llmPrompt(context('deepseek-v3')), max_tokens: 256, temperature: 0, raw_response: true, response_schema: decisionSchema(context('deepseek-v3')) })),
      60_000,
    );
    for (const answer of answers) {
      const parsed = JSON.parse(answer as string) as Record<string, unknown>;
      expect(['BUY', 'SELL', 'HOLD']).toContain(parsed.action);
      expect(parsed.symbol).toBe('BTCUSDT');
      expect(parsed.leverage).toBeGreaterThanOrEqual(1);
      expect(parsed.leverage).toBeLessThanOrEqual(agent('deepseek-v3').maxLeverage);
      expect(parsed.size_fraction).toBeGreaterThanOrEqual(0);
      expect(parsed.size_fraction).toBeLessThanOrEqual(1);
    }
  });
});
