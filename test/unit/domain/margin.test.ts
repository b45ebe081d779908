import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_AGENTS, type AgentProfile } from '../../../shared/domain/agents.js';
import { EMPTY_LEDGER, type MarginLedgerState, committedMicros } from '../../../shared/domain/ledger.js';
import {
  type ReservationContext,
  type ReservationRecord,
  decideSignal,
  decideReservation,
  releaseReservation,
} from '../../../shared/domain/margin.js';
import { TradeSignal, orderIdForSignal, signalTermsDigest } from '../../../shared/domain/messages.js';
import { makeSignal } from '../../support/signals.js';
import { USD } from '../../../shared/domain/money.js';

const agent = DEFAULT_AGENTS[0] as AgentProfile; // deepseek-v3: 1,000 USD, leverage ≤ 10, 10..5,000 USD notional
const context = (overrides: Partial<ReservationContext> = {}): ReservationContext => ({
  agent,
  halted: false,
  maxSymbolsPerAgent: 50,
  now: new Date(),
  ...overrides,
});

/**
 * A batch decided as group commit decides it: in arrival order against one running ledger, a
 * signalId seen twice decided once.
 */
function decideBatch(ledger: MarginLedgerState, signals: readonly TradeSignal[], ctx: ReservationContext) {
  let current = ledger;
  const records = new Map<string, ReservationRecord>();
  for (const signal of signals) {
    if (records.has(signal.signalId)) continue;
    const decided = decideSignal(current, signal, ctx);
    current = decided.ledger;
    records.set(signal.signalId, decided.record);
  }
  return { ledger: current, records };
}

describe('decideReservation', () => {
  it('rejects, never throws on, a size beyond what a signal may ask (one that bypassed the schema)', () => {
    const huge = { ...makeSignal(), size: { type: 'quantity', quantity: '100000000000', priceMicros: 9_007_199_254_740_991 } } as TradeSignal;
    expect(decideReservation(EMPTY_LEDGER, huge, context())).toMatchObject({ outcome: 'rejected', reason: 'position_size_out_of_range' });
    expect(TradeSignal.safeParse(huge).success).toBe(false);
  });

  it('reserves notional / leverage, rounded up', () => {
    const signal = makeSignal({ size: { type: 'notional', notionalMicros: 100 * USD + 1 }, leverage: 3 });
    expect(decideReservation(EMPTY_LEDGER, signal, context())).toEqual({
      outcome: 'reserved',
      notionalMicros: 100 * USD + 1,
      marginMicros: 33_333_334,
    });
  });

  it('sizes by quantity at the reference price', () => {
    const signal = makeSignal({ size: { type: 'quantity', quantity: '0.01', priceMicros: 20_000 * USD }, leverage: 4 });
    expect(decideReservation(EMPTY_LEDGER, signal, context())).toMatchObject({ outcome: 'reserved', marginMicros: 50 * USD });
  });

  it("values a quantity at the mark when it is given, whatever price the sender wrote, and holds the agent's maximum there", () => {
    const cheap = makeSignal({ size: { type: 'quantity', quantity: '0.01', priceMicros: 20 * USD }, leverage: 4 });
    expect(decideReservation(EMPTY_LEDGER, cheap, context({ markMicros: 22_000 * USD }))).toMatchObject({ outcome: 'reserved', notionalMicros: 220 * USD, marginMicros: 55 * USD });
    // 0.5 BTC "at 20 USD" is 11,000 USD at the mark: past the 5,000 USD maximum.
    const large = makeSignal({ size: { type: 'quantity', quantity: '0.5', priceMicros: 20 * USD }, leverage: 4 });
    expect(decideReservation(EMPTY_LEDGER, large, context({ markMicros: 22_000 * USD }))).toMatchObject({ outcome: 'rejected', reason: 'position_size_out_of_range', notionalMicros: 11_000 * USD });
  });

  it.each([
    ['unknown_agent', {}, { agent: undefined }],
    ['signal_expired', { createdAt: '2020-01-01T00:00:00Z', expiresAt: '2020-01-01T00:01:00Z' }, {}],
    ['trading_halted', {}, { halted: true }],
    ['leverage_exceeded', { leverage: 11 }, {}],
    ['position_size_out_of_range', { size: { type: 'notional' as const, notionalMicros: 5 * USD } }, {}],
    ['position_size_out_of_range', { size: { type: 'notional' as const, notionalMicros: 5_001 * USD } }, {}],
    ['symbol_not_allowed', { symbol: 'DOGEUSDT' }, {}],
  ])('rejects with %s', (reason, signalOverrides, contextOverrides) => {
    const decision = decideReservation(EMPTY_LEDGER, makeSignal(signalOverrides), context(contextOverrides));
    expect(decision).toMatchObject({ outcome: 'rejected', reason });
  });

  it('rejects a new symbol past MAX_SYMBOLS_PER_AGENT but adds to a held one', () => {
    const ledger: MarginLedgerState = { ...EMPTY_LEDGER, openSymbols: { BTCUSDT: 1, ETHUSDT: 2 } };
    expect(decideReservation(ledger, makeSignal({ symbol: 'SOLUSDT' }), context({ maxSymbolsPerAgent: 2 }))).toMatchObject({
      reason: 'max_symbols_exceeded',
    });
    expect(decideReservation(ledger, makeSignal({ symbol: 'ETHUSDT' }), context({ maxSymbolsPerAgent: 2 }))).toMatchObject({
      outcome: 'reserved',
    });
  });

  it('rejects with agent_margin_exceeded one micro past the allocation', () => {
    const ledger: MarginLedgerState = { ...EMPTY_LEDGER, reservedMicros: 600 * USD, inUseMicros: 350 * USD };
    const fits = makeSignal({ size: { type: 'notional', notionalMicros: 100 * USD }, leverage: 2 }); // 50 USD
    const tooBig = makeSignal({ size: { type: 'notional', notionalMicros: 100 * USD + 2 }, leverage: 2 }); // 50.000001
    expect(decideReservation(ledger, fits, context())).toMatchObject({ outcome: 'reserved' });
    expect(decideReservation(ledger, tooBig, context())).toMatchObject({ outcome: 'rejected', reason: 'agent_margin_exceeded' });
  });

  it('lets a reduce-only signal through a halt without margin', () => {
    const decision = decideReservation(EMPTY_LEDGER, makeSignal({ reduceOnly: true }), context({ halted: true }));
    expect(decision).toEqual({ outcome: 'reserved', notionalMicros: 100 * USD, marginMicros: 0 });
  });
});

describe('decideSignal, in a batch', () => {
  it('decides in order against a running ledger, counts breaches, and decides a repeated signalId once', () => {
    const a = makeSignal({ size: { type: 'notional', notionalMicros: 1_600 * USD }, leverage: 2 }); // 800
    const b = makeSignal({ size: { type: 'notional', notionalMicros: 600 * USD }, leverage: 2 }); // 300: no room
    const c = makeSignal({ size: { type: 'notional', notionalMicros: 400 * USD }, leverage: 2 }); // 200: fits exactly
    const { ledger, records } = decideBatch(EMPTY_LEDGER, [a, b, a, c], context());
    expect([...records.values()].map((r) => r.status)).toEqual(['reserved', 'rejected', 'reserved']);
    expect(ledger.reservedMicros).toBe(1_000 * USD);
    expect(ledger.breaches).toEqual({ agent_margin_exceeded: 1 });
    expect(records.get(a.signalId)?.orderId).toBe(orderIdForSignal(a.signalId));
  });
});

describe('releaseReservation', () => {
  it('returns the margin once and only once', () => {
    const signal = makeSignal({ size: { type: 'notional', notionalMicros: 200 * USD }, leverage: 2 });
    const { ledger, records } = decideBatch(EMPTY_LEDGER, [signal], context());
    const record = records.get(signal.signalId) as ReservationRecord;
    const first = releaseReservation(ledger, record, 'order rejected', new Date());
    expect(first.released).toBe(true);
    expect(first.ledger).toMatchObject({ reservedMicros: 0, openSymbols: {} });
    const second = releaseReservation(first.ledger, first.record, 'order rejected', new Date());
    expect(second.released).toBe(false);
    expect(second.ledger).toBe(first.ledger);
  });
});

describe('margin invariant (property)', () => {
  type Step =
    | { kind: 'reserve'; notionalUsd: number; leverage: number; symbol: string; reduceOnly: boolean; expired: boolean }
    | { kind: 'release'; pick: number }
    | { kind: 'halt'; halted: boolean };

  const step: fc.Arbitrary<Step> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant('reserve' as const),
        notionalUsd: fc.integer({ min: 1, max: 6_000 }),
        leverage: fc.integer({ min: 1, max: 12 }),
        symbol: fc.constantFrom('BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'DOGEUSDT'),
        reduceOnly: fc.boolean(),
        expired: fc.boolean(),
      }),
    },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('halt' as const), halted: fc.boolean() }) },
  );

  it('no sequence of reserve / release / reject over-allocates or goes negative', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(step, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 2_000 }),
        fc.integer({ min: 1, max: 4 }),
        (batches, allocationUsd, maxSymbols) => {
          const profile: AgentProfile = { ...agent, marginAllocationMicros: allocationUsd * USD };
          let ledger = EMPTY_LEDGER;
          let halted = false;
          const records: ReservationRecord[] = [];
          let n = 0;
          for (const batch of batches) {
            // Reservations of one batch go through decideBatch together, as group commit does.
            const signals = [];
            for (const s of batch) {
              if (s.kind === 'halt') halted = s.halted;
              else if (s.kind === 'release' && records.length > 0) {
                const result = releaseReservation(ledger, records[s.pick % records.length] as ReservationRecord, 'test', new Date());
                ledger = result.ledger;
                records[s.pick % records.length] = result.record;
              } else if (s.kind === 'reserve') {
                n += 1;
                signals.push(
                  makeSignal({
                    signalId: `p-${n}`,
                    size: { type: 'notional', notionalMicros: s.notionalUsd * USD },
                    leverage: s.leverage,
                    symbol: s.symbol,
                    reduceOnly: s.reduceOnly,
                    ...(s.expired ? { createdAt: '2020-01-01T00:00:00Z', expiresAt: '2020-01-01T00:01:00Z' } : {}),
                  }),
                );
              }
            }
            const decided = decideBatch(ledger, signals, { agent: profile, halted, maxSymbolsPerAgent: maxSymbols, now: new Date() });
            ledger = decided.ledger;
            records.push(...decided.records.values());

            const open = records.filter((r) => r.status === 'reserved');
            expect(committedMicros(ledger)).toBeLessThanOrEqual(profile.marginAllocationMicros);
            expect(ledger.reservedMicros).toBeGreaterThanOrEqual(0);
            expect(ledger.inUseMicros).toBeGreaterThanOrEqual(0);
            expect(ledger.reservedMicros).toBe(open.reduce((sum, r) => sum + r.marginMicros, 0));
            expect(Object.keys(ledger.openSymbols).length).toBeLessThanOrEqual(maxSymbols);
            for (const count of Object.values(ledger.openSymbols)) expect(count).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('signalTermsDigest: what a signal asks to trade', () => {
  it('is the same for a resend restamped with another time, source or confidence, and differs for any other term', () => {
    const signal = makeSignal({ signalId: 'terms-1', size: { type: 'notional', notionalMicros: 100 * USD }, leverage: 2 });
    const digest = signalTermsDigest(signal);
    const restamped: TradeSignal = { ...signal, createdAt: '2026-01-01T00:00:00.000Z', source: 'webhook:other', confidence: 0.1 };
    expect(signalTermsDigest(restamped)).toBe(digest);
    expect(signalTermsDigest({ ...signal, size: { notionalMicros: 100 * USD, type: 'notional' } })).toBe(digest);
    for (const other of [
      { ...signal, side: 'SELL' as const },
      { ...signal, leverage: 10 },
      { ...signal, reduceOnly: true },
      { ...signal, symbol: 'ETHUSDT' },
      { ...signal, agentId: 'qwen-7b' },
      { ...signal, size: { type: 'notional' as const, notionalMicros: 5_000 * USD } },
    ]) {
      expect(signalTermsDigest(other)).not.toBe(digest);
    }
  });

  it('is recorded with the decision, with the size and expiry its order will carry', () => {
    const signal = makeSignal({ signalId: 'terms-2', agentId: 'deepseek-v3', size: { type: 'notional', notionalMicros: 100 * USD }, leverage: 2 });
    const { record } = decideSignal(EMPTY_LEDGER, signal, { agent: DEFAULT_AGENTS[0], halted: false, maxSymbolsPerAgent: 5, now: new Date(signal.createdAt) });
    expect(record).toMatchObject({ termsDigest: signalTermsDigest(signal), size: signal.size, expiresAt: signal.expiresAt });
  });
});
