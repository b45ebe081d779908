import { describe, expect, it } from 'vitest';
import { IntervalGate } from '../../../shared/concurrency/interval-gate.js';

/** A manual clock: wait() advances it, so openings are exact. */
function clocked(intervalMs: number) {
  let now = 1_000;
  const waits: number[] = [];
  const gate = new IntervalGate(
    intervalMs,
    () => now,
    async (ms) => {
      waits.push(ms);
      now += ms;
    },
  );
  return { gate, waits, advance: (ms: number) => (now += ms) };
}

describe('IntervalGate', () => {
  it('opens at once the first time', async () => {
    const { gate, waits } = clocked(1_000);
    await gate.pass();
    expect(waits).toEqual([0]);
  });

  it('lets every caller of a shut gate through at its one next opening', async () => {
    const { gate, waits } = clocked(1_000);
    await gate.pass();
    const callers = await Promise.all(Array.from({ length: 50 }, () => gate.pass().then(() => 'through')));
    expect(callers).toHaveLength(50);
    expect(waits).toEqual([0, 1_000]);
  });

  it('opens at once again when an interval has passed', async () => {
    const { gate, waits, advance } = clocked(1_000);
    await gate.pass();
    advance(2_500);
    await gate.pass();
    expect(waits).toEqual([0, 0]);
  });

  it('refuses a negative interval', () => {
    expect(() => new IntervalGate(-1)).toThrow(RangeError);
  });
});
