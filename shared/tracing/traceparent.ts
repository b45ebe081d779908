import { randomBytes } from 'node:crypto';

/**
 * W3C Trace Context (`traceparent: 00-<trace id>-<span id>-<flags>`), as pure rules: one signal
 * carries one trace id from the HTTP request that brought it through every Pub/Sub hop, and each
 * function's work on it is a span of its own under that id.
 */

export interface TraceContext {
  /** 32 lowercase hex digits, not all zero. */
  readonly traceId: string;
  /** 16 lowercase hex digits, not all zero. */
  readonly spanId: string;
  readonly sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

/**
 * The context a `traceparent` value names, or undefined for anything malformed (a caller's bad
 * header starts a new trace rather than failing the request). Version ff is invalid; a future
 * version is read by its first four fields, as the specification asks.
 */
export function parseTraceparent(value: unknown): TraceContext | undefined {
  if (typeof value !== 'string' || value.length > 512) return undefined;
  const match = TRACEPARENT.exec(value.trim());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags] = match as unknown as [string, string, string, string, string];
  if (version === 'ff' || (version === '00' && value.trim().length !== 55)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

export function formatTraceparent(context: TraceContext): string {
  return `00-${context.traceId}-${context.spanId}-${context.sampled ? '01' : '00'}`;
}

/**
 * Random hex ids from a pool filled a few KiB at a time: every request and message takes one,
 * and a system call per id showed in the hot path's profile. Ids need to be unique, not secret.
 */
const pool = { bytes: Buffer.alloc(0), used: 0 };
function randomHex(byteCount: number): string {
  if (pool.used + byteCount > pool.bytes.length) {
    pool.bytes = randomBytes(4_096);
    pool.used = 0;
  }
  const hex = pool.bytes.toString('hex', pool.used, pool.used + byteCount);
  pool.used += byteCount;
  // All zeros is invalid; a fresh draw is as good as any.
  return /^0+$/.test(hex) ? randomHex(byteCount) : hex;
}

/** A new trace, sampled (every signal's path is worth keeping). */
export function newTrace(): TraceContext {
  return { traceId: randomHex(16), spanId: randomHex(8), sampled: true };
}

/** A span under `parent`: the same trace, a new span id. */
export function childSpan(parent: TraceContext): TraceContext {
  return { ...parent, spanId: randomHex(8) };
}
