import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { type AlertMessage, orderIdForSignal } from '../../shared/domain/messages.js';
import { USD } from '../../shared/domain/money.js';
import { hasVenueStops } from '../../shared/domain/exchange.js';
import { liquidationPriceMicros } from '../../shared/domain/liquidation.js';
import { wantedStop } from '../../shared/domain/protective-stop.js';
import { atomsToQuantity } from '../../shared/domain/quantity.js';
import { FlattenBook } from '../../shared/firestore/flattens.js';
import type { TradingDeps } from '../../shared/trading/deps.js';
import { flattenAgents, flattenProgress } from '../../shared/trading/flatten.js';
import { reconcile } from '../../shared/trading/reconcile.js';
import { reconcileOptionsFromConfig, tradingDepsFromConfig } from '../../shared/trading/runtime.js';
import { TOPICS } from '../../triggers/manifest.js';
import { BINANCE_RATE_LIMITS } from '../../scripts/lib/market-standin.js';
import { type PaperPath, paperPath, venueKeyOf } from '../support/paper-path.js';
import { makeSignal } from '../support/signals.js';
import { TopicTap, waitUntil } from '../support/stack.js';

/**
 * Protection reaches the position, against the strict Binance stand-in through the real client,
 * margin-reservation and order-router: a flatten goes on until the venue position is zero.
 */

const path = paperPath('protection', '2023-03-08T12:01:00Z', { venue: 'standin' });
const AGENT = 'deepseek-v3';
let p: PaperPath;
let deps: TradingDeps;
let book: FlattenBook;
let alerts: TopicTap<AlertMessage>;

beforeAll(async () => {
  p = await path.start();
  // The reconciler runs here many times a minute, not once: each run reads every agent's account
  // (income, positions, orders, stops), so the venue's per-minute request weight is scaled as
  // `npm start` scales it for a sped-up schedule.
  p.venue.setRateLimits({ weightPerMinute: BINANCE_RATE_LIMITS.weightPerMinute * 10 });
  deps = tradingDepsFromConfig(loadConfig());
  book = new FlattenBook(p.db);
  alerts = await TopicTap.open<AlertMessage>(p.pubsub, TOPICS.alerts);
  await p.publisher.publish(TOPICS.signals, makeSignal({ signalId: 'protect-open', agentId: AGENT, symbol: 'BTCUSDT', side: 'BUY', size: { type: 'notional', notionalMicros: 500 * USD }, leverage: 10 }));
  await waitUntil('the 10× long', async () => (await p.trades.position(AGENT, 'BTCUSDT')).quantityAtoms > 0);
});

afterAll(async () => {
  await alerts?.close();
  await p?.stop();
});

describe('a flatten whose closes the venue refuses', () => {
  it('is tried again by the reconciler until the venue position is zero, and alerts once past its bound', async () => {
    const key = venueKeyOf(AGENT);
    const held = (await p.trades.position(AGENT, 'BTCUSDT')).quantityAtoms;
    expect(p.venue.positionOf(key, 'BTCUSDT').atoms).toBe(held);
    // The next two order placements are refused before the venue executes anything.
    p.venue.injectFault('/fapi/v1/order', { kind: 'refuse_before', status: 400, body: { code: -2019, msg: 'Margin is insufficient.' } }, { method: 'POST', count: 2 });
    // Retries 1 s, then 2 s after the last try; the alert at 2 s comes before the third try can.
    const options = { ...reconcileOptionsFromConfig(loadConfig()), flattenPolicy: { retryFirstMs: 1_000, alertAfterMs: 2_000 } };

    const started = await flattenAgents(deps, book, { flattenId: 'protect-1', agentIds: [AGENT], requestedBy: 'operator:alice', reason: 'venue refuses closes' });
    expect(started.tries).toHaveLength(1);
    // The reconciler's schedule, sped up: a run a second (each run reads every agent's account,
    // within the venue's request weight).
    for (let run = 0; run < 30 && (await flattenProgress(deps, book, 'protect-1'))?.done !== true; run += 1) {
      await reconcile(deps, options);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }

    const progress = await flattenProgress(deps, book, 'protect-1');
    expect(progress?.tries.map((t) => t.attempt)).toEqual([0, 1, 2]);
    const orderIds = (progress?.tries ?? []).map((t) => orderIdForSignal(t.signalIds[0] as string));
    // Refused twice (nothing at the venue, booked rejected), then one venue order that closed it.
    expect(orderIds.map((id) => p.venue.ordersFor(id, key).length)).toEqual([0, 0, 1]);
    for (const id of orderIds.slice(0, 2)) expect(await p.trades.order(id)).toMatchObject({ status: 'rejected' });
    expect(p.venue.positionOf(key, 'BTCUSDT')).toEqual({ atoms: 0, marginMicros: 0 });
    expect(await p.trades.position(AGENT, 'BTCUSDT')).toMatchObject({ quantityAtoms: 0, marginInUseMicros: 0 });
    expect(progress?.alertedAt).toBeDefined();
    const alert = await alerts.waitForMessage('the flatten alert', (a) => a.limitType === 'flatten_stuck');
    expect(alert.data).toMatchObject({ severity: 'critical', scope: AGENT, source: 'reconciler', episodeId: 'flatten_stuck:protect-1' });

    // The next run marks it done and sends nothing more.
    const report = await reconcile(deps, options);
    expect(report).toMatchObject({ flattensRetried: 0, flattenAlerts: 0, failures: [] });
    expect(await book.get('protect-1')).toMatchObject({ status: 'done' });
    expect(await book.working()).toEqual([]);
  }, 90_000);
});

describe('a close', () => {
  it("closes what the venue holds, not what Sapphire's books say, and sends nothing when there is nothing to close", async () => {
    const agentId = 'qwen-7b';
    const key = venueKeyOf(agentId);
    await p.publisher.publish(TOPICS.signals, makeSignal({ signalId: 'protect-qwen-open', agentId, symbol: 'BTCUSDT', side: 'BUY', size: { type: 'notional', notionalMicros: 500 * USD }, leverage: 5 }));
    await waitUntil('the long', async () => (await p.trades.position(agentId, 'BTCUSDT')).quantityAtoms > 0);
    const booked = (await p.trades.position(agentId, 'BTCUSDT')).quantityAtoms;
    // 0.005 BTC sold by hand on the account: the venue holds less than the books.
    p.venue.tradeByHand(key, 'BTCUSDT', '-0.005');
    const atVenue = p.venue.positionOf(key, 'BTCUSDT').atoms;
    expect(atVenue).toBe(booked - 500_000);

    const close = makeSignal({ signalId: 'protect-qwen-close', agentId, symbol: 'BTCUSDT', side: 'SELL', reduceOnly: true, size: { type: 'quantity', quantity: atomsToQuantity(booked), priceMicros: p.venue.priceAt('BTCUSDT') }, leverage: 1 });
    await p.publisher.publish(TOPICS.signals, close);
    await waitUntil('the close filled', async () => (await p.trades.order(orderIdForSignal(close.signalId)))?.status === 'filled');
    expect(await p.trades.order(orderIdForSignal(close.signalId))).toMatchObject({ quantityAtoms: atVenue, filledAtoms: atVenue });
    expect(p.venue.positionOf(key, 'BTCUSDT').atoms).toBe(0);

    const again = makeSignal({ signalId: 'protect-qwen-close-again', agentId, symbol: 'BTCUSDT', side: 'SELL', reduceOnly: true, size: { type: 'quantity', quantity: '0.005', priceMicros: p.venue.priceAt('BTCUSDT') }, leverage: 1 });
    await p.publisher.publish(TOPICS.signals, again);
    await waitUntil('the second close refused', async () => (await p.margins.reservationOf(again.signalId))?.status === 'released');
    expect(await p.margins.reservationOf(again.signalId)).toMatchObject({ releaseReason: 'nothing_to_close' });
    expect(p.venue.ordersFor(orderIdForSignal(again.signalId), key)).toHaveLength(0);
  });
});

describe('a flatten while an order is open at the venue', () => {
  it('closes the positions even when the venue will not cancel the open order', async () => {
    const agentId = 'fingpt-alpha';
    await p.publisher.publish(TOPICS.signals, makeSignal({ signalId: 'protect-fingpt-open', agentId, symbol: 'BTCUSDT', side: 'BUY', size: { type: 'notional', notionalMicros: 500 * USD }, leverage: 2 }));
    await waitUntil('the long', async () => (await p.trades.position(agentId, 'BTCUSDT')).quantityAtoms > 0);
    // A second order the venue takes but does not fill, then will not cancel.
    p.venue.holdOrders(true);
    await p.publisher.publish(TOPICS.signals, makeSignal({ signalId: 'protect-fingpt-held', agentId, symbol: 'BTCUSDT', side: 'BUY', size: { type: 'notional', notionalMicros: 200 * USD }, leverage: 2 }));
    await waitUntil('the order open at the venue', async () => (await p.trades.order(orderIdForSignal('protect-fingpt-held')))?.status === 'open');
    p.venue.holdOrders(false);
    p.venue.injectFault('/fapi/v1/order', { kind: 'refuse_before', status: 503, body: { code: -1001, msg: 'Internal error; unable to process your request. Please try again.' } }, { method: 'DELETE', count: 10 });

    await flattenAgents(deps, book, { flattenId: 'protect-2', agentIds: [agentId], requestedBy: 'operator:alice', reason: 'cancel refused' });
    await waitUntil('flat', async () => (await flattenProgress(deps, book, 'protect-2'))?.done === true);
    expect(p.venue.positionOf(venueKeyOf(agentId), 'BTCUSDT').atoms).toBe(0);
    expect(await p.trades.order(orderIdForSignal('protect-fingpt-held'))).toMatchObject({ status: 'open' });
    p.venue.clearFaults();
  });
});

describe('a protective stop at the venue', () => {
  it('is placed when a position opens, replaced when it grows, cancelled when it closes, and closes the position itself when the mark crosses it while nothing of Sapphire runs', async () => {
    const agentId = 'lagllama-degen';
    const key = venueKeyOf(agentId);
    const exchange = deps.accounts.accountFor(agentId).exchange;
    if (!hasVenueStops(exchange)) throw new Error('the Binance client keeps stops at the venue');
    const options = reconcileOptionsFromConfig(loadConfig());
    const budget = 1_000 * USD * (options.stopLossFraction ?? 0);
    const tick = (await exchange.symbolFilters('BTCUSDT')).tickSizeMicros;
    const open = async (signalId: string, usd: number) => {
      const before = (await p.trades.position(agentId, 'BTCUSDT')).quantityAtoms;
      await p.publisher.publish(TOPICS.signals, makeSignal({ signalId, agentId, symbol: 'BTCUSDT', side: 'BUY', size: { type: 'notional', notionalMicros: usd * USD }, leverage: 10 }));
      await waitUntil(`${signalId} filled`, async () => (await p.trades.position(agentId, 'BTCUSDT')).quantityAtoms > before);
    };
    const stopNow = async () => {
      await reconcile(deps, options);
      const resting = await exchange.restingStops();
      expect(resting.length, 'at most one stop per position').toBeLessThanOrEqual(1);
      return resting[0];
    };
    const wanted = async () => wantedStop(agentId, 'BTCUSDT', await p.trades.position(agentId, 'BTCUSDT'), budget, tick);

    await open('protect-stop-open', 500);
    const first = await stopNow();
    expect(first).toEqual(await wanted());
    expect(first).toMatchObject({ side: 'SELL' });
    // A 10× long: its liquidation comes before a 400 USD loss on 0.022 BTC, so the stop rests one tick before it.
    const position = await p.trades.position(agentId, 'BTCUSDT');
    expect(first?.triggerMicros).toBe(Math.ceil((liquidationPriceMicros(position) as number) / tick) * tick + tick);

    await open('protect-stop-add', 300);
    const second = await stopNow();
    expect(second).toEqual(await wanted());
    expect(second?.clientAlgoId).not.toBe(first?.clientAlgoId);

    const held = (await p.trades.position(agentId, 'BTCUSDT')).quantityAtoms;
    await p.publisher.publish(TOPICS.signals, makeSignal({ signalId: 'protect-stop-close', agentId, symbol: 'BTCUSDT', side: 'SELL', reduceOnly: true, size: { type: 'quantity', quantity: atomsToQuantity(held), priceMicros: p.venue.priceAt('BTCUSDT') }, leverage: 1 }));
    await waitUntil('flat', async () => (await p.trades.position(agentId, 'BTCUSDT')).quantityAtoms === 0);
    expect(await stopNow()).toBeUndefined();

    await open('protect-stop-again', 500);
    const resting = await stopNow();
    expect(resting).toEqual(await wanted());
    // Nothing of Sapphire runs while BTC falls to 19,876 (2023-03-10 05:00): the venue fires the stop.
    p.venue.clock.set(Date.parse('2023-03-10T05:00:00Z'), 0);
    expect(p.venue.positionOf(key, 'BTCUSDT').atoms).toBe(0);
    expect(p.venue.ordersFor(resting?.clientAlgoId as string, key)).toMatchObject([{ status: 'FILLED', side: 'SELL', reduceOnly: true }]);

    // Back up, the reconciler books the stop's execution to the agent, once, with a warning; no stop is left.
    const report = await reconcile(deps, options);
    expect(report).toMatchObject({ liquidations: 1, stopsPlaced: 0 });
    expect(await p.trades.position(agentId, 'BTCUSDT')).toMatchObject({ quantityAtoms: 0, marginInUseMicros: 0 });
    expect(await exchange.restingStops()).toEqual([]);
    const alert = await alerts.waitForMessage('the stop alert', (a) => a.limitType === 'protective_stop');
    expect(alert.data).toMatchObject({ severity: 'warning', scope: agentId });
    expect((await reconcile(deps, options)).liquidations).toBe(0);
  });
});

