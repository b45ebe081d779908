import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import type { AlertMessage } from '../../shared/domain/messages.js';
import { USD } from '../../shared/domain/money.js';
import { marginRequiredMicros } from '../../shared/domain/margin.js';
import { averageEntryMicros } from '../../shared/domain/positions.js';
import { notionalOfAtoms } from '../../shared/domain/quantity.js';
import { liquidationPriceMicros } from '../../shared/domain/liquidation.js';
import { type PaperExchange, slippedPrice } from '../../shared/exchange/paper/paper-exchange.js';
import type { TradingDeps } from '../../shared/trading/deps.js';
import { reconcile } from '../../shared/trading/reconcile.js';
import { tradingDepsFromConfig } from '../../shared/trading/runtime.js';
import { TOPICS } from '../../triggers/manifest.js';
import { type PaperPath, paperPath } from '../support/paper-path.js';
import { makeSignal } from '../support/signals.js';
import { TopicTap, waitUntil } from '../support/stack.js';

/**
 * A 20× long on the paper exchange through the March 2023 fall: liquidated near its liquidation
 * price, losing its margin plus fees and no more, booked like a real liquidation.
 */

const path = paperPath('liquidation', '2023-03-08T12:01:00Z');
let p: PaperPath;
let deps: TradingDeps;
let alerts: TopicTap<AlertMessage>;
const options = { reservationTtlMs: 300_000, placingGraceMs: 120_000, openOrderTtlMs: 300_000 };

beforeAll(async () => {
  p = await path.start();
  deps = tradingDepsFromConfig(loadConfig());
  alerts = await TopicTap.open<AlertMessage>(p.pubsub, TOPICS.alerts);
  // 1,000 USD notional at 20×: 50 USD of isolated margin.
  await p.publisher.publish(TOPICS.signals, makeSignal({ signalId: 'liq-open', agentId: 'lagllama-degen', symbol: 'BTCUSDT', side: 'BUY', size: { type: 'notional', notionalMicros: 1_000 * USD }, leverage: 20 }));
  await waitUntil('the 20× long', async () => (await p.trades.position('lagllama-degen', 'BTCUSDT')).quantityAtoms > 0);
});

afterAll(async () => {
  await alerts?.close();
  await p?.stop();
});

describe('a paper position at 20×', () => {
  it('is not liquidated while the mark stays above its liquidation price', async () => {
    expect(await reconcile(deps, options)).toMatchObject({ liquidations: 0 });
  });

  it('is liquidated once the mark crosses it, losing its margin plus fees and no more', async () => {
    const before = await p.trades.position('lagllama-degen', 'BTCUSDT');
    const ledgerBefore = await p.margins.ledgerOf('lagllama-degen');
    // The isolated margin the venue took: the fill's notional (just under 1,000 USD) / 20.
    const margin = marginRequiredMicros(notionalOfAtoms(4_500_000, averageEntryMicros(before)), 20);
    expect(before).toMatchObject({ quantityAtoms: 4_500_000, marginInUseMicros: margin });
    expect(margin).toBeGreaterThan(49 * USD);
    p.venue.clock.set(Date.parse('2023-03-10T00:00:00Z'), 0); // BTC near 20,000: 9% under the entry
    expect(await reconcile(deps, options)).toMatchObject({ liquidations: 1 });
    const after = await p.trades.position('lagllama-degen', 'BTCUSDT');
    expect(after.quantityAtoms).toBe(0);
    const ledger = await p.margins.ledgerOf('lagllama-degen');
    const fee = ledger.feesMicros - ledgerBefore.feesMicros;
    expect(fee).toBeGreaterThan(0);
    // The loss of the close is the margin, exactly, plus the closing fee.
    expect(ledger.realizedPnlMicros - ledgerBefore.realizedPnlMicros).toBe(-margin - fee);
    expect(ledger).toMatchObject({ inUseMicros: 0, reservedMicros: 0 });
    const alert = await alerts.waitForMessage('the liquidation alert', (a) => a.limitType === 'liquidation');
    expect(alert.data).toMatchObject({ severity: 'critical', scope: 'lagllama-degen', source: 'reconciler' });
  });

  it('is liquidated once: the next run finds nothing to do and the venue agrees with Sapphire', async () => {
    expect(await reconcile(deps, options)).toMatchObject({ liquidations: 0, positionMismatches: [] });
  });
});

describe('a paper position with its protective stop', () => {
  it('is closed by its stop when the mark reaches it, before the liquidation price, and booked once', async () => {
    const withStops = { ...options, stopLossFraction: 0.4 };
    p.venue.clock.set(Date.parse('2023-03-08T12:01:00Z'), 0);
    await p.publisher.publish(TOPICS.signals, makeSignal({ signalId: 'stop-open', agentId: 'deepseek-v3', symbol: 'BTCUSDT', side: 'BUY', size: { type: 'notional', notionalMicros: 1_000 * USD }, leverage: 10 }));
    await waitUntil('the 10× long', async () => (await p.trades.position('deepseek-v3', 'BTCUSDT')).quantityAtoms > 0);
    expect(await reconcile(deps, withStops)).toMatchObject({ stopsPlaced: 1 });
    const exchange = deps.accounts.accountFor('deepseek-v3').exchange as PaperExchange;
    const [stop] = await exchange.restingStops();
    const position = await p.trades.position('deepseek-v3', 'BTCUSDT');
    // One tick before the liquidation price: the venue would liquidate before a 400 USD loss.
    expect(stop?.triggerMicros).toBeGreaterThan(liquidationPriceMicros(position) as number);

    p.venue.clock.set(Date.parse('2023-03-10T05:00:00Z'), 0); // BTC 19,876: past the stop
    expect(await reconcile(deps, withStops)).toMatchObject({ liquidations: 1, stopsPlaced: 0, failures: [] });
    expect(await p.trades.position('deepseek-v3', 'BTCUSDT')).toMatchObject({ quantityAtoms: 0, marginInUseMicros: 0 });
    expect(await exchange.positionAtoms('BTCUSDT')).toBe(0);
    expect(await exchange.restingStops()).toEqual([]);
    // Closed at the mark, moved against it by the paper slippage, under the stop's id — not at the bankruptcy price.
    const tick = (await exchange.symbolFilters('BTCUSDT')).tickSizeMicros;
    expect(await exchange.getOrder('BTCUSDT', stop?.clientAlgoId as string)).toMatchObject({ status: 'FILLED', side: 'SELL', reduceOnly: true, avgPriceMicros: slippedPrice(p.venue.priceAt('BTCUSDT'), 'SELL', 5, tick) });
    expect((await alerts.waitForMessage('the stop alert', (a) => a.limitType === 'protective_stop')).data).toMatchObject({ severity: 'warning', scope: 'deepseek-v3' });
    expect(await reconcile(deps, withStops)).toMatchObject({ liquidations: 0, stopsPlaced: 0, positionMismatches: [] });
  });
});
