import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bankruptcyPriceMicros, isLiquidated, liquidationPriceMicros, maintenanceRatePpm } from '../../../shared/domain/liquidation.js';
import { USD } from '../../../shared/domain/money.js';
import { FLAT_POSITION, applyFill } from '../../../shared/domain/positions.js';

/** 0.05 BTC long at 20,000, 20×: 1,000 USD notional, 50 USD isolated margin. */
const long = { quantityAtoms: 5_000_000, costBasis: String(5_000_000 * 20_000 * USD), marginInUseMicros: 50 * USD };
const short = { ...long, quantityAtoms: -5_000_000 };

describe('isolated liquidation', () => {
  it('uses the maintenance rate of the notional tier', () => {
    expect(maintenanceRatePpm(1_000 * USD)).toBe(4_000);
    expect(maintenanceRatePpm(100_000 * USD)).toBe(5_000);
  });

  it('liquidates a 20× long about 4.6% under its entry, and a short as far above', () => {
    // (1,000 − 50) / (0.05 × 0.996) = 19,076.305…; a long's is rounded up.
    expect(liquidationPriceMicros(long)).toBe(19_076_305_221);
    // (1,000 + 50) / (0.05 × 1.004) = 20,916.334…; a short's is rounded down.
    expect(liquidationPriceMicros(short)).toBe(20_916_334_661);
    expect(isLiquidated(long, 19_076_305_221)).toBe(true);
    expect(isLiquidated(long, 19_076_305_222)).toBe(false);
    expect(isLiquidated(short, 20_916_334_661)).toBe(true);
  });

  it('closes at the price where the loss is exactly the margin', () => {
    expect(bankruptcyPriceMicros(long)).toBe(19_000 * USD);
    expect(bankruptcyPriceMicros(short)).toBe(21_000 * USD);
  });

  it('loses exactly the margin for any position under one unit, and never more, at any leverage', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 99_999_999 }), fc.integer({ min: 1_000, max: 100_000 }), fc.integer({ min: 1, max: 125 }), fc.boolean(), (atoms, priceUsd, leverage, isLong) => {
        const entry = applyFill(FLAT_POSITION, { orderId: 'o', tradeId: 't', side: isLong ? 'BUY' : 'SELL', quantityAtoms: atoms, priceMicros: priceUsd * USD, feeMicros: 0, time: 0, orderQuantityAtoms: atoms, orderReservedMicros: Math.ceil((atoms * priceUsd) / 100 / leverage), orderLeverage: leverage }, 0).position;
        if (entry.marginInUseMicros === 0) return;
        const exit = applyFill(entry, { orderId: 'x', tradeId: 'x', side: isLong ? 'SELL' : 'BUY', quantityAtoms: atoms, priceMicros: bankruptcyPriceMicros(entry), feeMicros: 0, time: 1, orderQuantityAtoms: atoms, orderReservedMicros: 0, orderLeverage: 1 }, 0);
        const loss = -exit.position.realizedPnlMicros;
        // A margin below the notional is lost exactly; at 1× (margin = notional) the price cannot fall below zero.
        if (entry.marginInUseMicros * 100_000_000 < Number(entry.costBasis)) expect(loss).toBe(entry.marginInUseMicros);
        else expect(loss).toBeLessThanOrEqual(entry.marginInUseMicros);
      }),
      { numRuns: 2_000 },
    );
  });
});
