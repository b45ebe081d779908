import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firestoreFor } from '../../shared/firestore/client.js';
import { COLLECTIONS } from '../../shared/firestore/collections.js';
import { latencyDistribution, venueRefusals } from '../../shared/firestore/path-stats.js';
import { bearer } from '../support/http.js';
import { type ServedFunction, closeInOrder, isolatedProject, serveFunction } from '../support/stack.js';

/**
 * /metrics counts the signal path's latencies with Firestore aggregation queries over the records
 * the path writes: exact on the emulator, the same from any instance, and only ever growing.
 */

const projectId = isolatedProject('path-metrics');
process.env.OPS_API_TOKENS = 'alice:path-metrics-ops-token-0123';
const db = firestoreFor(projectId);
let ops: ServedFunction;

beforeAll(async () => {
  ops = await serveFunction(() => import('../../functions/ops-api/index.js'), 'opsApi');
  const batch = db.batch();
  // Decisions of 8, 40 and 700 ms, and one recorded before latencies were (no field: not counted).
  [8, 40, 700].forEach((ms, i) => batch.set(db.collection(COLLECTIONS.reservations).doc(`s-${i}`), { signalId: `s-${i}`, decisionLatencyMs: ms }));
  batch.set(db.collection(COLLECTIONS.reservations).doc('s-old'), { signalId: 's-old' });
  batch.set(db.collection(COLLECTIONS.orders).doc('o-1'), { orderId: 'o-1', placementLatencyMs: 120, venueLatencyMs: 30, status: 'filled' });
  batch.set(db.collection(COLLECTIONS.orders).doc('o-2'), { orderId: 'o-2', terminalStatus: 'rejected', status: 'rejected' });
  batch.set(db.collection(COLLECTIONS.fills).doc('o-1:t-1'), { orderId: 'o-1', fillLatencyMs: 2_600 });
  batch.set(db.collection(COLLECTIONS.deadLetters).doc('order-router:m-1'), { source: 'order-router', messageId: 'm-1' });
  await batch.commit();
});

afterAll(async () => {
  await closeInOrder(ops);
});

describe('signal path figures', () => {
  it('counts each latency into cumulative buckets, with its count and sum', async () => {
    const decisions = await latencyDistribution(db, 'decision');
    expect(decisions).toEqual({ atOrUnder: [1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3], count: 3, sumMs: 748 });
    expect((await latencyDistribution(db, 'fill')).atOrUnder.slice(6, 9)).toEqual([0, 0, 1]);
    expect(await venueRefusals(db)).toBe(1);
  });

  it('serves them on /metrics in the Prometheus text format', async () => {
    const response = await fetch(`${ops.url}/metrics`, { headers: bearer('path-metrics-ops-token-0123') });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toContain('signal_decision_latency_seconds_bucket{le="0.05"} 2\n');
    expect(text).toContain('signal_decision_latency_seconds_sum 0.748\n');
    expect(text).toContain('order_placement_latency_seconds_count 1\n');
    expect(text).toContain('venue_request_duration_seconds_bucket{operation="place_order",le="0.05"} 1\n');
    expect(text).toContain('order_fill_latency_seconds_bucket{le="2.5"} 0\n');
    expect(text).toContain('venue_request_errors_total 1\n');
    expect(text).toContain('dead_letter_messages{subscription="order-router"} 1\n');
    expect(text).toContain('dead_letter_messages{subscription="margin-reservation"} 0\n');
  });

  it('serves what the dashboard shows as JSON at /dashboard.json', async () => {
    const response = await fetch(`${ops.url}/dashboard.json`, { headers: bearer('path-metrics-ops-token-0123') });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toMatchObject({ mode: expect.any(Object), portfolio: expect.any(Object), agents: expect.any(Array), recentOrders: expect.any(Array) });
    expect((await fetch(`${ops.url}/dashboard.json`)).status).toBe(401);
  });
});
