import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SymbolFilters } from '../../../shared/domain/exchange.js';
import { OrderRequest, type SignalSize } from '../../../shared/domain/messages.js';
import { USD, notionalMicros } from '../../../shared/domain/money.js';
import { fitToVenueLeverage, planOrderQuantity } from '../../../shared/domain/order-plan.js';
import { ATOMS_PER_UNIT, atomsToQuantity, notionalOfAtoms } from '../../../shared/domain/quantity.js';
import type { Side } from '../../../shared/domain/vocabulary.js';

/** BTCUSDT as the venue (and the replay stand-in) files it: tick 0.10, step and min qty 0.001, min notional 100 USD. */
const BTC_FILTERS: SymbolFilters = {
  symbol: 'BTCUSDT',
  tickSizeMicros: 100_000,
  stepSizeAtoms: 100_000,
  minQtyAtoms: 100_000,
  minNotionalMicros: 100 * USD,
};
const PRICE = 25_000 * USD;

/** A valid OrderRequest, made by the message schema, sized by `size`. */
function orderRequest(size: SignalSize, options: { reduceOnly?: boolean; side?: Side; leverage?: number } = {}): OrderRequest {
  const leverage = options.leverage ?? 5;
  const notional = size.type === 'notional' ? size.notionalMicros : notionalMicros(size.quantity, size.priceMicros);
  return OrderRequest.parse({
    orderId: 'sph-0123456789abcdef0123456789abcdef',
    signalId: 'sig-order-plan',
    agentId: 'deepseek-v3',
    symbol: 'BTCUSDT',
    side: options.side ?? 'BUY',
    type: 'MARKET',
    size,
    leverage,
    reduceOnly: options.reduceOnly ?? false,
    notionalMicros: notional,
    marginMicros: Math.ceil(notional / leverage),
    createdAt: '2026-01-02T03:04:05.000Z',
    expiresAt: '2026-01-02T03:09:05.000Z',
  });
}

const byNotional = (notional: number, options?: Parameters<typeof orderRequest>[1]) =>
  orderRequest({ type: 'notional', notionalMicros: notional }, options);
const byQuantity = (quantity: string, options?: Parameters<typeof orderRequest>[1]) =>
  orderRequest({ type: 'quantity', quantity, priceMicros: PRICE }, options);

describe('planOrderQuantity', () => {
  it('sizes a notional request as notional / price when that lands on the step grid', () => {
    expect(planOrderQuantity(byNotional(500 * USD), BTC_FILTERS, PRICE)).toEqual({ ok: true, quantityAtoms: 2_000_000 });
  });

  it('rounds a notional request down to the step, so its notional stays within the request', () => {
    // 500 USD / 23,142.31 USD = 0.02160544… BTC: 0.021 on the 0.001 grid, 485.98851 USD.
    const plan = planOrderQuantity(byNotional(500 * USD), BTC_FILTERS, 23_142_310_000);
    expect(plan).toEqual({ ok: true, quantityAtoms: 2_100_000 });
    expect(notionalOfAtoms(2_100_000, 23_142_310_000)).toBe(485_988_510);
  });

  it('takes a quantity request as asked when it is on the step grid at or below the price it was reserved at', () => {
    expect(planOrderQuantity(byQuantity('0.015'), BTC_FILTERS, PRICE)).toEqual({ ok: true, quantityAtoms: 1_500_000 });
    expect(planOrderQuantity(byQuantity('0.015'), BTC_FILTERS, 20_000 * USD)).toEqual({ ok: true, quantityAtoms: 1_500_000 });
  });

  it('cuts an opening quantity to what its reserved notional buys at a higher price, never more venue margin than reserved', () => {
    // Reserved at 25,000: 375 USD of notional; at 30,000 that buys 0.0125, floored to 0.012.
    expect(planOrderQuantity(byQuantity('0.015'), BTC_FILTERS, 30_000 * USD)).toEqual({ ok: true, quantityAtoms: 1_200_000 });
    // A close is never cut.
    expect(planOrderQuantity(byQuantity('0.015', { reduceOnly: true, side: 'SELL' }), BTC_FILTERS, 30_000 * USD)).toEqual({ ok: true, quantityAtoms: 1_500_000 });
  });

  it('refuses (price_moved) a quantity its caller priced far below the market: 0.5 BTC "at 20 USD" buys nothing at 25,000', () => {
    const falsePrice = orderRequest({ type: 'quantity', quantity: '0.5', priceMicros: 20 * USD });
    expect(planOrderQuantity(falsePrice, BTC_FILTERS, PRICE)).toMatchObject({ ok: false, reason: 'price_moved' });
  });

  it('rounds a quantity request down to the step', () => {
    expect(planOrderQuantity(byQuantity('0.0159'), BTC_FILTERS, PRICE)).toEqual({ ok: true, quantityAtoms: 1_500_000 });
    expect(planOrderQuantity(byQuantity('1.23456789'), BTC_FILTERS, PRICE)).toEqual({ ok: true, quantityAtoms: 123_400_000 });
  });

  it('rounds down, rather than throws on, a valid quantity finer than the 8 decimals of an atom', () => {
    // The message schema accepts any decimal quantity (its notional bound is all it checks), so
    // the router receives such requests; planning must round them down to the step like any other.
    const request = byQuantity('0.0150000001');
    expect(request.size).toEqual({ type: 'quantity', quantity: '0.0150000001', priceMicros: PRICE });
    expect(planOrderQuantity(request, BTC_FILTERS, PRICE)).toEqual({ ok: true, quantityAtoms: 1_500_000 });
  });

  it('refuses a quantity that rounds below the minimum quantity', () => {
    expect(planOrderQuantity(byQuantity('0.0009'), BTC_FILTERS, PRICE)).toEqual({
      ok: false,
      reason: 'invalid_quantity',
      detail: 'quantity 0 is below the minimum 0.001 for BTCUSDT',
    });
    // 20 USD at 25,000 USD is 0.0008 BTC: not one step.
    expect(planOrderQuantity(byNotional(20 * USD), BTC_FILTERS, PRICE)).toEqual({
      ok: false,
      reason: 'invalid_quantity',
      detail: 'quantity 0 is below the minimum 0.001 for BTCUSDT',
    });
  });

  it('refuses a quantity on the step grid but below a minimum quantity larger than the step', () => {
    const filters = { ...BTC_FILTERS, minQtyAtoms: 1_000_000 }; // min 0.01
    expect(planOrderQuantity(byQuantity('0.009'), filters, PRICE)).toEqual({
      ok: false,
      reason: 'invalid_quantity',
      detail: 'quantity 0.009 is below the minimum 0.01 for BTCUSDT',
    });
    expect(planOrderQuantity(byQuantity('0.01'), filters, PRICE)).toEqual({ ok: true, quantityAtoms: 1_000_000 });
  });

  it('refuses a zero quantity even where the venue files no minimum quantity', () => {
    const filters = { ...BTC_FILTERS, minQtyAtoms: 0, minNotionalMicros: 0 };
    expect(planOrderQuantity(byQuantity('0.0001'), filters, PRICE)).toEqual({
      ok: false,
      reason: 'invalid_quantity',
      detail: 'quantity 0 is below the minimum 0 for BTCUSDT',
    });
  });

  it('refuses a notional below the minimum notional at the plan price', () => {
    // 0.003 BTC at 25,000 USD = 75 USD < 100 USD.
    expect(planOrderQuantity(byQuantity('0.003'), BTC_FILTERS, PRICE)).toEqual({
      ok: false,
      reason: 'min_notional',
      detail: 'notional 75.000000 USD is below the minimum 100.000000 USD for BTCUSDT',
    });
    // 99.99 USD asked by notional: 0.003 BTC after rounding, 75 USD.
    expect(planOrderQuantity(byNotional(99_990_000), BTC_FILTERS, PRICE)).toMatchObject({ ok: false, reason: 'min_notional' });
  });

  it('accepts a notional exactly at the minimum notional', () => {
    expect(planOrderQuantity(byQuantity('0.004'), BTC_FILTERS, PRICE)).toEqual({ ok: true, quantityAtoms: 400_000 });
  });

  it('waives the minimum notional for a reduce-only order, as venues do', () => {
    expect(planOrderQuantity(byQuantity('0.003', { reduceOnly: true, side: 'SELL' }), BTC_FILTERS, PRICE)).toEqual({ ok: true, quantityAtoms: 300_000 });
    expect(planOrderQuantity(byNotional(30 * USD, { reduceOnly: true }), BTC_FILTERS, PRICE)).toEqual({ ok: true, quantityAtoms: 100_000 });
  });

  it('does not waive the minimum quantity for a reduce-only order', () => {
    expect(planOrderQuantity(byQuantity('0.0009', { reduceOnly: true, side: 'SELL' }), BTC_FILTERS, PRICE)).toEqual({
      ok: false,
      reason: 'invalid_quantity',
      detail: 'quantity 0 is below the minimum 0.001 for BTCUSDT',
    });
  });

  it('plans a notional request as the largest quantity on the step grid whose notional at the plan price is within the request', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 * USD }), // requested notional
        fc.integer({ min: 1 * USD, max: 200_000 * USD }), // plan price
        fc.constantFrom(1, 1_000, 100_000, 1_000_000, 100_000_000), // step: 1e-8 .. 1 unit
        fc.boolean(),
        (notional, price, step, reduceOnly) => {
          const filters: SymbolFilters = { symbol: 'BTCUSDT', tickSizeMicros: 1, stepSizeAtoms: step, minQtyAtoms: step, minNotionalMicros: 0 };
          const plan = planOrderQuantity(byNotional(notional, { reduceOnly }), filters, price);
          // The largest q on the grid with q × price ≤ notional × 1e8, by exact arithmetic.
          const largest = Number(((BigInt(notional) * BigInt(ATOMS_PER_UNIT)) / BigInt(price) / BigInt(step)) * BigInt(step));
          if (largest < step) {
            expect(plan).toMatchObject({ ok: false, reason: 'invalid_quantity' });
            return;
          }
          expect(plan).toEqual({ ok: true, quantityAtoms: largest });
          if (!plan.ok) return;
          expect(plan.quantityAtoms % step).toBe(0);
          expect(BigInt(plan.quantityAtoms) * BigInt(price) <= BigInt(notional) * BigInt(ATOMS_PER_UNIT)).toBe(true);
          expect(notionalOfAtoms(plan.quantityAtoms, price)).toBeLessThanOrEqual(notional);
          // One more step would exceed the request.
          expect(BigInt(plan.quantityAtoms + step) * BigInt(price) > BigInt(notional) * BigInt(ATOMS_PER_UNIT)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never plans a quantity request above what was asked, and always on the step grid', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 * ATOMS_PER_UNIT }),
        fc.constantFrom(1, 1_000, 100_000, 1_000_000),
        (askedAtoms, step) => {
          const quantity = atomsToQuantity(askedAtoms);
          const filters: SymbolFilters = { symbol: 'BTCUSDT', tickSizeMicros: 1, stepSizeAtoms: step, minQtyAtoms: step, minNotionalMicros: 0 };
          const plan = planOrderQuantity(orderRequest({ type: 'quantity', quantity, priceMicros: 1 * USD }), filters, 1 * USD);
          const expected = askedAtoms - (askedAtoms % step);
          expect(plan).toEqual(expected >= step ? { ok: true, quantityAtoms: expected } : expect.objectContaining({ ok: false, reason: 'invalid_quantity' }));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('planOrderQuantity for a close, sized by the venue position', () => {
  const close = (quantity: string, side: Side) => orderRequest({ type: 'quantity', quantity, priceMicros: PRICE }, { reduceOnly: true, side });

  it('closes at most what the venue holds, whatever was asked', () => {
    expect(planOrderQuantity(close('0.02', 'SELL'), BTC_FILTERS, PRICE, 1_500_000)).toEqual({ ok: true, quantityAtoms: 1_500_000 });
    expect(planOrderQuantity(close('0.05', 'BUY'), BTC_FILTERS, PRICE, -1_000_000)).toEqual({ ok: true, quantityAtoms: 1_000_000 });
    // Asked less than is held: what was asked.
    expect(planOrderQuantity(close('0.01', 'SELL'), BTC_FILTERS, PRICE, 4_500_000)).toEqual({ ok: true, quantityAtoms: 1_000_000 });
  });

  it('refuses a close with nothing of its side to reduce at the venue', () => {
    for (const held of [0, -1_000_000]) expect(planOrderQuantity(close('0.01', 'SELL'), BTC_FILTERS, PRICE, held)).toMatchObject({ ok: false, reason: 'nothing_to_close' });
    expect(planOrderQuantity(close('0.01', 'BUY'), BTC_FILTERS, PRICE, 1_000_000)).toMatchObject({ ok: false, reason: 'nothing_to_close' });
  });

  it('never sizes an opening order by the venue position', () => {
    const open = orderRequest({ type: 'quantity', quantity: '0.01', priceMicros: PRICE });
    expect(planOrderQuantity(open, BTC_FILTERS, PRICE, 0)).toEqual({ ok: true, quantityAtoms: 1_000_000 });
  });
});

describe('fitToVenueLeverage', () => {
  // 0.02 BTC at 25,000, 5×: 500 USD notional, 100 USD reserved.
  const open = orderRequest({ type: 'quantity', quantity: '0.02', priceMicros: PRICE }, { leverage: 5 });

  it("keeps the order's own leverage when the account is flat, or the venue has none or the same", () => {
    for (const setup of [{ quantityAtoms: 0, leverage: 20 }, { quantityAtoms: 1_000_000 }, { quantityAtoms: 1_000_000, leverage: 5 }]) {
      expect(fitToVenueLeverage(open, 2_000_000, setup, BTC_FILTERS, PRICE)).toEqual({ ok: true, leverage: 5, quantityAtoms: 2_000_000 });
    }
  });

  it("takes a higher venue leverage under a position as planned: less margin than reserved", () => {
    expect(fitToVenueLeverage(open, 2_000_000, { quantityAtoms: -1_000_000, leverage: 10 }, BTC_FILTERS, PRICE)).toEqual({ ok: true, leverage: 10, quantityAtoms: 2_000_000 });
  });

  it('cuts to what the reserved margin carries at a lower venue leverage, or refuses below the minimum', () => {
    // 100 USD at 2× carries 200 USD: 0.008 BTC.
    expect(fitToVenueLeverage(open, 2_000_000, { quantityAtoms: 1_000_000, leverage: 2 }, BTC_FILTERS, PRICE)).toEqual({ ok: true, leverage: 2, quantityAtoms: 800_000 });
    // At 1×: 100 USD carries 0.004 BTC, exactly the 100 USD minimum notional; a 0.01 order reserving 50 USD does not.
    expect(fitToVenueLeverage(open, 2_000_000, { quantityAtoms: 1_000_000, leverage: 1 }, BTC_FILTERS, PRICE)).toEqual({ ok: true, leverage: 1, quantityAtoms: 400_000 });
    const small = orderRequest({ type: 'quantity', quantity: '0.01', priceMicros: PRICE }, { leverage: 5 });
    expect(fitToVenueLeverage(small, 1_000_000, { quantityAtoms: 1_000_000, leverage: 1 }, BTC_FILTERS, PRICE)).toMatchObject({ ok: false, reason: 'leverage_mismatch' });
  });

  it('never puts more venue margin than reserved (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 125 }), fc.integer({ min: 1, max: 125 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 10_000, max: 60_000 }), (orderLeverage, venueLeverage, hundredths, priceUsd) => {
        const price = priceUsd * USD;
        const request = orderRequest({ type: 'quantity', quantity: (hundredths / 100).toFixed(2), priceMicros: price }, { leverage: orderLeverage });
        const fit = fitToVenueLeverage(request, hundredths * 1_000_000, { quantityAtoms: 1, leverage: venueLeverage }, BTC_FILTERS, price);
        if (fit.ok) expect(Math.ceil(notionalOfAtoms(fit.quantityAtoms, price) / fit.leverage)).toBeLessThanOrEqual(request.marginMicros);
      }),
      { numRuns: 2_000 },
    );
  });
});
