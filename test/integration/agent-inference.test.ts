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
import { type LocalPushDelivery, provisionPubSub } from '../../scripts/lib/provision.js';
import { startReplayAt } from '../support/market.js';
import { TopicTap, isolatedProject, waitUntil } from '../support/stack.js';
import { type VertexStandIn, startVertexStandIn, staticTokenAuth } from '../support/vertex-standin.js';

/** An inference tick end to end: market context from the replay, a decision, a signal on `signals`. */

const projectId = isolatedProject('inference');
const db = firestoreFor(projectId);
const pubsub = pubsubFor(projectId);
const ENDPOINT = 'projects/sapphire-test/locations/us-central1/endpoints/111';
const agent = DEFAULT_AGENTS.find((a) => a.agentId === 'deepseek-v3') as AgentProfile;
let market: MarketStandIn;
let vertex: VertexStandIn;
let signals: TopicTap<TradeSignal>;

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
  delivery = await provisionPubSub(pubsub, () => undefined);
  signals = await TopicTap.open(pubsub, TOPICS.signals);
});

afterAll(async () => {
  await delivery?.stop();
  await signals?.close();
  await vertex?.close();
  await market?.close();
});

describe('agent inference', () => {
  it('turns a well-formed Vertex answer into the expected signal, sized from free margin', async () => {
    vertex.script(ENDPOINT, { predictions: [JSON.stringify({ action: 'BUY', symbol: 'BTCUSDT', size_fraction: 0.3, leverage: 4, confidence: 0.8, rationale: 'breakout' })] });
    const run = await runAgent(
      deps({ ENABLE_VERTEX_AI: 'true', VERTEX_ENDPOINTS: JSON.stringify({ 'deepseek-v3': ENDPOINT }), VERTEX_API_ENDPOINT: `http://${vertex.host}:${vertex.port}` }),
      agent,
      new Date(),
    );
    expect(run).toMatchObject({ agentId: 'deepseek-v3', action: 'BUY', source: 'model', signalId: 'deepseek-v3:BTCUSDT:2023-03-08T12:01:00.000Z' });
    await waitUntil('the signal', () => signals.messages.some((m) => m.data.signalId === run.signalId));
    // 1,000 USD free × 0.3 = 300 USD margin, × 4 = 1,200 USD notional.
    expect(signals.messages.find((m) => m.data.signalId === run.signalId)?.data).toMatchObject({
      agentId: 'deepseek-v3',
      symbol: 'BTCUSDT',
      side: 'BUY',
      size: { type: 'notional', notionalMicros: 1_200_000_000 },
      leverage: 4,
      confidence: 0.8,
      source: 'agent:deepseek-v3',
    });
    // Only the candles up to the replay clock reached the model: the prompt ends at 12:00.
    const prompt = (vertex.requests.at(-1)?.body.instances[0] as { prompt: string }).prompt;
    expect(prompt).toContain('22077.49');
    const recorded = await db.collection('agentDecisions').doc('deepseek-v3:2023-03-08T12:01:00.000Z').get();
    expect(recorded.get('action')).toBe('BUY');
  });

  it('sends nothing, and records why, when the answer is unusable or confidence is low', async () => {
    const env = { ENABLE_VERTEX_AI: 'true', VERTEX_ENDPOINTS: JSON.stringify({ 'deepseek-v3': ENDPOINT }), VERTEX_API_ENDPOINT: `http://${vertex.host}:${vertex.port}` };
    market.clock.set(Date.parse('2023-03-08T12:10:00Z'), 0);
    vertex.script(ENDPOINT, { predictions: ['Buy BTC now!'] });
    const prose = await runAgent(deps(env), agent, new Date());
    expect(prose.action).toBe('HOLD');
    expect(prose.signalId).toBeUndefined();
    expect(prose.reason).toMatch(/unparseable/);
    market.clock.set(Date.parse('2023-03-08T12:11:00Z'), 0);
    vertex.script(ENDPOINT, { predictions: [JSON.stringify({ action: 'BUY', symbol: 'BTCUSDT', size_fraction: 0.3, leverage: 4, confidence: 0.2, rationale: 'maybe' })] });
    const unsure = await runAgent(deps(env), agent, new Date());
    expect(unsure.reason).toMatch(/confidence 0.20 below the minimum 0.55/);
    expect((await db.collection('agentDecisions').doc('deepseek-v3:2023-03-08T12:11:00.000Z').get()).get('reason')).toMatch(/confidence/);
  });

  it('runs every agent on its local baseline with ENABLE_VERTEX_AI=false', async () => {
    market.clock.set(Date.parse('2023-03-09T21:00:00Z'), 0); // BTC falling fast
    const local = deps({});
    const runs = await Promise.all(DEFAULT_AGENTS.map((a) => runAgent(local, a, new Date())));
    expect(runs.map((r) => r.model)).toEqual(['local-baseline', 'local-baseline', 'local-baseline', 'local-baseline']);
    for (const r of runs) expect(r.action === 'HOLD' ? r.reason : r.signalId).toBeTruthy();
  });
});
