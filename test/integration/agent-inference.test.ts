import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { type AgentProfile, DEFAULT_AGENTS } from '../../shared/domain/agents.js';
import type { TradeSignal } from '../../shared/domain/messages.js';
import { BinanceFuturesClient } from '../../shared/exchange/binance-futures/client.js';
import { seedAgentProfiles } from '../../shared/firestore/agent-profiles.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { MarginLedger } from '../../shared/firestore/margin-ledger.js';
import { TradeLedger } from '../../shared/firestore/trade-ledger.js';
import { modelRegistry } from '../../shared/inference/registry.js';
import { type InferenceDeps, runAgent } from '../../shared/inference/run-agents.js';
import { pubsubFor } from '../../shared/pubsub/client.js';
import { JsonPublisher } from '../../shared/pubsub/publisher.js';
import { TOPICS } from '../../triggers/manifest.js';
import type { MarketStandIn } from '../../scripts/lib/market-standin.js';
import type { LocalPushDelivery } from '../../scripts/lib/provision.js';
import { USD } from '../../shared/domain/money.js';
import { startReplayAt } from '../support/market.js';
import { TopicTap, closeInOrder, deliverPushTo, isolatedProject, settle } from '../support/stack.js';
import { type VertexStandIn, startVertexStandIn, staticTokenAuth } from '../../scripts/lib/vertex-standin.js';

/** An inference tick end to end: market context from the replay, a decision, a signal on `signals`. */

const projectId = isolatedProject('inference');
const db = firestoreFor(projectId);
const pubsub = pubsubFor(projectId);
const ENDPOINT = 'projects/sapphire-test/locations/us-central1/endpoints/111';
const agent = DEFAULT_AGENTS.find((a) => a.agentId === 'deepseek-v3') as AgentProfile;
/** What every run of deepseek-v3 on the stand-in reports, whatever it decided. */
const VERTEX_RUN = { agentId: 'deepseek-v3', model: `vertex:${ENDPOINT}`, source: 'model', latencyMs: expect.any(Number) };
let market: MarketStandIn;
let vertex: VertexStandIn;
let signals: TopicTap<TradeSignal>;

/** Vertex AI on, deepseek-v3 asking the stand-in's ENDPOINT. */
function vertexEnv(): Record<string, string> {
  return { ENABLE_VERTEX_AI: 'true', VERTEX_ENDPOINTS: JSON.stringify({ 'deepseek-v3': ENDPOINT }), VERTEX_API_ENDPOINT: `http://${vertex.host}:${vertex.port}` };
}

function deps(env: Record<string, string>): InferenceDeps {
  const config = loadConfig({ GOOGLE_CLOUD_PROJECT: projectId, MARKET_DATA_URL: market.url, ...env });
  return {
    db,
    market: new BinanceFuturesClient({ baseUrl: market.url }),
    margins: new MarginLedger(db, { maxSymbolsPerAgent: 50 }),
    trades: new TradeLedger(db),
    publisher: new JsonPublisher(pubsub),
    topics: TOPICS,
    modelFor: modelRegistry(config, staticTokenAuth()),
    maxSymbolsPerAgent: config.MAX_SYMBOLS_PER_AGENT,
    minConfidence: config.MIN_SIGNAL_CONFIDENCE,
    signalTtlSeconds: 60,
    candles: config.AGENT_CANDLES,
  };
}

let delivery: LocalPushDelivery | undefined;

beforeAll(async () => {
  market = await startReplayAt('2023-03-08T12:01:00Z');
  vertex = await startVertexStandIn();
  await seedAgentProfiles(db, DEFAULT_AGENTS);
  delivery = await deliverPushTo(pubsub, {});
  signals = await TopicTap.open(pubsub, TOPICS.signals);
});

afterAll(async () => {
  await closeInOrder(delivery, signals, vertex, market);
});

describe('agent inference', () => {
  it('turns a well-formed Vertex answer into the expected signal, sized from free margin', async () => {
    vertex.script(ENDPOINT, { predictions: [JSON.stringify({ action: 'BUY', symbol: 'BTCUSDT', size_fraction: 0.3, leverage: 4, confidence: 0.8, rationale: 'breakout' })] });
    const run = await runAgent(deps(vertexEnv()), agent, new Date());
    expect(run).toEqual({ ...VERTEX_RUN, action: 'BUY', signalId: 'deepseek-v3:BTCUSDT:2023-03-08T12:01:00.000Z', reason: 'breakout' });
    const published = await signals.waitForMessage('the signal', (s) => s.signalId === run.signalId);
    // 1,000 USD free × 0.3 = 300 USD margin, × 4 = 1,200 USD notional, valid for the 60 s TTL.
    expect(published.data).toEqual({
      signalId: 'deepseek-v3:BTCUSDT:2023-03-08T12:01:00.000Z',
      agentId: 'deepseek-v3',
      symbol: 'BTCUSDT',
      side: 'BUY',
      size: { type: 'notional', notionalMicros: 1_200 * USD },
      leverage: 4,
      confidence: 0.8,
      source: 'agent:deepseek-v3',
      reduceOnly: false,
      createdAt: expect.any(String),
      expiresAt: expect.any(String),
      receivedAt: expect.any(String),
    });
    expect(Date.parse(published.data.expiresAt) - Date.parse(published.data.createdAt)).toBe(60_000);
    // The agent's tick is the root of the signal's trace.
    expect(published.attributes).toEqual({
      signalId: 'deepseek-v3:BTCUSDT:2023-03-08T12:01:00.000Z',
      agentId: 'deepseek-v3',
      traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/),
    });
    // Only the candles up to the replay clock reached the model: the prompt ends at 12:00.
    const prompt = (vertex.requests.at(-1)?.body.instances[0] as { prompt: string }).prompt;
    expect(prompt).toContain('22077.49');
    const closes = /BTCUSDT: closes ([^;]+);/.exec(prompt)?.[1]?.split(', ');
    expect(closes).toHaveLength(30);
    expect(closes?.at(-1)).toBe('22077.49');
    const recorded = await db.collection('agentDecisions').doc('deepseek-v3:2023-03-08T12:01:00.000Z').get();
    expect(recorded.data()).toMatchObject({ ...run, decidedFor: '2023-03-08T12:01:00.000Z', recordedAt: expect.any(String) });
  });

  it('sends nothing, and records why, when the answer is unusable or confidence is low', async () => {
    const before = signals.messages.length;
    market.clock.set(Date.parse('2023-03-08T12:10:00Z'), 0);
    vertex.script(ENDPOINT, { predictions: ['Buy BTC now!'] });
    const prose = await runAgent(deps(vertexEnv()), agent, new Date());
    expect(prose).toEqual({ ...VERTEX_RUN, action: 'HOLD', reason: 'unparseable answer: not a JSON object alone ("Buy BTC now!")' });
    market.clock.set(Date.parse('2023-03-08T12:11:00Z'), 0);
    vertex.script(ENDPOINT, { predictions: [JSON.stringify({ action: 'BUY', symbol: 'BTCUSDT', size_fraction: 0.3, leverage: 4, confidence: 0.2, rationale: 'maybe' })] });
    const unsure = await runAgent(deps(vertexEnv()), agent, new Date());
    expect(unsure).toEqual({ ...VERTEX_RUN, action: 'HOLD', reason: 'BUY BTCUSDT not sent: confidence 0.20 below the minimum 0.55' });
    expect((await db.collection('agentDecisions').doc('deepseek-v3:2023-03-08T12:11:00.000Z').get()).get('reason')).toBe('BUY BTCUSDT not sent: confidence 0.20 below the minimum 0.55');
    await settle(() => signals.messages.length, 500);
    expect(signals.messages).toHaveLength(before);
  });

  it('runs every agent on its local baseline with ENABLE_VERTEX_AI=false', async () => {
    market.clock.set(Date.parse('2023-03-09T21:00:00Z'), 0); // BTC falling fast
    const local = deps({});
    const runs = await Promise.all(DEFAULT_AGENTS.map((a) => runAgent(local, a, new Date())));
    expect(runs.map((r) => r.model)).toEqual(['local-baseline', 'local-baseline', 'local-baseline', 'local-baseline']);
    // BTC down 2.7% in half an hour: deepseek-v3 and fingpt-alpha sell, qwen-7b buys the dip, lagllama-degen holds.
    const baseline = { model: 'local-baseline', source: 'model', latencyMs: expect.any(Number) };
    expect(runs).toEqual([
      { ...baseline, agentId: 'deepseek-v3', action: 'SELL', signalId: 'deepseek-v3:BTCUSDT:2023-03-09T21:00:00.000Z', reason: 'EMA10 20303.98 vs EMA30 20456.87, 30-minute return -2.716%' },
      { ...baseline, agentId: 'qwen-7b', action: 'BUY', signalId: 'qwen-7b:BTCUSDT:2023-03-09T21:00:00.000Z', reason: 'last close -2.84 standard deviations from its 60-minute mean' },
      { ...baseline, agentId: 'fingpt-alpha', action: 'SELL', signalId: 'fingpt-alpha:BTCUSDT:2023-03-09T21:00:00.000Z', reason: '10-minute return -1.464% on 1.82× usual volume' },
      {
        ...baseline,
        agentId: 'lagllama-degen',
        action: 'HOLD',
        reason: 'uncertainty band straddles the entry: forecast median -0.885% at the horizon, 10–90% band 2.266% wide, fees 0.100%',
      },
    ]);
  });
});
