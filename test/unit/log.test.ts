import { describe, expect, it } from 'vitest';
import { logEntry } from '../../shared/log.js';
import { runInTrace } from '../../shared/tracing/active-trace.js';

const AT = new Date('2026-11-25T12:00:00.000Z');

describe('log entries Cloud Logging reads', () => {
  it('keeps a caller’s fields named like a reserved one beside it, renamed, never in its place', () => {
    const entry = logEntry('INFO', 'alert open', {
      severity: 'critical',
      message: 'spoofed',
      time: 'yesterday',
      'logging.googleapis.com/trace': 'projects/x/traces/forged',
      'logging.googleapis.com/labels': { function: 'forged' },
      episodeId: 'e-1',
    }, AT);
    expect(entry).toMatchObject({
      severity: 'INFO',
      message: 'alert open',
      time: AT.toISOString(),
      field_severity: 'critical',
      field_message: 'spoofed',
      field_time: 'yesterday',
      'field_logging.googleapis.com/trace': 'projects/x/traces/forged',
      episodeId: 'e-1',
    });
    expect(entry['logging.googleapis.com/trace']).toBeUndefined();
    expect(entry['logging.googleapis.com/labels']).toBeUndefined();
  });

  it('carries the active trace, span and function on every line', () => {
    process.env.GOOGLE_CLOUD_PROJECT = 'sapphire-test';
    const entry = runInTrace({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: true, component: 'order-router' }, () =>
      logEntry('INFO', 'order placed', { orderId: 'o-1', 'logging.googleapis.com/spanId': 'forged' }, AT),
    );
    expect(entry).toMatchObject({
      'logging.googleapis.com/trace': 'projects/sapphire-test/traces/4bf92f3577b34da6a3ce929d0e0e4736',
      'logging.googleapis.com/spanId': '00f067aa0ba902b7',
      'logging.googleapis.com/trace_sampled': true,
      'logging.googleapis.com/labels': { function: 'order-router' },
      orderId: 'o-1',
    });
  });

  it('writes no trace fields outside a trace', () => {
    expect(Object.keys(logEntry('INFO', 'started', {}, AT)).sort()).toEqual(['message', 'severity', 'time']);
  });
});
