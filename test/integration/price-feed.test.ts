import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertMessage } from '../../shared/domain/messages.js';
import { USD } from '../../shared/domain/money.js';
import { BinanceFuturesClient } from '../../shared/exchange/binance-futures/client.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { MarginLedger } from '../../shared/firestore/margin-ledger.js';
import { RiskBook } from '../../shared/firestore/risk-book.js';
import { TradeLedger } from '../../shared/firestore/trade-ledger.js';
import { tradingStateOf } from '../../shared/firestore/trading-states.js';
import { pubsubFor } from '../../shared/pubsub/client.js';
import { JsonPublisher } from '../../shared/pubsub/publisher.js';
import { type EvaluatorDeps, evaluateDrawdown } from '../../shared/risk/evaluate.js';
import { TOPICS } from '../../triggers/manifest.js';
import type { MarketStandIn } from '../../scripts/lib/market-standin.js';
import { type LocalPushDelivery, provisionPubSub } from '../../scripts/lib/provision.js';
import { startReplayAt } from '../support/market.js';
import { makeSignal } from '../support/signals.js';
import { TopicTap, closeInOrder, isolatedProject } from '../support/stack.js';
import { openTestOrder, seedTestAgent } from '../support/trading.js';

/**
 * The price feed fails for ten minutes: the evaluator keeps evaluating on the last good marks,
 * then holds the agent exposed to the stale symbol to reduce-only, alerts, and lets it trade
 * again when prices return; an agent with nothing at stake trades throughout.
 */

const projectId = isolatedProject('price-feed');
const db = firestoreFor(projectId);
const MINUTE = 60_000;
const T0 = Date.parse('2023-03-08T12:01:00Z');
const TICKER = '/fapi/v1/ticker/price';
const MARK = '/fapi/v1/premiumIndex';
let venue: MarketStandIn;
let delivery: LocalPushDelivery | undefined;
let alerts: TopicTap<AlertMessage>;
let wall = Date.parse('2026-11-25T12:00:00Z');
let deps: EvaluatorDeps;
const margins = new MarginLedger(db, { maxSymbolsPerAgent: 50 });

const evaluate = () => evaluateDrawdown(deps);
const signal = (agentId: string, signalId: string) =>
  margins.reserveMargin(makeSignal({ agentId, signalId, symbol: 'BTCUSDT', size: { type: 'notional', notionalMicros: 100 * USD }, leverage: 2 }));

beforeAll(async () => {
  venue = await startReplayAt(new Date(T0).toISOString());
  const pubsub = pubsubFor(projectId);
  delivery = await provisionPubSub(pubsub, () => undefined);
  alerts = await TopicTap.open<AlertMessage>(pubsub, TOPICS.alerts);
  deps = {
    db,
    market: new BinanceFuturesClient({ baseUrl: venue.url, maxRetries: 0 }),
    book: new RiskBook(db),
    publisher: new JsonPublisher(pubsub),
    topics: TOPICS,
    limits: { utilizationWarnFraction: 0.95, portfolioDrawdownHaltFraction: 0.25, agentDrawdownHaltFraction: 0.4, agentDailyLossHaltFraction: 0.2, resolveRatio: 0.9, rearmStepFraction: 0.05 },
    priceStalenessMs: 5 * MINUTE,
    now: () => wall,
  };
  await seedTestAgent(db, 'feed-holder', { allowedSymbols: ['BTCUSDT'] });
  await seedTestAgent(db, 'feed-flat', { allowedSymbols: ['BTCUSDT'] });
  // feed-holder is long 0.01 BTC.
  const trades = new TradeLedger(db);
  const { order } = await openTestOrder(db, trades, { agentId: 'feed-holder', signalId: 'feed-open', quantity: '0.01', quantityAtoms: 1_000_000, priceUsd: 22_000 });
  await trades.applyVenueFacts({
    orderId: order.orderId,
    exchangeOrderId: 'feed-venue-1',
    fill: { tradeId: 'feed-fill-1', quantityAtoms: 1_000_000, priceMicros: 22_000 * USD, feeMicros: 0, time: T0 },
    terminal: { status: 'filled', finalFilledAtoms: 1_000_000 },
  });
});

afterAll(async () => {
  venue?.outage(TICKER, undefined);
  venue?.outage(MARK, undefined);
  await closeInOrder(alerts, delivery, venue);
});

describe('a failing price feed', () => {
  it('is evaluated normally while prices come', async () => {
    expect(await evaluate()).toMatchObject({ evaluated: true });
    expect(await tradingStateOf(db, 'feed-holder')).toBeUndefined();
  });

  it('values positions at the last trade price when the mark price does not come', async () => {
    venue.outage(MARK, 503);
    wall += MINUTE;
    venue.clock.set(T0 + MINUTE, 0);
    expect(await evaluate()).toMatchObject({ evaluated: true });
    expect(await tradingStateOf(db, 'feed-holder')).toBeUndefined();
    venue.outage(MARK, undefined);
  });

  it('never crashes the evaluator: ten minutes of failed prices are evaluated minute by minute on the last good mark', async () => {
    venue.outage(MARK, 503);
    venue.outage(TICKER, 503);
    for (let minute = 1; minute <= 10; minute += 1) {
      wall += MINUTE;
      const result = await evaluate();
      expect(result.evaluated, `minute ${minute}`).toBe(true);
      // The market clock moves on with the wall clock from the last price: 12:02, 12:03, …
      expect(result.snapshots.length).toBeGreaterThan(0);
    }
    expect(venue.requests.get(`GET ${MARK}`)).toBeGreaterThanOrEqual(12);
  });

  it('holds the agent exposed to the stale symbol to reduce-only, and alerts', async () => {
    expect(await tradingStateOf(db, 'feed-holder')).toMatchObject({ state: 'reducing', changedBy: 'drawdown-evaluator', reason: expect.stringMatching(/BTCUSDT: no price for 6 min/) });
    const alert = await alerts.waitForMessage('the stale-price alert', (a) => a.key === 'prices_stale:feed-holder');
    expect(alert.data).toMatchObject({ transition: 'open', severity: 'critical', limitType: 'prices_stale', scope: 'feed-holder' });
  });

  it('refuses new risk of that agent only; its reduce-only orders and other agents pass', async () => {
    expect((await signal('feed-holder', 'feed-new-risk')).record).toMatchObject({ status: 'rejected', reason: 'trading_reducing' });
    const close = await margins.reserveMargin(makeSignal({ agentId: 'feed-holder', signalId: 'feed-close', symbol: 'BTCUSDT', side: 'SELL', size: { type: 'quantity', quantity: '0.01', priceMicros: 22_000 * USD }, leverage: 2, reduceOnly: true }));
    expect(close.record).toMatchObject({ status: 'reserved' });
    expect((await signal('feed-flat', 'feed-flat-1')).record).toMatchObject({ status: 'reserved' });
    expect(await tradingStateOf(db, 'feed-flat')).toBeUndefined();
  });

  it('lets the agent trade again when prices return, and resolves the alert', async () => {
    venue.outage(MARK, undefined);
    venue.outage(TICKER, undefined);
    wall += MINUTE;
    venue.clock.set(T0 + 12 * MINUTE, 0);
    expect(await evaluate()).toMatchObject({ evaluated: true });
    expect(await tradingStateOf(db, 'feed-holder')).toMatchObject({ state: 'active', changedBy: 'drawdown-evaluator', reason: 'prices are fresh again' });
    await alerts.waitForMessage('the resolution', (a) => a.key === 'prices_stale:feed-holder' && a.transition === 'resolve');
    expect((await signal('feed-holder', 'feed-after')).record).toMatchObject({ status: 'reserved' });
  });
});
