import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FLAT_POSITION,
  type FillFacts,
  applyFill,
  averageEntryMicros,
  foldFills,
  reservedShareMicros,
  terminalReleaseMicros,
  unrealizedPnlMicros,
} from '../../../shared/domain/positions.js';
import { quantityToAtoms } from '../../../shared/domain/quantity.js';
import { USD, ceilDiv } from '../../../shared/domain/money.js';
import { Side } from '../../../shared/domain/vocabulary.js';


function fill(overrides: Partial<FillFacts>): FillFacts {
  return {
    orderId: 'o1',
    tradeId: 't1',
    side: 'BUY',
    quantityAtoms: quantityToAtoms('0.01'),
    priceMicros: 20_000 * USD,
    feeMicros: 0,
    time: 1,
    orderQuantityAtoms: quantityToAtoms('0.01'),
    orderReservedMicros: 40 * USD,
    orderLeverage: 5,
    ...overrides,
  };
}

describe('applyFill', () => {
  it('opens: reserved margin becomes margin in use, the fee is charged', () => {
    const { position, effect } = applyFill(FLAT_POSITION, fill({ feeMicros: 100_000 }), 0);
    expect(position).toMatchObject({ quantityAtoms: 1_000_000, marginInUseMicros: 40 * USD, realizedPnlMicros: -100_000 });
    expect(averageEntryMicros(position)).toBe(20_000 * USD);
    expect(effect).toEqual({ reservedDeltaMicros: -40 * USD, inUseDeltaMicros: 40 * USD, realizedPnlDeltaMicros: -100_000, feesDeltaMicros: 100_000 });
  });

  it('closes: margin back to free, PnL realized against the entry, net of fees', () => {
    // Long 0.01 BTC at 20,000 (fee 0.10), closed at 21,000 (fee 0.105): PnL 10 − 0.205 = 9.795 USD.
    const opened = applyFill(FLAT_POSITION, fill({ feeMicros: 100_000 }), 0).position;
    const close = fill({ orderId: 'o2', tradeId: 't2', side: 'SELL', priceMicros: 21_000 * USD, feeMicros: 105_000, time: 2, orderReservedMicros: 0 });
    const { position, effect } = applyFill(opened, close, 0);
    expect(position).toMatchObject({ quantityAtoms: 0, costBasis: '0', marginInUseMicros: 0, realizedPnlMicros: 9_795_000, feesMicros: 205_000 });
    expect(effect).toEqual({ reservedDeltaMicros: 0, inUseDeltaMicros: -40 * USD, realizedPnlDeltaMicros: 9_895_000, feesDeltaMicros: 105_000 });
  });

  it('credits a maker rebate to realized PnL, never as a negative fee', () => {
    const opened = applyFill(FLAT_POSITION, fill({ rebateMicros: 20_000 }), 0);
    expect(opened.position).toMatchObject({ realizedPnlMicros: 20_000, feesMicros: 0 });
    expect(opened.effect).toMatchObject({ realizedPnlDeltaMicros: 20_000, feesDeltaMicros: 0 });
    const closed = applyFill(opened.position, fill({ orderId: 'o2', tradeId: 't2', side: 'SELL', priceMicros: 21_000 * USD, rebateMicros: 21_000, time: 2, orderReservedMicros: 0 }), 0);
    expect(closed.effect).toMatchObject({ realizedPnlDeltaMicros: 10 * USD + 21_000, feesDeltaMicros: 0 });
  });

  it('reduces a short in proportion and flips the rest', () => {
    // Short 0.02 at 20,000, 5×: 80 USD of margin.
    const short = applyFill(FLAT_POSITION, fill({ side: 'SELL', quantityAtoms: 2_000_000, orderQuantityAtoms: 2_000_000, orderReservedMicros: 80 * USD }), 0).position;
    // Buy 0.03 at 19,000, 19× (30 USD reserved): closes 0.02 (PnL +20 USD), opens 0.01 long on 190 / 19 = 10 USD.
    const { position, effect } = applyFill(
      short,
      fill({ orderId: 'o2', tradeId: 't2', quantityAtoms: 3_000_000, orderQuantityAtoms: 3_000_000, orderReservedMicros: 30 * USD, orderLeverage: 19, priceMicros: 19_000 * USD, time: 2 }),
      0,
    );
    expect(position).toMatchObject({ quantityAtoms: 1_000_000, marginInUseMicros: 10 * USD, realizedPnlMicros: 20 * USD });
    expect(averageEntryMicros(position)).toBe(19_000 * USD);
    // The whole reservation is consumed; what the flip did not put into use is free again.
    expect(effect.reservedDeltaMicros).toBe(-30 * USD);
    expect(effect.inUseDeltaMicros).toBe(10 * USD - 80 * USD);
  });

  it("puts into use the venue's margin of the fill: a cheaper fill frees the rest of its share, slippage is booked", () => {
    // Reserved 40 USD for 0.01 at 20,000, 5×; filled at 19,000: the venue takes 38 USD, 2 USD are free again.
    const cheaper = applyFill(FLAT_POSITION, fill({ priceMicros: 19_000 * USD }), 0);
    expect(cheaper.position.marginInUseMicros).toBe(38 * USD);
    expect(cheaper.effect).toMatchObject({ reservedDeltaMicros: -40 * USD, inUseDeltaMicros: 38 * USD });
    // Filled at 20,100: 40.2 USD at the venue, and in Sapphire's books.
    const slipped = applyFill(FLAT_POSITION, fill({ priceMicros: 20_100 * USD }), 0);
    expect(slipped.effect).toMatchObject({ reservedDeltaMicros: -40 * USD, inUseDeltaMicros: 40_200_000 });
    // Rounded up to the micro, as the initial margin the venue asks.
    expect(applyFill(FLAT_POSITION, fill({ quantityAtoms: 1, orderQuantityAtoms: 1, priceMicros: 20_000 * USD }), 0).position.marginInUseMicros).toBe(ceilDiv(200, 5));
  });

  it('values an open position at the mark', () => {
    const long = applyFill(FLAT_POSITION, fill({}), 0).position;
    expect(unrealizedPnlMicros(long, 19_500 * USD)).toBe(-5 * USD);
  });
});

describe('reserved shares', () => {
  it('telescope to floor(R·filled/Q), and the terminal release covers the rest', () => {
    const R = 100 * USD + 1;
    const Q = 7;
    const shares = [2, 2, 1].reduce<{ filled: number; total: number }>(
      (acc, q) => ({ filled: acc.filled + q, total: acc.total + reservedShareMicros(R, Q, acc.filled, q) }),
      { filled: 0, total: 0 },
    );
    expect(shares.total + terminalReleaseMicros(R, Q, 5)).toBe(R);
  });
});

describe('foldFills (property)', () => {
  const arbitraryFills = fc
    .array(
      fc.record({
        order: fc.integer({ min: 0, max: 3 }),
        side: fc.constantFrom(...Side.options),
        quantity: fc.integer({ min: 1, max: 5_000_000 }),
        price: fc.integer({ min: 1, max: 100_000 }).map((p) => p * USD),
        fee: fc.integer({ min: 0, max: 50_000 }),
      }),
      { minLength: 1, maxLength: 25 },
    )
    .map((raw) => {
      // Orders have one side and a quantity equal to the sum of their fills.
      const orders = new Map<number, { side: Side; total: number }>();
      for (const r of raw) {
        const o = orders.get(r.order) ?? { side: r.side, total: 0 };
        o.total += r.quantity;
        orders.set(r.order, o);
      }
      return raw.map((r, i): FillFacts => {
        const o = orders.get(r.order) as { side: Side; total: number };
        return {
          orderId: `o${r.order}`,
          tradeId: `t${i}`,
          side: o.side,
          quantityAtoms: r.quantity,
          priceMicros: r.price,
          feeMicros: r.fee,
          time: i,
          orderQuantityAtoms: o.total,
          orderReservedMicros: 50 * USD + r.order,
          orderLeverage: 1 + (r.order % 20),
        };
      });
    });

  it('any arrival order of the same fills folds to one state, equal to applying them in order', () => {
    fc.assert(
      fc.property(arbitraryFills, fc.func(fc.integer()), (fills, rank) => {
        const shuffled = [...fills].sort((a, b) => rank(a.tradeId) - rank(b.tradeId));
        const folded = foldFills(shuffled);
        expect(folded).toEqual(foldFills(fills));
        // Incremental application in time order gives the same position.
        let position = FLAT_POSITION;
        const filled = new Map<string, number>();
        for (const f of fills) {
          position = applyFill(position, f, filled.get(f.orderId) ?? 0).position;
          filled.set(f.orderId, (filled.get(f.orderId) ?? 0) + f.quantityAtoms);
        }
        expect(position).toEqual(folded.position);
        // Margin in use equals the effect's, and never goes negative.
        expect(folded.position.marginInUseMicros).toBe(folded.effect.inUseDeltaMicros);
        expect(folded.position.marginInUseMicros).toBeGreaterThanOrEqual(0);
        // Fully filled orders consumed exactly their reservation.
        const reservedTotal = [...new Set(fills.map((f) => f.orderId))].reduce((s, id) => s + (fills.find((f) => f.orderId === id)?.orderReservedMicros ?? 0), 0);
        expect(-folded.effect.reservedDeltaMicros).toBe(reservedTotal);
      }),
      { numRuns: 300 },
    );
  });
});
