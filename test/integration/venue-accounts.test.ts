import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AlertMessage, OrderRequest, type RiskEvent } from '../../shared/domain/messages.js';
import { USD } from '../../shared/domain/money.js';
import { outcomeMessage } from '../../shared/domain/outcomes.js';
import { SHARED_ACCOUNT, venueAccounts } from '../../shared/exchange/accounts.js';
import { BinanceFuturesClient } from '../../shared/exchange/binance-futures/client.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { MarginLedger } from '../../shared/firestore/margin-ledger.js';
import { TradeLedger } from '../../shared/firestore/trade-ledger.js';
import { pubsubFor } from '../../shared/pubsub/client.js';
import { JsonPublisher } from '../../shared/pubsub/publisher.js';
import type { TradingDeps } from '../../shared/trading/deps.js';
import { adoptVenuePosition } from '../../shared/trading/adopt-position.js';
import { reconcile } from '../../shared/trading/reconcile.js';
import { routeOrder } from '../../shared/trading/route-order.js';
import { RetryLater } from '../../shared/pubsub/push-handler.js';
import { TOPICS } from '../../triggers/manifest.js';
import type { MarketStandIn } from '../../scripts/lib/market-standin.js';
import { startMarketStandIn } from '../../scripts/lib/market-standin.js';
import { type LocalPushDelivery, provisionPubSub } from '../../scripts/lib/provision.js';
import { MARKET_CSV } from '../support/market.js';
import { makeSignal } from '../support/signals.js';
import { TopicTap, closeInOrder, isolatedProject } from '../support/stack.js';
import { seedTestAgent } from '../support/trading.js';
import { tradingStateOf } from '../../shared/firestore/trading-states.js';

/**
 * One venue account per agent, through the real Binance client against the stand-in venue:
 * opposite positions of two agents on one symbol stay apart, each account is set to the order's
 * leverage and isolated margin once before its first order, and agents sharing one account are
 * kept from netting against each other.
 */

const projectId = isolatedProject('venue-accounts');
const db = firestoreFor(projectId);
const KEYS: Record<string, { apiKey: string; apiSecret: string }> = {
  'acct-long': { apiKey: 'key-long', apiSecret: 'secret-long-0123456789' },
  'acct-short': { apiKey: 'key-short', apiSecret: 'secret-short-0123456789' },
};
const SHARED = { apiKey: 'key-shared', apiSecret: 'secret-shared-0123456789' };
let venue: MarketStandIn;
let delivery: LocalPushDelivery | undefined;
let riskEvents: TopicTap<RiskEvent>;
let alerts: TopicTap<AlertMessage>;
let deps: TradingDeps;
const margins = new MarginLedger(db, { maxSymbolsPerAgent: 50 });
const trades = new TradeLedger(db);

/** Reserves margin for the signal as margin-reservation does, then routes its order as order-router does. */
async function trade(agentId: string, signalId: string, side: 'BUY' | 'SELL', reduceOnly = false): Promise<string> {
  const signal = makeSignal({ agentId, signalId, symbol: 'BTCUSDT', side, size: { type: 'quantity', quantity: '0.01', priceMicros: venue.priceAt('BTCUSDT') }, leverage: 4, reduceOnly });
  const { record } = await margins.reserveMargin(signal);
  expect(record.status, `${signalId} reserved`).toBe('reserved');
  const next = outcomeMessage(record);
  const request = OrderRequest.parse(next.topic === 'orders' ? next.message : undefined);
  await routeOrder(deps, request);
  return request.orderId;
}

const position = async (agentId: string) => (await trades.position(agentId, 'BTCUSDT')).quantityAtoms;

/** trade() as Pub/Sub delivers: a delivery deferred (RetryLater) is delivered again. */
async function tradeUntilDone(agentId: string, signalId: string, side: 'BUY' | 'SELL'): Promise<string> {
  const signal = makeSignal({ agentId, signalId, symbol: 'BTCUSDT', side, size: { type: 'quantity', quantity: '0.01', priceMicros: venue.priceAt('BTCUSDT') }, leverage: 4 });
  const { record } = await margins.reserveMargin(signal);
  const next = outcomeMessage(record);
  const request = OrderRequest.parse(next.topic === 'orders' ? next.message : undefined);
  for (let attempt = 1; ; attempt += 1) {
    try {
      await routeOrder(deps, request);
      return request.orderId;
    } catch (error) {
      if (!(error instanceof RetryLater) || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const sharedVenuePosition = async () => (await deps.accounts.accountFor('shared-a').exchange.positions()).find((p) => p.symbol === 'BTCUSDT')?.quantityAtoms ?? 0;

beforeAll(async () => {
  venue = await startMarketStandIn({
    csvFiles: { BTCUSDT: MARKET_CSV },
    apiKey: SHARED.apiKey,
    apiSecret: SHARED.apiSecret,
    moreAccounts: Object.fromEntries(Object.values(KEYS).map((k) => [k.apiKey, k.apiSecret])),
    start: Date.parse('2023-03-08T12:01:00Z'),
    speed: 0,
  });
  const pubsub = pubsubFor(projectId);
  delivery = await provisionPubSub(pubsub, () => undefined);
  riskEvents = await TopicTap.open<RiskEvent>(pubsub, TOPICS.riskEvents);
  alerts = await TopicTap.open<AlertMessage>(pubsub, TOPICS.alerts);
  deps = {
    accounts: venueAccounts('binance', (agentId) => agentId in KEYS, (accountId) => new BinanceFuturesClient({ baseUrl: venue.url, ...(accountId === SHARED_ACCOUNT ? SHARED : KEYS[accountId]) })),
    trades,
    margins,
    publisher: new JsonPublisher(pubsub),
    topics: TOPICS,
  };
  for (const agentId of ['acct-long', 'acct-short', 'shared-a', 'shared-b']) await seedTestAgent(db, agentId, { allowedSymbols: ['BTCUSDT'] });
});

afterAll(async () => {
  await closeInOrder(alerts, riskEvents, delivery, venue);
});

describe('one venue account per agent', () => {
  it("keeps two agents' opposite positions on one symbol apart, each on its own account", async () => {
    const longOrder = await trade('acct-long', 'acct-long-open', 'BUY');
    const shortOrder = await trade('acct-short', 'acct-short-open', 'SELL');
    expect(venue.orderAccounts.get(longOrder)).toBe('key-long');
    expect(venue.orderAccounts.get(shortOrder)).toBe('key-short');
    expect([await position('acct-long'), await position('acct-short')]).toEqual([1_000_000, -1_000_000]);
  });

  it("closes each agent's own position with its reduce-only order, and nothing of the other's", async () => {
    const longClose = await trade('acct-long', 'acct-long-close', 'SELL', true);
    expect(venue.orderAccounts.get(longClose)).toBe('key-long');
    expect([await position('acct-long'), await position('acct-short')]).toEqual([0, -1_000_000]);
    await trade('acct-short', 'acct-short-close', 'BUY', true);
    expect([await position('acct-long'), await position('acct-short')]).toEqual([0, 0]);
  });

  it("sets the account's leverage and isolated margin before its first order on the symbol, once", async () => {
    expect(venue.accountSettings.get('key-long:BTCUSDT')).toEqual({ marginType: 'ISOLATED', leverage: 4 });
    expect(venue.accountSettings.get('key-short:BTCUSDT')).toEqual({ marginType: 'ISOLATED', leverage: 4 });
    // Two orders each, one setup each: margin type, then leverage.
    expect(venue.setupCalls.filter((c) => c.endsWith('key-long:BTCUSDT'))).toEqual(['marginType key-long:BTCUSDT', 'leverage key-long:BTCUSDT']);
  });
});

describe('agents sharing one venue account', () => {
  it('refuses an order that would net against another agent there, returning its margin', async () => {
    await trade('shared-a', 'shared-a-open', 'BUY');
    expect(await position('shared-a')).toBe(1_000_000);
    const refused = await trade('shared-b', 'shared-b-open', 'SELL');
    expect(venue.orderAccounts.has(refused)).toBe(false);
    expect(await margins.reservationOf('shared-b-open')).toMatchObject({ status: 'released', releaseReason: 'account_netting' });
    const event = await riskEvents.waitForMessage('the refusal', (e) => e.type === 'order_rejected' && e.signalId === 'shared-b-open');
    expect(event.data).toMatchObject({ reason: 'account_netting', detail: expect.stringMatching(/shared-a holds BTCUSDT the other way/) });
  });

  it("still lets each agent shrink its own position there", async () => {
    await trade('shared-a', 'shared-a-close', 'SELL', true);
    expect(await position('shared-a')).toBe(0);
  });

  it('never lets two agents deciding at once go opposite ways there: an order in flight counts, and one of them is refused', async () => {
    const venueBefore = await sharedVenuePosition();
    // Both flat; each order alone would pass. Pub/Sub redelivers a delivery deferred by the lock.
    const [buy, sell] = await Promise.all([tradeUntilDone('shared-a', 'race-a', 'BUY'), tradeUntilDone('shared-b', 'race-b', 'SELL')]);
    const placed = [buy, sell].filter((orderId) => venue.orderAccounts.has(orderId));
    expect(placed).toHaveLength(1);
    const refused = await margins.reservationOf(placed[0] === buy ? 'race-b' : 'race-a');
    expect(refused).toMatchObject({ status: 'released', releaseReason: 'account_netting' });
    // The venue's net position is the sum of what Sapphire books for the agents sharing it.
    expect((await sharedVenuePosition()) - venueBefore).toBe((await position('shared-a')) + (await position('shared-b')));
  });
});

describe("funding of each agent's own account", () => {
  const options = { reservationTtlMs: 300_000, placingGraceMs: 120_000, openOrderTtlMs: 300_000 };

  it('is booked to the owning agent once, even when the income history is read twice', async () => {
    const before = await margins.ledgerOf('acct-long');
    venue.addFunding('key-long', 'BTCUSDT', '-0.01548949');
    venue.addFunding('key-short', 'BTCUSDT', '0.5');
    venue.addFunding(SHARED.apiKey, 'BTCUSDT', '-3');
    expect(await reconcile(deps, options)).toMatchObject({ fundingApplied: 2 });
    expect(await reconcile(deps, options)).toMatchObject({ fundingApplied: 0 });
    // Paid 0.01548949 USDT, rounded to the nearest micro: 15,489.
    expect(await margins.ledgerOf('acct-long')).toMatchObject({ fundingMicros: before.fundingMicros - 15_489, realizedPnlMicros: before.realizedPnlMicros - 15_489 });
    expect((await margins.ledgerOf('acct-short')).fundingMicros).toBe(500_000);
    // The shared account's funding cannot be told apart by agent: booked to nobody.
    expect((await margins.ledgerOf('shared-a')).fundingMicros).toBe(0);
  });
});

describe("each agent's own account against Sapphire's positions", () => {
  const options = { reservationTtlMs: 300_000, placingGraceMs: 120_000, openOrderTtlMs: 300_000 };

  it('finds nothing to say while they agree', async () => {
    expect(await reconcile(deps, options)).toMatchObject({ positionMismatches: [] });
    expect(await tradingStateOf(db, 'acct-long')).toBeUndefined();
  });

  it('detects a position opened by hand on the venue, alerts once and holds the agent to reduce-only', async () => {
    venue.tradeByHand('key-long', 'BTCUSDT', '0.005');
    expect(await reconcile(deps, options)).toMatchObject({ positionMismatches: ['acct-long'] });
    expect(await tradingStateOf(db, 'acct-long')).toMatchObject({ state: 'reducing', changedBy: 'reconciler', reason: 'position_mismatch: BTCUSDT venue 500000 atoms, Sapphire 0' });
    const alert = await alerts.waitForMessage('the mismatch alert', (a) => a.key === 'position_mismatch:acct-long');
    expect(alert.data).toMatchObject({ severity: 'critical', source: 'reconciler', scope: 'acct-long' });
    const { record } = await margins.reserveMargin(makeSignal({ agentId: 'acct-long', signalId: 'acct-long-after-hand', symbol: 'BTCUSDT', side: 'BUY', size: { type: 'quantity', quantity: '0.01', priceMicros: venue.priceAt('BTCUSDT') }, leverage: 4 }));
    expect(record).toMatchObject({ status: 'rejected', reason: 'trading_reducing' });
    // Still different on the next run: still held, and no second alert.
    expect(await reconcile(deps, options)).toMatchObject({ positionMismatches: ['acct-long'] });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(alerts.messages.filter((m) => m.data.key === 'position_mismatch:acct-long')).toHaveLength(1);
    expect(await tradingStateOf(db, 'acct-short')).toBeUndefined();
  });

  it("lets an operator adopt the venue's position: Sapphire holds what the account holds, the agent trades again, once", async () => {
    const adopted = await adoptVenuePosition(deps, 'acct-long', 'BTCUSDT', { by: 'operator:alice', reason: 'manual hedge, keep it' });
    expect(adopted).toMatchObject({ outcome: 'adopted', quantityAtoms: 500_000 });
    expect(await position('acct-long')).toBe(500_000);
    expect(await tradingStateOf(db, 'acct-long')).toMatchObject({ state: 'active', changedBy: 'operator:alice' });
    expect(await adoptVenuePosition(deps, 'acct-long', 'BTCUSDT', { by: 'operator:alice', reason: 'retry' })).toEqual({ outcome: 'nothing_to_adopt' });
    expect(await position('acct-long')).toBe(500_000);
    expect(await reconcile(deps, options)).toMatchObject({ positionMismatches: [] });
  });
});

describe('a liquidation by the venue', () => {
  const options = { reservationTtlMs: 300_000, placingGraceMs: 120_000, openOrderTtlMs: 300_000 };

  it("is booked to the agent that owned the position, with an alert, once", async () => {
    await trade('acct-short', 'acct-short-reopen', 'SELL');
    expect(await position('acct-short')).toBe(-1_000_000);
    const ledgerBefore = await margins.ledgerOf('acct-short');
    const orderId = venue.liquidateByVenue('key-short', 'BTCUSDT', 23_500 * USD);
    const first = await reconcile(deps, options);
    expect(first.liquidations).toBe(1);
    expect(first.positionMismatches).not.toContain('acct-short');
    expect(await position('acct-short')).toBe(0);
    expect(await trades.order(orderId)).toMatchObject({ agentId: 'acct-short', status: 'filled', reservedMicros: 0, reason: 'made by the venue' });
    const ledger = await margins.ledgerOf('acct-short');
    expect(ledger.inUseMicros).toBe(0);
    expect(ledger.realizedPnlMicros).toBeLessThan(ledgerBefore.realizedPnlMicros);
    const alert = await alerts.waitForMessage('the liquidation alert', (a) => a.episodeId === `liquidation:${orderId}`);
    expect(alert.data).toMatchObject({ severity: 'critical', scope: 'acct-short', limitType: 'liquidation' });
    expect(await reconcile(deps, options)).toMatchObject({ liquidations: 0 });
  });
});
