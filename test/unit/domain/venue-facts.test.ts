import { describe, expect, it } from 'vitest';
import type { ExchangeFill, ExchangeOrder, ExchangeOrderStatus } from '../../../shared/domain/exchange.js';
import { USD } from '../../../shared/domain/money.js';
import { describedOrderMismatch } from '../../../shared/domain/orders.js';
import { OrderUpdate } from '../../../shared/domain/order-updates.js';
import { factsFromOrderUpdate, venueFactsFor } from '../../../shared/domain/venue-facts.js';
import { SAMPLE_EXCHANGE_ORDER_ID, SAMPLE_ORDER_ID, SAMPLE_UPDATE_FILL, rawOrderUpdate } from '../../support/order-updates.js';

const ORDER_ID = SAMPLE_ORDER_ID;
const OTHER_ORDER_ID = 'sph-fedcba9876543210fedcba9876543210';
const EXCHANGE_ORDER_ID = SAMPLE_EXCHANGE_ORDER_ID;

function venueOrder(overrides: Partial<ExchangeOrder> = {}): ExchangeOrder {
  return {
    clientOrderId: ORDER_ID,
    exchangeOrderId: EXCHANGE_ORDER_ID,
    symbol: 'BTCUSDT',
    side: 'BUY',
    type: 'MARKET',
    status: 'FILLED',
    quantity: '0.01',
    executedQuantity: '0.01',
    avgPriceMicros: 25_000 * USD,
    reduceOnly: false,
    updateTime: 1_700_000_000_000,
    ...overrides,
  };
}

function fill(tradeId: string, quantity: string, overrides: Partial<ExchangeFill> = {}): ExchangeFill {
  return {
    tradeId,
    clientOrderId: ORDER_ID,
    exchangeOrderId: EXCHANGE_ORDER_ID,
    symbol: 'BTCUSDT',
    side: 'BUY',
    quantity,
    priceMicros: 25_000 * USD,
    feeMicros: 125_000,
    time: 1_700_000_000_000,
    ...overrides,
  };
}

describe('venueFactsFor', () => {
  it('reports only the venue id of an open order with no fills', () => {
    expect(venueFactsFor(ORDER_ID, venueOrder({ status: 'NEW', executedQuantity: '0' }), [])).toEqual([
      { orderId: ORDER_ID, exchangeOrderId: EXCHANGE_ORDER_ID },
    ]);
  });

  it('reports the venue id and the end of an order that ended with no fills', () => {
    expect(venueFactsFor(ORDER_ID, venueOrder({ status: 'CANCELED', executedQuantity: '0' }), [])).toEqual([
      { orderId: ORDER_ID, exchangeOrderId: EXCHANGE_ORDER_ID, terminal: { status: 'canceled', finalFilledAtoms: 0 } },
    ]);
  });

  it('makes a market order that filled at once one fact: id, fill and end together', () => {
    expect(venueFactsFor(ORDER_ID, venueOrder(), [fill('t-1', '0.01', { feeMicros: 125_000 })])).toEqual([
      {
        orderId: ORDER_ID,
        exchangeOrderId: EXCHANGE_ORDER_ID,
        fill: { tradeId: 't-1', quantityAtoms: 1_000_000, priceMicros: 25_000 * USD, feeMicros: 125_000, time: 1_700_000_000_000 },
        terminal: { status: 'filled', finalFilledAtoms: 1_000_000 },
      },
    ]);
  });

  it('makes one fact per fill, the venue id on the first and the end on the last', () => {
    const fills = [
      fill('t-1', '0.004', { priceMicros: 24_990 * USD, feeMicros: 49_980, time: 1_000 }),
      fill('t-2', '0.005', { priceMicros: 25_000 * USD, feeMicros: 62_500, time: 2_000 }),
      fill('t-3', '0.001', { priceMicros: 25_010 * USD, feeMicros: 12_505, time: 3_000 }),
    ];
    expect(venueFactsFor(ORDER_ID, venueOrder(), fills)).toEqual([
      {
        orderId: ORDER_ID,
        exchangeOrderId: EXCHANGE_ORDER_ID,
        fill: { tradeId: 't-1', quantityAtoms: 400_000, priceMicros: 24_990 * USD, feeMicros: 49_980, time: 1_000 },
      },
      { orderId: ORDER_ID, fill: { tradeId: 't-2', quantityAtoms: 500_000, priceMicros: 25_000 * USD, feeMicros: 62_500, time: 2_000 } },
      {
        orderId: ORDER_ID,
        fill: { tradeId: 't-3', quantityAtoms: 100_000, priceMicros: 25_010 * USD, feeMicros: 12_505, time: 3_000 },
        terminal: { status: 'filled', finalFilledAtoms: 1_000_000 },
      },
    ]);
  });

  it('puts no end on the facts of a partially filled order', () => {
    const facts = venueFactsFor(ORDER_ID, venueOrder({ status: 'PARTIALLY_FILLED', executedQuantity: '0.004' }), [fill('t-1', '0.004')]);
    expect(facts).toEqual([
      {
        orderId: ORDER_ID,
        exchangeOrderId: EXCHANGE_ORDER_ID,
        fill: { tradeId: 't-1', quantityAtoms: 400_000, priceMicros: 25_000 * USD, feeMicros: 125_000, time: 1_700_000_000_000 },
      },
    ]);
  });

  it('ignores fills of other orders', () => {
    const fills = [fill('t-other-1', '0.5', { clientOrderId: OTHER_ORDER_ID }), fill('t-1', '0.01'), fill('t-other-2', '0.25', { clientOrderId: OTHER_ORDER_ID })];
    expect(venueFactsFor(ORDER_ID, venueOrder(), fills)).toEqual([
      {
        orderId: ORDER_ID,
        exchangeOrderId: EXCHANGE_ORDER_ID,
        fill: { tradeId: 't-1', quantityAtoms: 1_000_000, priceMicros: 25_000 * USD, feeMicros: 125_000, time: 1_700_000_000_000 },
        terminal: { status: 'filled', finalFilledAtoms: 1_000_000 },
      },
    ]);
  });

  it('reports the id and end alone when every fill given belongs to another order', () => {
    expect(venueFactsFor(ORDER_ID, venueOrder({ status: 'EXPIRED', executedQuantity: '0' }), [fill('t-other', '0.5', { clientOrderId: OTHER_ORDER_ID })])).toEqual([
      { orderId: ORDER_ID, exchangeOrderId: EXCHANGE_ORDER_ID, terminal: { status: 'expired', finalFilledAtoms: 0 } },
    ]);
  });

  it('maps each venue status to its end: NEW and PARTIALLY_FILLED have none', () => {
    const endOf = (status: ExchangeOrderStatus, executedQuantity: string) => venueFactsFor(ORDER_ID, venueOrder({ status, executedQuantity }), [])[0]?.terminal;
    expect(endOf('NEW', '0')).toBeUndefined();
    expect(endOf('PARTIALLY_FILLED', '0.004')).toBeUndefined();
    expect(endOf('FILLED', '0.01')).toEqual({ status: 'filled', finalFilledAtoms: 1_000_000 });
    expect(endOf('CANCELED', '0.004')).toEqual({ status: 'canceled', finalFilledAtoms: 400_000 });
    expect(endOf('EXPIRED', '0.0045')).toEqual({ status: 'expired', finalFilledAtoms: 450_000 });
    expect(endOf('REJECTED', '0')).toEqual({ status: 'rejected', finalFilledAtoms: 0 });
  });
});

describe('describedOrderMismatch', () => {
  const order = { orderId: ORDER_ID, symbol: 'BTCUSDT', side: 'BUY' as const, quantityAtoms: 1_000_000 };
  it('finds nothing when the update describes the order', () => {
    expect(describedOrderMismatch(order, { symbol: 'BTCUSDT', side: 'BUY', quantityAtoms: 1_000_000 })).toBeUndefined();
  });
  it('names every field that differs', () => {
    expect(describedOrderMismatch(order, { symbol: 'ETHUSDT', side: 'SELL', quantityAtoms: 2_000_000 })).toBe(
      `an update for order ${ORDER_ID} describes another order: symbol ETHUSDT, not BTCUSDT; side SELL, not BUY; quantityAtoms 2000000, not 1000000`,
    );
  });
});

describe('factsFromOrderUpdate', () => {
  const update = (overrides: Record<string, unknown>) => OrderUpdate.parse(rawOrderUpdate(overrides));
  const FILL = SAMPLE_UPDATE_FILL;
  const EVENT_MS = Date.parse('2026-01-02T03:04:05.678Z');
  /** The order as the update describes it, for the ledger to check against its own. */
  const DESCRIBES = { symbol: 'BTCUSDT', side: 'BUY', quantityAtoms: 1_000_000 };

  it('reports only the venue id of an accepted order', () => {
    expect(factsFromOrderUpdate(update({}))).toEqual({ orderId: ORDER_ID, exchangeOrderId: EXCHANGE_ORDER_ID, describes: DESCRIBES });
  });

  it('reports a partial fill, timed at the event, with no end', () => {
    expect(factsFromOrderUpdate(update({ status: 'PARTIALLY_FILLED', cumulativeFilledQuantity: '0.004', fill: FILL }))).toEqual({
      orderId: ORDER_ID,
      exchangeOrderId: EXCHANGE_ORDER_ID,
      describes: DESCRIBES,
      fill: { tradeId: 't-1', quantityAtoms: 400_000, priceMicros: 67_012_300_000, feeMicros: 107_220, time: EVENT_MS },
    });
  });

  it('reports the last fill and the end together, the end counting every fill', () => {
    expect(factsFromOrderUpdate(update({ status: 'FILLED', cumulativeFilledQuantity: '0.01', fill: { ...FILL, tradeId: 't-2', quantity: '0.006' } }))).toEqual({
      orderId: ORDER_ID,
      exchangeOrderId: EXCHANGE_ORDER_ID,
      describes: DESCRIBES,
      fill: { tradeId: 't-2', quantityAtoms: 600_000, priceMicros: 67_012_300_000, feeMicros: 107_220, time: EVENT_MS },
      terminal: { status: 'filled', finalFilledAtoms: 1_000_000 },
    });
  });

  it('reports a cancel after a partial fill as an end with what was filled', () => {
    expect(factsFromOrderUpdate(update({ status: 'CANCELED', cumulativeFilledQuantity: '0.004' }))).toEqual({
      orderId: ORDER_ID,
      exchangeOrderId: EXCHANGE_ORDER_ID,
      describes: DESCRIBES,
      terminal: { status: 'canceled', finalFilledAtoms: 400_000 },
    });
  });

  it('carries the venue reason of a rejection, and of an expiry, into the end', () => {
    expect(factsFromOrderUpdate(update({ status: 'REJECTED', reason: 'Margin is insufficient.' }))).toEqual({
      orderId: ORDER_ID,
      exchangeOrderId: EXCHANGE_ORDER_ID,
      describes: DESCRIBES,
      terminal: { status: 'rejected', finalFilledAtoms: 0, reason: 'Margin is insufficient.' },
    });
    expect(factsFromOrderUpdate(update({ status: 'EXPIRED', cumulativeFilledQuantity: '0.004', fill: FILL, reason: 'IOC remainder expired' }))).toEqual({
      orderId: ORDER_ID,
      exchangeOrderId: EXCHANGE_ORDER_ID,
      describes: DESCRIBES,
      fill: { tradeId: 't-1', quantityAtoms: 400_000, priceMicros: 67_012_300_000, feeMicros: 107_220, time: EVENT_MS },
      terminal: { status: 'expired', finalFilledAtoms: 400_000, reason: 'IOC remainder expired' },
    });
  });

  it('reads the event time with its offset as the same instant', () => {
    const facts = factsFromOrderUpdate(update({ status: 'PARTIALLY_FILLED', cumulativeFilledQuantity: '0.004', fill: FILL, eventTime: '2026-01-02T04:04:05.678+01:00' }));
    expect(facts.fill?.time).toBe(EVENT_MS);
  });
});
