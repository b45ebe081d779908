import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AGENTS } from '../../shared/domain/agents.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { seedAgentProfiles } from '../../shared/firestore/agent-profiles.js';
import { MarginLedger } from '../../shared/firestore/margin-ledger.js';
import { TradeLedger } from '../../shared/firestore/trade-ledger.js';
import { pubsubFor } from '../../shared/pubsub/client.js';
import { JsonPublisher } from '../../shared/pubsub/publisher.js';
import { TOPICS } from '../../triggers/manifest.js';
import type { MarketStandIn } from '../../scripts/lib/market-standin.js';
import { type LocalPushDelivery, provisionPubSub } from '../../scripts/lib/provision.js';
import { startReplayAt } from '../support/market.js';
import { makeSignal } from '../support/signals.js';
import { type ServedFunction, isolatedProject, serveFunction, waitUntil } from '../support/stack.js';

/**
 * Signal → reservation → order → paper fill → position → close, through the Pub/Sub emulator's
 * push subscriptions, on replayed BTCUSDT prices of 2023-03-08.
 */

const projectId = isolatedProject('e2e');
const db = firestoreFor(projectId);
const pubsub = pubsubFor(projectId);
const publisher = new JsonPublisher(pubsub);
const margins = new MarginLedger(db, { maxSymbolsPerAgent: 50 });
const trades = new TradeLedger(db);
const USD = 1_000_000;
let venue: MarketStandIn;
const served: ServedFunction[] = [];

let delivery: LocalPushDelivery | undefined;

beforeAll(async () => {
  venue = await startReplayAt('2023-03-08T12:01:00Z');
  Object.assign(process.env, { MARKET_DATA_URL: venue.url, ENABLE_PAPER_TRADING: 'true', PAPER_SLIPPAGE_BPS: '5', PAPER_TAKER_FEE_PPM: '500' });
  await seedAgentProfiles(db, DEFAULT_AGENTS);
  served.push(await serveFunction(() => import('../../functions/margin-reservation/index.js'), 'marginReservation'));
  served.push(await serveFunction(() => import('../../functions/order-router/index.js'), 'orderRouter'));
  const [reservation, router] = served as [ServedFunction, ServedFunction];
  delivery = await provisionPubSub(pubsub, (name) => ({ 'margin-reservation': `${reservation.url}/`, 'order-router': `${router.url}/` })[name]);
});

afterAll(async () => {
  await delivery?.stop();
  for (const fn of served) await fn.close();
  await venue?.close();
});

describe('a signal ends as a position, and closing it returns the margin with exact PnL', () => {
  it('opens 0.045 BTC at 12:00 and closes it at 20:00 on 2023-03-08', async () => {
    // 1,000 USD at 5× reserves 200 USD. The 12:00 close is 22,077.49: 1,000 USD buys 0.045 BTC
    // (step 0.001), filled 5 bps worse and on the 0.10 tick: 22,088.60.
    await publisher.publish(TOPICS.signals, makeSignal({
      signalId: 'e2e-open', agentId: 'deepseek-v3', symbol: 'BTCUSDT', side: 'BUY',
      size: { type: 'notional', notionalMicros: 1_000 * USD }, leverage: 5,
    }));
    await waitUntil('the open position', async () => (await trades.position('deepseek-v3', 'BTCUSDT')).quantityAtoms > 0);
    expect(await trades.position('deepseek-v3', 'BTCUSDT')).toMatchObject({
      quantityAtoms: 4_500_000,
      costBasis: String(4_500_000 * 22_088_600_000),
      marginInUseMicros: 200 * USD,
    });
    // Entry fee: 0.05% of 0.045 × 22,088.60 = 993.987 USD → 0.4969935, rounded up: 0.496994.
    expect(await margins.ledgerOf('deepseek-v3')).toMatchObject({ reservedMicros: 0, inUseMicros: 200 * USD, feesMicros: 496_994, realizedPnlMicros: -496_994 });

    // 20:00 close 22,007.13; a reduce-only sell fills 5 bps worse, down to the tick: 21,996.10.
    venue.clock.set(Date.parse('2023-03-08T20:01:00Z'), 0);
    await publisher.publish(TOPICS.signals, makeSignal({
      signalId: 'e2e-close', agentId: 'deepseek-v3', symbol: 'BTCUSDT', side: 'SELL', reduceOnly: true,
      size: { type: 'quantity', quantity: '0.045', priceMicros: 22_007_130_000 }, leverage: 5,
    }));
    await waitUntil('the closed position', async () => (await trades.position('deepseek-v3', 'BTCUSDT')).quantityAtoms === 0);

    // Gross (21,996.10 − 22,088.60) × 0.045 = −4.1625 USD; exit fee 0.05% of 989.8245 = 0.49491225 → 0.494913.
    // Net: −4.162500 − 0.496994 − 0.494913 = −5.154407 USD.
    const ledger = await margins.ledgerOf('deepseek-v3');
    expect(ledger).toMatchObject({ reservedMicros: 0, inUseMicros: 0, feesMicros: 991_907, realizedPnlMicros: -5_154_407, positionSymbols: {}, openSymbols: {} });
    expect(await trades.position('deepseek-v3', 'BTCUSDT')).toMatchObject({ quantityAtoms: 0, costBasis: '0', marginInUseMicros: 0, realizedPnlMicros: -5_154_407 });
    const orders = await db.collection('orders').where('agentId', '==', 'deepseek-v3').get();
    expect(orders.docs.map((d) => d.get('status')).sort()).toEqual(['filled', 'filled']);
  }, 60_000);
});
