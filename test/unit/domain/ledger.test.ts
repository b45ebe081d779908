import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_LEDGER,
  type LedgerEvent,
  LedgerError,
  type MarginLedgerState,
  applyLedgerEvent,
  applyLedgerEvents,
  committedMicros,
} from '../../../shared/domain/ledger.js';
import { USD } from '../../../shared/domain/money.js';

const ALLOCATION = 1_000 * USD;
const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'] as const;

const symbol = fc.constantFrom(...SYMBOLS);
const micros = fc.integer({ min: 0, max: 400 * USD });
const signedMicros = fc.integer({ min: -50 * USD, max: 50 * USD });

/** Any event, valid or not for the ledger it meets: the ledger must refuse the bad ones. */
const anyEvent: fc.Arbitrary<LedgerEvent> = fc.oneof(
  fc.record({ kind: fc.constant('reserve' as const), symbol, marginMicros: micros, allocationMicros: fc.constant(ALLOCATION) }),
  fc.record({ kind: fc.constant('reject' as const), reason: fc.constantFrom('agent_margin_exceeded' as const, 'trading_halted' as const) }),
  fc.record({ kind: fc.constant('release' as const), symbol, marginMicros: micros }),
  fc.record({ kind: fc.constant('claim' as const), marginMicros: micros }),
  fc.record({
    kind: fc.constant('fill' as const),
    symbol,
    effect: fc.record({
      reservedDeltaMicros: fc.integer({ min: -200 * USD, max: 0 }),
      inUseDeltaMicros: signedMicros,
      realizedPnlDeltaMicros: signedMicros,
      feesDeltaMicros: fc.integer({ min: 0, max: USD }),
    }),
    positionOpen: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('close' as const), symbol, releasedMicros: micros, heldSymbol: fc.boolean() }),
  fc.record({ kind: fc.constant('adopt' as const), marginMicros: fc.integer({ min: -USD, max: 400 * USD }) }),
  fc.record({ kind: fc.constant('fee' as const), feeMicros: fc.integer({ min: 0, max: USD }) }),
  fc.record({ kind: fc.constant('funding' as const), amountMicros: signedMicros }),
);

function holdsInvariants(ledger: MarginLedgerState): void {
  for (const value of [ledger.reservedMicros, ledger.inUseMicros, ledger.feesMicros]) {
    expect(Number.isSafeInteger(value) && value >= 0).toBe(true);
    expect(Object.is(value, -0)).toBe(false);
  }
  expect(Number.isSafeInteger(ledger.realizedPnlMicros)).toBe(true);
  for (const count of Object.values(ledger.openSymbols)) expect(Number.isInteger(count) && count > 0).toBe(true);
}

describe('applyLedgerEvent: the one function that changes a ledger', () => {
  it('any sequence of events leaves no amount negative; an event it cannot take is refused and changes nothing', () => {
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 60 }), (events) => {
        let ledger = EMPTY_LEDGER;
        for (const event of events) {
          const before = ledger;
          try {
            ledger = applyLedgerEvent(ledger, event);
          } catch (error) {
            expect(error).toBeInstanceOf(LedgerError);
            expect(ledger).toBe(before);
          }
          holdsInvariants(ledger);
        }
      }),
    );
  });

  it('a reservation never commits more than the allocation', () => {
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 60 }), (events) => {
        let ledger = EMPTY_LEDGER;
        for (const event of events) {
          try {
            ledger = applyLedgerEvent(ledger, event);
            if (event.kind === 'reserve') expect(committedMicros(ledger)).toBeLessThanOrEqual(ALLOCATION);
          } catch {
            // refused: nothing changed
          }
        }
      }),
    );
  });

  it('reserve then release of the same margin restores the ledger exactly; a claim moves nothing', () => {
    fc.assert(
      fc.property(symbol, fc.integer({ min: 1, max: ALLOCATION }), (s, margin) => {
        const reserved = applyLedgerEvent(EMPTY_LEDGER, { kind: 'reserve', symbol: s, marginMicros: margin, allocationMicros: ALLOCATION });
        expect(reserved).toMatchObject({ reservedMicros: margin, openSymbols: { [s]: 1 } });
        expect(applyLedgerEvent(reserved, { kind: 'claim', marginMicros: margin })).toBe(reserved);
        expect(applyLedgerEvent(reserved, { kind: 'release', symbol: s, marginMicros: margin })).toEqual(EMPTY_LEDGER);
      }),
    );
  });

  it('an opening fill moves margin from reserved to in use; the order’s end returns the rest; committed never grows', () => {
    const reserved = applyLedgerEvent(EMPTY_LEDGER, { kind: 'reserve', symbol: 'BTCUSDT', marginMicros: 100 * USD, allocationMicros: ALLOCATION });
    const filled = applyLedgerEvent(reserved, {
      kind: 'fill',
      symbol: 'BTCUSDT',
      effect: { reservedDeltaMicros: -60 * USD, inUseDeltaMicros: 60 * USD, realizedPnlDeltaMicros: -30_000, feesDeltaMicros: 30_000 },
      positionOpen: true,
    });
    expect(filled).toMatchObject({ reservedMicros: 40 * USD, inUseMicros: 60 * USD, feesMicros: 30_000, realizedPnlMicros: -30_000, positionSymbols: { BTCUSDT: true } });
    expect(committedMicros(filled)).toBe(committedMicros(reserved));
    const ended = applyLedgerEvent(filled, { kind: 'close', symbol: 'BTCUSDT', releasedMicros: 40 * USD, heldSymbol: true });
    expect(ended).toMatchObject({ reservedMicros: 0, inUseMicros: 60 * USD, openSymbols: {}, positionSymbols: { BTCUSDT: true } });
  });

  it('an execution the venue made after the order ended holds its margin again, past the allocation if it must, and its fill consumes it', () => {
    const reserved = applyLedgerEvent(EMPTY_LEDGER, { kind: 'reserve', symbol: 'BTCUSDT', marginMicros: 900 * USD, allocationMicros: ALLOCATION });
    const ended = applyLedgerEvent(reserved, { kind: 'close', symbol: 'BTCUSDT', releasedMicros: 900 * USD, heldSymbol: true });
    const other = applyLedgerEvent(ended, { kind: 'reserve', symbol: 'ETHUSDT', marginMicros: 500 * USD, allocationMicros: ALLOCATION });
    const adopted = applyLedgerEvent(other, { kind: 'adopt', marginMicros: 900 * USD });
    const filled = applyLedgerEvent(adopted, {
      kind: 'fill',
      symbol: 'BTCUSDT',
      effect: { reservedDeltaMicros: -900 * USD, inUseDeltaMicros: 900 * USD, realizedPnlDeltaMicros: -450_000, feesDeltaMicros: 450_000 },
      positionOpen: true,
    });
    // The other order's reservation is untouched: the late fill took its own margin, not 500 USD of someone else's.
    expect(filled).toMatchObject({ reservedMicros: 500 * USD, inUseMicros: 900 * USD, openSymbols: { ETHUSDT: 1 }, positionSymbols: { BTCUSDT: true } });
    expect(() => applyLedgerEvent(other, { kind: 'adopt', marginMicros: -1 })).toThrow(LedgerError);
  });

  it('fills, fees and funding commute: any order of the same events gives the same ledger', () => {
    const moneyEvent = anyEvent.filter((e) => e.kind === 'fee' || e.kind === 'funding');
    fc.assert(
      fc.property(fc.array(moneyEvent, { maxLength: 30 }), (events) => {
        const forward = applyLedgerEvents(EMPTY_LEDGER, events);
        const backward = applyLedgerEvents(EMPTY_LEDGER, [...events].reverse());
        expect(backward).toEqual(forward);
        const fees = events.reduce((sum, e) => sum + (e.kind === 'fee' ? e.feeMicros : 0), 0);
        const funding = events.reduce((sum, e) => sum + (e.kind === 'funding' ? e.amountMicros : 0), 0);
        expect(forward).toMatchObject({ feesMicros: fees, fundingMicros: funding, realizedPnlMicros: funding - fees });
      }),
    );
  });

  it('refuses what would corrupt the ledger', () => {
    const reserved = applyLedgerEvent(EMPTY_LEDGER, { kind: 'reserve', symbol: 'BTCUSDT', marginMicros: 10 * USD, allocationMicros: ALLOCATION });
    expect(() => applyLedgerEvent(reserved, { kind: 'release', symbol: 'BTCUSDT', marginMicros: 11 * USD })).toThrow(LedgerError);
    expect(() => applyLedgerEvent(reserved, { kind: 'reserve', symbol: 'ETHUSDT', marginMicros: ALLOCATION, allocationMicros: ALLOCATION })).toThrow(LedgerError);
    expect(() => applyLedgerEvent(reserved, { kind: 'close', symbol: 'BTCUSDT', releasedMicros: -1, heldSymbol: true })).toThrow(LedgerError);
    expect(() => applyLedgerEvent(reserved, { kind: 'fee', feeMicros: 0.5 })).toThrow(LedgerError);
    expect(() => applyLedgerEvent(reserved, { kind: 'funding', amountMicros: Number.MAX_SAFE_INTEGER + 2 })).toThrow(LedgerError);
  });
});
