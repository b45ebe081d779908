import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { childSpan, formatTraceparent, newTrace, parseTraceparent } from '../../../shared/tracing/traceparent.js';

describe('traceparent', () => {
  it('reads the W3C example and writes it back unchanged', () => {
    const value = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(parseTraceparent(value)).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: true });
    expect(formatTraceparent(parseTraceparent(value) as NonNullable<ReturnType<typeof parseTraceparent>>)).toBe(value);
  });

  it.each([
    ['all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['all-zero span id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['upper case', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'],
    ['version 00 with a tail', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra'],
    ['short trace id', '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01'],
    ['not a string', 42],
    ['huge', `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01-${'x'.repeat(1_000)}`],
  ])('refuses %s (a new trace starts instead)', (_name, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });

  it('reads a future version by its first four fields', () => {
    expect(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-future')).toMatchObject({ sampled: false });
  });

  it('never throws on any string', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (value) => void parseTraceparent(value)));
  });

  it('a new trace round-trips; a child span keeps the trace and changes the span', () => {
    const root = newTrace();
    expect(parseTraceparent(formatTraceparent(root))).toEqual(root);
    const child = childSpan(root);
    expect(child.traceId).toBe(root.traceId);
    expect(child.spanId).not.toBe(root.spanId);
  });
});

describe('trace and span ids', () => {
  it('are unique across many draws, and never all zero', () => {
    const ids = new Set(Array.from({ length: 5_000 }, () => newTrace()).flatMap((t) => [t.traceId, t.spanId]));
    expect(ids.size).toBe(10_000);
    for (const id of ids) expect(id).toMatch(/^(?!0+$)[0-9a-f]+$/);
  });
});
