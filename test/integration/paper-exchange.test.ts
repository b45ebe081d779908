import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExchangeError, type PlaceOrderRequest } from '../../shared/domain/exchange.js';
import { USD, feeMicros } from '../../shared/domain/money.js';
import { atomsToQuantity, notionalOfAtoms } from '../../shared/domain/quantity.js';
import type { Side } from '../../shared/domain/vocabulary.js';
import { BinanceFuturesClient } from '../../shared/exchange/binance-futures/client.js';
import { PaperExchange, slippedPrice } from '../../shared/exchange/paper/paper-exchange.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { COLLECTIONS } from '../../shared/firestore/collections.js';
import type { MarketStandIn } from '../../scripts/lib/market-standin.js';
import { startReplayAt } from '../support/market.js';
import { isolatedProject } from '../support/stack.js';

/**
 * The paper exchange on the Firestore emulator, priced by the real Binance futures client
 * reading the BTCUSDT replay stand-in (as accounts.ts builds it for ENABLE_PAPER_TRADING).
 */

const projectId = isolatedProject('paper');
/** The replay's clock is stopped here: the price is the close of 2023-03-01 00:00, 23,142.31 USD. */
const REPLAY_AT = '2023-03-01T00:01:00Z';
const PRICE = 23_142_310_000;
const TICK = 100_000; // 0.10 USD
const OPTIONS = { slippageBps: 5, takerFeePpm: 500 };

let venue: MarketStandIn;
let market: BinanceFuturesClient;
let accounts = 0;

/** A paper exchange over an account (a Firestore project) of its own, so each test starts flat. */
function freshExchange() {
  accounts += 1;
  const db = firestoreFor(`${projectId}-${accounts}`);
  const exchange = new PaperExchange(db, market, OPTIONS);
  const heldAtoms = (symbol = 'BTCUSDT') => exchange.positionAtoms(symbol);
  const fillCount = async () => (await db.collection(COLLECTIONS.paperFills).get()).size;
  const accountDocs = async () => (await db.collection(COLLECTIONS.paperAccount).get()).size;
  return { db, exchange, heldAtoms, fillCount, accountDocs };
}

const order = (clientOrderId: string, side: Side, quantity: string, reduceOnly = false): PlaceOrderRequest => ({
  clientOrderId,
  symbol: 'BTCUSDT',
  side,
  type: 'MARKET',
  quantity,
  reduceOnly,
  leverage: 5,
});

beforeAll(async () => {
  venue = await startReplayAt(REPLAY_AT);
  market = new BinanceFuturesClient({ baseUrl: venue.url });
  expect(venue.priceAt('BTCUSDT')).toBe(PRICE);
});

afterAll(async () => {
  await venue?.close();
});

describe('slippedPrice', () => {
  it('moves a BUY up by the slippage and up onto the tick grid', () => {
    // 23,142.31 × 1.0005 = 23,153.881155 → 23,153.90
    expect(slippedPrice(PRICE, 'BUY', 5, TICK)).toBe(23_153_900_000);
  });

  it('moves a SELL down by the slippage and down onto the tick grid', () => {
    // 23,142.31 × 0.9995 = 23,130.738845 → 23,130.70
    expect(slippedPrice(PRICE, 'SELL', 5, TICK)).toBe(23_130_700_000);
  });

  it('keeps a price already on the grid with no slippage', () => {
    expect(slippedPrice(25_000 * USD, 'BUY', 0, TICK)).toBe(25_000 * USD);
    expect(slippedPrice(25_000 * USD, 'SELL', 0, TICK)).toBe(25_000 * USD);
  });
});

describe('PaperExchange', () => {
  it('fills a market BUY at once at the slipped price, with the taker fee, in one trade <exchangeOrderId>-1', async () => {
    const { exchange, heldAtoms } = freshExchange();
    const placed = await exchange.placeOrder(order('sph-paper-buy-1', 'BUY', '0.01'));
    const time = Date.parse(REPLAY_AT);
    expect(placed).toEqual({
      clientOrderId: 'sph-paper-buy-1',
      exchangeOrderId: 'paper-sph-paper-buy-1',
      symbol: 'BTCUSDT',
      side: 'BUY',
      type: 'MARKET',
      status: 'FILLED',
      quantity: '0.01',
      executedQuantity: '0.01',
      avgPriceMicros: 23_153_900_000,
      reduceOnly: false,
      updateTime: time,
    });
    // 0.01 × 23,153.90 = 231.539 USD; 0.05% of it = 0.1157695 USD, rounded up to the micro.
    expect(notionalOfAtoms(1_000_000, 23_153_900_000)).toBe(231_539_000);
    expect(feeMicros(231_539_000, 500)).toBe(115_770);
    expect(await exchange.orderFills(placed)).toEqual([
      {
        tradeId: 'paper-sph-paper-buy-1-1',
        clientOrderId: 'sph-paper-buy-1',
        exchangeOrderId: 'paper-sph-paper-buy-1',
        symbol: 'BTCUSDT',
        side: 'BUY',
        quantity: '0.01',
        priceMicros: 23_153_900_000,
        feeMicros: 115_770,
        time,
      },
    ]);
    expect(await exchange.getOrder('BTCUSDT', 'sph-paper-buy-1')).toEqual(placed);
    expect(await heldAtoms()).toBe(1_000_000);
  });

  it('fills a market SELL at the price moved down, and opens a short', async () => {
    const { exchange, heldAtoms } = freshExchange();
    const placed = await exchange.placeOrder(order('sph-paper-sell-1', 'SELL', '0.002'));
    expect(placed).toMatchObject({ status: 'FILLED', executedQuantity: '0.002', avgPriceMicros: 23_130_700_000 });
    // 0.002 × 23,130.70 = 46.2614 USD; fee 0.0231307 USD → 23,131 micro-USD.
    expect(await exchange.orderFills(placed)).toEqual([expect.objectContaining({ tradeId: 'paper-sph-paper-sell-1-1', priceMicros: 23_130_700_000, feeMicros: 23_131 })]);
    expect(await heldAtoms()).toBe(-200_000);
  });

  it('answers a retried placement with the same order and makes no second fill', async () => {
    const { exchange, heldAtoms, fillCount } = freshExchange();
    const first = await exchange.placeOrder(order('sph-paper-retry', 'BUY', '0.01'));
    venue.clock.set(Date.parse('2023-03-01T00:10:00Z'), 0); // the market moved meanwhile
    try {
      const again = await exchange.placeOrder(order('sph-paper-retry', 'BUY', '0.01'));
      expect(again).toEqual(first);
    } finally {
      venue.clock.set(Date.parse(REPLAY_AT), 0);
    }
    expect(await exchange.orderFills(first)).toHaveLength(1);
    expect(await fillCount()).toBe(1);
    expect(await heldAtoms()).toBe(1_000_000);
  });

  it('answers retried placements that arrive together with one order and one fill', async () => {
    const { exchange, heldAtoms, fillCount } = freshExchange();
    const answers = await Promise.all([1, 2, 3, 4].map(() => exchange.placeOrder(order('sph-paper-together', 'SELL', '0.005'))));
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]).toMatchObject({ exchangeOrderId: 'paper-sph-paper-together', status: 'FILLED', executedQuantity: '0.005' });
    expect(await fillCount()).toBe(1);
    expect(await heldAtoms()).toBe(-500_000);
  });

  it('refuses a reduce-only order on a flat account, stores nothing and fills nothing', async () => {
    const { exchange, accountDocs, fillCount } = freshExchange();
    const refusal = await exchange.placeOrder(order('sph-paper-ro-flat', 'SELL', '0.01', true)).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ExchangeError);
    expect(refusal).toMatchObject({ reason: 'reduce_only_rejected', retryable: false, venueCode: -2022 });
    expect(await exchange.getOrder('BTCUSDT', 'sph-paper-ro-flat')).toBeUndefined();
    expect(await fillCount()).toBe(0);
    expect(await accountDocs()).toBe(0);
  });

  it('refuses a reduce-only order that would add to the position or flip it, and fills one that reduces it', async () => {
    const { exchange, heldAtoms } = freshExchange();
    await exchange.placeOrder(order('sph-paper-ro-open', 'BUY', '0.01'));
    await expect(exchange.placeOrder(order('sph-paper-ro-adds', 'BUY', '0.001', true))).rejects.toMatchObject({ reason: 'reduce_only_rejected', retryable: false });
    await expect(exchange.placeOrder(order('sph-paper-ro-flips', 'SELL', '0.011', true))).rejects.toMatchObject({ reason: 'reduce_only_rejected', retryable: false });
    expect(await heldAtoms()).toBe(1_000_000);
    const reduced = await exchange.placeOrder(order('sph-paper-ro-reduces', 'SELL', '0.004', true));
    expect(reduced).toMatchObject({ status: 'FILLED', executedQuantity: '0.004', reduceOnly: true, avgPriceMicros: 23_130_700_000 });
    expect(await heldAtoms()).toBe(600_000);
    const closed = await exchange.placeOrder(order('sph-paper-ro-closes', 'SELL', '0.006', true));
    expect(closed).toMatchObject({ status: 'FILLED', executedQuantity: '0.006' });
    expect(await heldAtoms()).toBe(0);
  });

  it('answers a cancel with order_not_found, for an ended order and for an unknown one', async () => {
    const { exchange } = freshExchange();
    await exchange.placeOrder(order('sph-paper-cancel', 'BUY', '0.001'));
    const ended = await exchange.cancelOrder('BTCUSDT', 'sph-paper-cancel').catch((error: unknown) => error);
    expect(ended).toBeInstanceOf(ExchangeError);
    expect(ended).toMatchObject({ reason: 'order_not_found', retryable: false, venueCode: -2011, message: 'order sph-paper-cancel is FILLED' });
    await expect(exchange.cancelOrder('BTCUSDT', 'sph-paper-never')).rejects.toMatchObject({
      reason: 'order_not_found',
      retryable: false,
      message: 'no order sph-paper-never',
    });
    expect(await exchange.getOrder('BTCUSDT', 'sph-paper-cancel')).toMatchObject({ status: 'FILLED' });
  });

  it('leaves the account position exactly the signed sum of 20 placements made at once on one symbol', async () => {
    const { exchange, heldAtoms, fillCount } = freshExchange();
    const orders = Array.from({ length: 20 }, (_, i) => {
      const side: Side = i % 3 === 0 ? 'SELL' : 'BUY';
      const atoms = (1 + ((i * 7) % 13)) * 100_000; // 0.001 .. 0.013
      return { request: order(`sph-paper-burst-${i}`, side, atomsToQuantity(atoms)), signed: side === 'BUY' ? atoms : -atoms };
    });
    const placed = await Promise.all(orders.map((o) => exchange.placeOrder(o.request)));
    expect(placed.map((p) => p.status)).toEqual(Array(20).fill('FILLED'));
    expect(placed.map((p) => p.executedQuantity)).toEqual(orders.map((o) => o.request.quantity));
    const expected = orders.reduce((sum, o) => sum + o.signed, 0);
    expect(expected).toBe(3_800_000); // 0.038 BTC long: the sum is what it looks like
    expect(await heldAtoms()).toBe(expected);
    expect(await fillCount()).toBe(20);
    const fills = (await Promise.all(placed.map((p) => exchange.orderFills(p)))).flat();
    expect(fills.map((f) => f.tradeId).sort()).toEqual(orders.map((o) => `paper-${o.request.clientOrderId}-1`).sort());
  });
});
