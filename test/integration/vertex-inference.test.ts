import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProfile, DEFAULT_AGENTS } from '../../shared/domain/agents.js';
import { USD } from '../../shared/domain/money.js';
import { GuardedModel } from '../../shared/inference/guarded-model.js';
import { type MarketContext, decisionSchema, llmPrompt } from '../../shared/domain/agent-prompt.js';
import { VertexForecastModel, VertexLlmModel } from '../../shared/inference/models.js';
import { VertexPredictor } from '../../shared/vertex/predictor.js';
import { type VertexStandIn, startVertexStandIn, staticTokenAuth } from '../../scripts/lib/vertex-standin.js';

/** The real PredictionServiceClient (REST transport) against a stand-in speaking Vertex's predict protocol. */

const DEEPSEEK = 'projects/sapphire-test/locations/us-central1/endpoints/111';
const LAGLLAMA = 'projects/sapphire-test/locations/us-central1/endpoints/444';
const agent = (id: string) => DEFAULT_AGENTS.find((a) => a.agentId === id) as AgentProfile;
const closes = Array.from({ length: 120 }, (_, i) => 20_000 + i);
const context = (id = 'deepseek-v3'): MarketContext => ({
  agent: agent(id),
  series: [{ symbol: 'BTCUSDT', closes, volumes: closes.map(() => 5) }],
  positions: [],
  freeMarginMicros: 1_000 * USD,
});
const answer = (fields: Record<string, unknown> = {}) =>
  JSON.stringify({ action: 'BUY', symbol: 'BTCUSDT', size_fraction: 0.3, leverage: 4, confidence: 0.8, rationale: 'higher highs', ...fields });

let vertex: VertexStandIn;
let predictor: VertexPredictor;
let clock = 0;
const guard = (inner: VertexLlmModel | VertexForecastModel, cacheTtlMs = 0) =>
  new GuardedModel(inner, { retries: 2, cacheTtlMs, failureThreshold: 3, cooldownMs: 60_000, now: () => clock, sleep: async () => {} });

beforeAll(async () => {
  vertex = await startVertexStandIn();
  predictor = new VertexPredictor({ apiEndpoint: vertex.host, port: vertex.port, protocol: 'http', authClient: staticTokenAuth() });
});

afterAll(async () => {
  await predictor?.close();
  await vertex?.close();
});

describe('LLM agents on Vertex', () => {
  it('turns a well-formed answer into a decision, asking with the persona prompt', async () => {
    vertex.script(DEEPSEEK, { predictions: [answer()] });
    const result = await guard(new VertexLlmModel(predictor, DEEPSEEK, 2_000)).decide(context());
    expect(result).toMatchObject({ source: 'model', attempts: 1, decision: { action: 'BUY', symbol: 'BTCUSDT', sizeFraction: 0.3, leverage: 4, confidence: 0.8 } });
    const instance = vertex.requests.at(-1)?.body.instances[0] as { prompt: string; raw_response: boolean; response_schema: unknown };
    expect(instance.raw_response).toBe(true);
    expect(instance.prompt).toBe(llmPrompt(context()));
    // The serving container decodes within this schema: BUY/SELL/HOLD, the agent's symbols, its leverage.
    expect(instance.response_schema).toEqual(decisionSchema(context()));
    expect(instance.response_schema).toMatchObject({ properties: { symbol: { enum: ['BTCUSDT'] }, leverage: { maximum: 10 } } });
    expect(instance.prompt).toContain('You are DeepSeek, a momentum trader');
    expect(instance.prompt).toContain('"size_fraction"');
  });

  it.each([
    ['malformed JSON', '{"action": "BUY", "symbol": '],
    ['prose around the JSON', `I would buy here. ${answer()}`],
    ['wrong types', answer({ confidence: 'high' })],
    ['an out-of-range size', answer({ size_fraction: 3 })],
  ])('holds on %s and records why', async (_label, text) => {
    vertex.script(DEEPSEEK, { predictions: [text] });
    const result = await guard(new VertexLlmModel(predictor, DEEPSEEK, 2_000)).decide(context());
    expect(result.decision.action).toBe('HOLD');
    expect(result.decision.action === 'HOLD' && result.decision.reason).toMatch(/unparseable|invalid/);
  });

  it('holds after retries on a timeout and on 5xx', async () => {
    vertex.script(DEEPSEEK, { predictions: [answer()], delayMs: 1_000 });
    const slow = await guard(new VertexLlmModel(predictor, DEEPSEEK, 200)).decide(context());
    expect(slow).toMatchObject({ source: 'unavailable', attempts: 3, decision: { action: 'HOLD' } });
    vertex.script(DEEPSEEK, { status: 503 });
    const before = vertex.requests.length;
    const down = await guard(new VertexLlmModel(predictor, DEEPSEEK, 2_000)).decide(context());
    expect(down).toMatchObject({ source: 'unavailable', attempts: 3, decision: { action: 'HOLD' } });
    expect(down.decision.action === 'HOLD' && down.decision.reason).toMatch(/model unavailable/);
    expect(vertex.requests.length - before).toBe(3);
  });

  it('opens the circuit after repeated failures and closes it after recovery', async () => {
    const model = guard(new VertexLlmModel(predictor, DEEPSEEK, 2_000));
    vertex.script(DEEPSEEK, { status: 500 });
    for (let i = 0; i < 3; i += 1) expect((await model.decide(context())).source).toBe('unavailable');
    expect(model.circuit('deepseek-v3').state).toBe('open');
    const before = vertex.requests.length;
    expect(await model.decide(context())).toMatchObject({ source: 'circuit_open', decision: { action: 'HOLD' } });
    expect(vertex.requests.length).toBe(before); // nothing sent while open

    clock += 60_000; // the cooldown passes; the endpoint has recovered
    vertex.script(DEEPSEEK, { predictions: [answer()] });
    expect(await model.decide(context())).toMatchObject({ source: 'model', decision: { action: 'BUY' } });
    expect(model.circuit('deepseek-v3').state).toBe('closed');
  });

  it('answers from the cache within AGENT_CACHE_TTL_SECONDS and asks again after', async () => {
    const model = guard(new VertexLlmModel(predictor, DEEPSEEK, 2_000), 10_000);
    vertex.script(DEEPSEEK, { predictions: [answer()] });
    const before = vertex.requests.length;
    expect((await model.decide(context())).source).toBe('model');
    clock += 9_000;
    expect((await model.decide(context())).source).toBe('cache');
    expect(vertex.requests.length - before).toBe(1);
    clock += 1_000;
    expect((await model.decide(context())).source).toBe('model');
    expect(vertex.requests.length - before).toBe(2);
  });
});

describe('Lag-Llama on Vertex', () => {
  const last = closes.at(-1) as number;
  const path = (k: number) => Array.from({ length: 15 }, (_, i) => last * (1 + k * (i + 1)));

  it('sends the price series and trades a forecast that clears fees and its band', async () => {
    vertex.script(LAGLLAMA, { predictions: [{ p10: path(0.0004), p50: path(0.0006), p90: path(0.0008) }] });
    const result = await guard(new VertexForecastModel(predictor, LAGLLAMA, 2_000)).decide(context('lagllama-degen'));
    expect(result.decision).toMatchObject({ action: 'BUY', symbol: 'BTCUSDT', leverage: 5 });
    expect((vertex.requests.at(-1)?.body.instances[0] as { series: number[] }).series).toHaveLength(120);
  });

  it('holds on a wide band and on a malformed forecast', async () => {
    vertex.script(LAGLLAMA, { predictions: [{ p10: path(-0.002), p50: path(0.0006), p90: path(0.003) }] });
    expect((await guard(new VertexForecastModel(predictor, LAGLLAMA, 2_000)).decide(context('lagllama-degen'))).decision.action).toBe('HOLD');
    vertex.script(LAGLLAMA, { predictions: [{ p50: 'up' }] });
    const bad = await guard(new VertexForecastModel(predictor, LAGLLAMA, 2_000)).decide(context('lagllama-degen'));
    expect(bad.decision.action === 'HOLD' && bad.decision.reason).toMatch(/invalid forecast/);
  });
});
