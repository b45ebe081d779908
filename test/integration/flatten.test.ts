import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { USD } from '../../shared/domain/money.js';
import { FlattenBook } from '../../shared/firestore/flattens.js';
import type { TradingDeps } from '../../shared/trading/deps.js';
import { flattenAgents, flattenProgress } from '../../shared/trading/flatten.js';
import { tradingDepsFromConfig } from '../../shared/trading/runtime.js';
import { TOPICS } from '../../triggers/manifest.js';
import { type PaperPath, paperPath } from '../support/paper-path.js';
import { makeSignal } from '../support/signals.js';
import { bearer, postJson } from '../support/http.js';
import { type ServedFunction, closeInOrder, serveFunction, waitUntil } from '../support/stack.js';
import { reservationsOf } from '../support/trading.js';

/**
 * Flatten-all on the paper path: every open position of every agent closed reduce-only through
 * the usual reservation → order → fill path; the same flatten again changes nothing.
 */

const path = paperPath('flatten', '2023-03-08T12:01:00Z');
let p: PaperPath;
let deps: TradingDeps;
let book: FlattenBook;
const AGENTS = ['deepseek-v3', 'qwen-7b', 'lagllama-degen'] as const;
const OPS_TOKEN = 'flatten-ops-token-0123456789';
let ops: ServedFunction;

beforeAll(async () => {
  p = await path.start();
  process.env.OPS_API_TOKENS = `alice:${OPS_TOKEN}`;
  ops = await serveFunction(() => import('../../functions/ops-api/index.js'), 'opsApi');
  deps = tradingDepsFromConfig(loadConfig());
  book = new FlattenBook(p.db);
  // deepseek-v3 and lagllama-degen long, qwen-7b short: 500 USD notional each.
  const sides = { 'deepseek-v3': 'BUY', 'qwen-7b': 'SELL', 'lagllama-degen': 'BUY' } as const;
  for (const agentId of AGENTS) {
    await p.publisher.publish(TOPICS.signals, makeSignal({ signalId: `fl-open-${agentId}`, agentId, symbol: 'BTCUSDT', side: sides[agentId], size: { type: 'notional', notionalMicros: 500 * USD }, leverage: 2 }));
  }
  await waitUntil('three open positions', async () => (await Promise.all(AGENTS.map((a) => p.trades.position(a, 'BTCUSDT')))).every((pos) => pos.quantityAtoms !== 0));
});

afterAll(async () => {
  await closeInOrder(ops);
  await p?.stop();
});

describe('flatten-all', () => {
  it('closes every position with reduce-only orders through the usual path, and says when it is done', async () => {
    const started = await flattenAgents(deps, book, { flattenId: 'flatten-test-1', agentIds: [...AGENTS, 'fingpt-alpha'], requestedBy: 'operator:alice', reason: 'USDC depeg: stand aside' });
    expect(started.positions.map((x) => [x.agentId, x.plannedAtoms])).toEqual([
      ['deepseek-v3', 2_200_000],
      ['lagllama-degen', 2_200_000],
      ['qwen-7b', 2_200_000],
    ]);
    await waitUntil('every position closed', async () => (await flattenProgress(deps, book, 'flatten-test-1'))?.done === true);
    for (const agentId of AGENTS) {
      expect((await p.trades.position(agentId, 'BTCUSDT')).quantityAtoms, agentId).toBe(0);
      const closing = (await reservationsOf(p.db, agentId)).find((r) => r.signalId.startsWith('flat-'));
      expect(closing, agentId).toMatchObject({ reduceOnly: true, marginMicros: 0, status: 'ordered' });
    }
    expect(await p.margins.ledgerOf('qwen-7b')).toMatchObject({ reservedMicros: 0, inUseMicros: 0 });
  });

  it('is safe to repeat: the same flatten sends the same signals, and a new one finds nothing to close', async () => {
    const before = (await Promise.all(AGENTS.map((a) => reservationsOf(p.db, a)))).flat().length;
    expect((await flattenAgents(deps, book, { flattenId: 'flatten-test-1', agentIds: [...AGENTS], requestedBy: 'operator:alice', reason: 'again' })).done).toBe(true);
    const again = await flattenAgents(deps, book, { flattenId: 'flatten-test-2', agentIds: [...AGENTS], requestedBy: 'operator:alice', reason: 'once more' });
    expect(again).toMatchObject({ positions: [], done: true });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await Promise.all(AGENTS.map((a) => reservationsOf(p.db, a)))).flat().length).toBe(before);
    for (const agentId of AGENTS) expect((await p.trades.position(agentId, 'BTCUSDT')).quantityAtoms).toBe(0);
  });
});

describe('flatten on ops-api', () => {
  it('needs an operator, says why it refuses, and reports progress of what it started', async () => {
    expect((await postJson(`${ops.url}/portfolio/flatten`, { reason: 'stand aside' })).status).toBe(401);
    expect((await postJson(`${ops.url}/portfolio/flatten`, {}, bearer(OPS_TOKEN))).status).toBe(400);
    expect((await postJson(`${ops.url}/agents/no-such-agent/flatten`, { reason: 'stand aside' }, bearer(OPS_TOKEN))).status).toBe(404);
    const started = await postJson(`${ops.url}/portfolio/flatten`, { reason: 'stand aside' }, { ...bearer(OPS_TOKEN), 'idempotency-key': 'ops-flatten-1' });
    expect(started.status).toBe(202);
    const body = (await started.json()) as { flattenId: string; requestedBy: string; done: boolean };
    expect(body).toMatchObject({ requestedBy: 'operator:alice', done: true });
    const progress = await fetch(`${ops.url}/flattens/${body.flattenId}`, { headers: bearer(OPS_TOKEN) });
    expect(progress.status).toBe(200);
    expect(await progress.json()).toMatchObject({ flattenId: body.flattenId, reason: 'stand aside', done: true });
  });
});

describe("a signal's journey on ops-api", () => {
  it('tells, in the order of the path, how a signal became a position: reserved, ordered, filled', async () => {
    expect((await fetch(`${ops.url}/signals/fl-open-qwen-7b`)).status).toBe(401);
    expect((await fetch(`${ops.url}/signals/no-such-signal`, { headers: bearer(OPS_TOKEN) })).status).toBe(404);
    const answer = await fetch(`${ops.url}/signals/fl-open-qwen-7b`, { headers: bearer(OPS_TOKEN) });
    expect(answer.status).toBe(200);
    const { steps } = (await answer.json()) as { steps: { at: string; what: string }[] };
    expect(steps.map((s) => s.what)).toEqual([
      'reserved 250.000000 USD margin for 500.000000 USD SELL BTCUSDT at 2×',
      expect.stringMatching(/^order request sph-[0-9a-f]{32} published$/),
      expect.stringMatching(/^order sph-[0-9a-f]{32} claimed for 0\.022 BTCUSDT on paper$/),
      expect.stringMatching(/^fill \(venue time\) paper-sph-[0-9a-f]{32}-1: 0\.022 at 22066\.400000 USD, fee 0\.242731 USD$/),
      'order filled; 0.000000 USD of margin returned',
    ]);
  });
});
