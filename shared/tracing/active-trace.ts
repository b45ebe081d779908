import { AsyncLocalStorage } from 'node:async_hooks';
import { type TraceContext, newTrace } from './traceparent.js';

/**
 * The trace the running code works for, carried across awaits by AsyncLocalStorage: the log
 * writes it on every line and the publisher puts it on every message, so no caller passes it
 * along by hand. (OpenTelemetry's API would need its async-hooks context manager registered to
 * do the same; this is that mechanism without the extra packages at cold start.)
 */

export interface ActiveTrace extends TraceContext {
  /** The function doing the work, for the log's labels. */
  readonly component?: string;
}

const storage = new AsyncLocalStorage<ActiveTrace>();

export function activeTrace(): ActiveTrace | undefined {
  return storage.getStore();
}

export function runInTrace<T>(trace: ActiveTrace, work: () => T): T {
  return storage.run(trace, work);
}

/** Runs `work` as the root of a trace of its own (one agent's tick, say), in the same component. */
export function runInNewTrace<T>(work: () => T): T {
  const component = activeTrace()?.component;
  return storage.run({ ...newTrace(), ...(component ? { component } : {}) }, work);
}
