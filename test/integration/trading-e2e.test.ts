import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS } from '../../triggers/manifest.js';
import { type PaperPath, paperPath } from '../support/paper-path.js';
import { makeSignal } from '../support/signals.js';
import { waitUntil } from '../support/stack.js';
import { USD } from '../../shared/domain/money.js';

/**
 * Signal → reservation → order → paper fill → position → close, through push delivery on the
 * Pub/Sub emulator, on replayed BTCUSDT prices of 2023-03-08.
 */

const path = paperPath('e2e', '2023-03-08T12:01:00Z');
let p: PaperPath;

beforeAll(async () => {
  p = await path.start();
});

afterAll(async () => {
  await p?.stop();
});

describe('a signal ends as a position, and closing it returns the margin with exact PnL', () => {
  it('opens 0.045 BTC at 12:00 and closes it at 20:00 on 2023-03-08', async () => {
    // 1,000 USD at 5× reserves 200 USD. The 12:00 close is 22,077.49: 1,000 USD buys 0.045 BTC
    // (step 0.001), filled 5 bps worse and on the 0.10 tick: 22,088.60. The venue's margin for
    // it, 993.987 / 5 = 198.7974 USD, is in use; the rest of the 200 is free again.
    await p.publisher.publish(TOPICS.signals, makeSignal({
      signalId: 'e2e-open', agentId: 'deepseek-v3', symbol: 'BTCUSDT', side: 'BUY',
      size: { type: 'notional', notionalMicros: 1_000 * USD }, leverage: 5,
    }));
    await waitUntil('the open position', async () => (await p.trades.position('deepseek-v3', 'BTCUSDT')).quantityAtoms > 0);
    expect(await p.trades.position('deepseek-v3', 'BTCUSDT')).toMatchObject({
      quantityAtoms: 4_500_000,
      costBasis: String(4_500_000 * 22_088_600_000),
      marginInUseMicros: 198_797_400,
    });
    // Entry fee: 0.05% of 0.045 × 22,088.60 = 993.987 USD → 0.4969935, rounded up: 0.496994.
    expect(await p.margins.ledgerOf('deepseek-v3')).toMatchObject({ reservedMicros: 0, inUseMicros: 198_797_400, feesMicros: 496_994, realizedPnlMicros: -496_994 });

    // 20:00 close 22,007.13; a reduce-only sell fills 5 bps worse, down to the tick: 21,996.10.
    p.venue.clock.set(Date.parse('2023-03-08T20:01:00Z'), 0);
    await p.publisher.publish(TOPICS.signals, makeSignal({
      signalId: 'e2e-close', agentId: 'deepseek-v3', symbol: 'BTCUSDT', side: 'SELL', reduceOnly: true,
      size: { type: 'quantity', quantity: '0.045', priceMicros: 22_007_130_000 }, leverage: 5,
    }));
    await waitUntil('the closed position', async () => (await p.trades.position('deepseek-v3', 'BTCUSDT')).quantityAtoms === 0);

    // Gross (21,996.10 − 22,088.60) × 0.045 = −4.1625 USD; exit fee 0.05% of 989.8245 = 0.49491225 → 0.494913.
    // Net: −4.162500 − 0.496994 − 0.494913 = −5.154407 USD.
    const ledger = await p.margins.ledgerOf('deepseek-v3');
    expect(ledger).toMatchObject({ reservedMicros: 0, inUseMicros: 0, feesMicros: 991_907, realizedPnlMicros: -5_154_407, positionSymbols: {}, openSymbols: {} });
    expect(await p.trades.position('deepseek-v3', 'BTCUSDT')).toMatchObject({ quantityAtoms: 0, costBasis: '0', marginInUseMicros: 0, realizedPnlMicros: -5_154_407 });
    const orders = await p.db.collection('orders').where('agentId', '==', 'deepseek-v3').get();
    expect(orders.docs.map((d) => d.get('status')).sort()).toEqual(['filled', 'filled']);
  }, 60_000);
});
