import { describe, expect, it } from 'vitest';
import { liquidationPriceMicros } from '../../../shared/domain/liquidation.js';
import { USD } from '../../../shared/domain/money.js';
import { FLAT_POSITION, type PositionState } from '../../../shared/domain/positions.js';
import { PROTECTIVE_STOP_ID, protectiveStopId, stopChanges, wantedStop } from '../../../shared/domain/protective-stop.js';

const TICK = 100_000;
/** 0.1 BTC at 20,000 (2,000 USD) on `margin` USD of isolated margin. */
const position = (side: 1 | -1, marginUsd: number): PositionState => ({
  ...FLAT_POSITION,
  quantityAtoms: side * 10_000_000,
  costBasis: String(10_000_000 * 20_000 * USD),
  marginInUseMicros: marginUsd * USD,
  lastFillKey: 'k1',
  fillCount: 1,
});

describe('wantedStop', () => {
  it("rests where the position's loss reaches the budget, when that comes before liquidation", () => {
    // 1×: 2,000 USD of margin; a 400 USD loss on 0.1 BTC is 4,000 USD away from the entry.
    expect(wantedStop('a', 'BTCUSDT', position(1, 2_000), 400 * USD, TICK)).toMatchObject({ side: 'SELL', triggerMicros: 16_000 * USD });
    expect(wantedStop('a', 'BTCUSDT', position(-1, 2_000), 400 * USD, TICK)).toMatchObject({ side: 'BUY', triggerMicros: 24_000 * USD });
  });

  it('rests one tick before the liquidation price when that comes first', () => {
    // 10×: 200 USD of margin; the venue would liquidate about 9.6% away, before a 400 USD loss.
    const long = position(1, 200);
    const liquidation = liquidationPriceMicros(long) as number;
    expect(wantedStop('a', 'BTCUSDT', long, 400 * USD, TICK)?.triggerMicros).toBe(Math.ceil(liquidation / TICK) * TICK + TICK);
    const short = position(-1, 200);
    expect(wantedStop('a', 'BTCUSDT', short, 400 * USD, TICK)?.triggerMicros).toBe(Math.floor((liquidationPriceMicros(short) as number) / TICK) * TICK - TICK);
  });

  it('names each position state apart, and wants nothing when flat', () => {
    const id = wantedStop('a', 'BTCUSDT', position(1, 2_000), 400 * USD, TICK)?.clientAlgoId as string;
    expect(id).toMatch(PROTECTIVE_STOP_ID);
    expect(id.length).toBeLessThanOrEqual(36);
    expect(protectiveStopId('a', 'BTCUSDT', 'k2')).not.toBe(id);
    expect(wantedStop('a', 'BTCUSDT', FLAT_POSITION, 400 * USD, TICK)).toBeUndefined();
  });
});

describe('stopChanges', () => {
  const stop = (clientAlgoId: string) => ({ clientAlgoId, symbol: 'BTCUSDT', side: 'SELL' as const, triggerMicros: 19_000 * USD });

  it('places the wanted stop, cancels every other, and does nothing when it is there alone', () => {
    expect(stopChanges(stop('new'), [])).toEqual({ place: stop('new'), cancel: [] });
    expect(stopChanges(stop('new'), [stop('old')])).toEqual({ place: stop('new'), cancel: ['old'] });
    expect(stopChanges(stop('new'), [stop('new'), stop('old')])).toEqual({ cancel: ['old'] });
    expect(stopChanges(stop('new'), [stop('new')])).toEqual({ cancel: [] });
    expect(stopChanges(undefined, [stop('old')])).toEqual({ cancel: ['old'] });
  });
});
