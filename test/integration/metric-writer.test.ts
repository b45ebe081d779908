import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AGENTS } from '../../shared/domain/agents.js';
import { EMPTY_LEDGER } from '../../shared/domain/ledger.js';
import { MetricWriter } from '../../shared/monitoring/metric-writer.js';
import { metricFamilies } from '../../shared/ops/metrics.js';
import type { PortfolioView } from '../../shared/ops/portfolio-view.js';
import { type RecordingServer, startRecordingServer } from '../support/recording-server.js';
import { staticTokenAuth } from '../../scripts/lib/vertex-standin.js';
import { USD } from '../../shared/domain/money.js';

/** The real MetricServiceClient (REST) against a stand-in for Cloud Monitoring's timeSeries.create. */

const view: PortfolioView = {
  agents: DEFAULT_AGENTS.map((profile, i) => ({
    profile,
    ledger: { ...EMPTY_LEDGER, reservedMicros: i * 100 * USD, breaches: i === 0 ? { agent_margin_exceeded: 3 } : {} },
    state: undefined,
    snapshot: undefined,
  })),
  portfolio: {
    state: { state: 'halted', reason: 'drawdown', changedBy: 'drawdown-evaluator', changedAt: '2023-03-10T05:00:00.000Z' },
    snapshot: { scope: 'portfolio', equityMicros: 2_994_917_296, peakEquityMicros: 4_018_977_536, drawdownFraction: 0.2548, utilizationFraction: 0.25, dailyLossFraction: 0.2, allocationMicros: 4_000 * USD },
    evaluatedAt: '2023-03-10T05:00:00.000Z',
  },
  equityHistory: [],
  positions: [],
  openEpisodes: [],
  unknownAgentBreaches: 1,
  recentDecisions: [],
  recentOrders: [],
};

let monitoring: RecordingServer;
let clock = 1_800_000_000_000;
let writer: MetricWriter;

beforeAll(async () => {
  monitoring = await startRecordingServer(() => 200, '{}');
  const { hostname, port } = new URL(monitoring.url);
  writer = new MetricWriter({ projectId: 'sapphire-prod', apiEndpoint: hostname, port: Number(port), protocol: 'http', authClient: staticTokenAuth(), now: () => clock });
});

afterAll(async () => {
  await writer?.close();
  await monitoring?.close();
});

describe('MetricWriter', () => {
  it('writes the seed metrics as custom metrics on the global resource', async () => {
    const written = await writer.write(metricFamilies(view));
    expect(written).toBeGreaterThan(30);
    expect(monitoring.requests).toHaveLength(1);
    expect(monitoring.requests[0]?.path).toMatch(/^\/v3\/projects\/sapphire-prod\/timeSeries/);
    const body = JSON.parse(monitoring.requests[0]?.body ?? '{}') as { timeSeries: { metric: { type: string; labels?: Record<string, string> }; resource: { type: string }; points: { value: { doubleValue: number }; interval: { endTime: unknown } }[] }[] };
    const find = (type: string, labels: Record<string, string> = {}) =>
      body.timeSeries.find((s) => s.metric.type === `custom.googleapis.com/${type}` && Object.entries(labels).every(([k, v]) => s.metric.labels?.[k] === v));
    expect(find('portfolio_drawdown_pct')?.points[0]?.value.doubleValue).toBeCloseTo(25.48, 10);
    expect(find('agent_margin_remaining_usd', { agent_id: 'fingpt-alpha' })?.points[0]?.value.doubleValue).toBe(800);
    expect(find('agent_margin_utilization_ratio', { agent_id: 'lagllama-degen' })?.points[0]?.value.doubleValue).toBe(0.3);
    expect(find('risk_limits_breached_total', { limit_type: 'agent_margin' })?.points[0]?.value.doubleValue).toBe(3);
    expect(find('risk_limits_breached_total', { limit_type: 'unknown_agent' })?.points[0]?.value.doubleValue).toBe(1);
    expect(find('portfolio_trading_halted')?.resource.type).toBe('global');
  });

  it('writes one point per series at most every 10 s', async () => {
    clock += 5_000;
    expect(await writer.write(metricFamilies(view))).toBe(0);
    clock += 5_000;
    expect(await writer.write(metricFamilies(view))).toBeGreaterThan(0);
    expect(monitoring.requests).toHaveLength(2);
  });
});
