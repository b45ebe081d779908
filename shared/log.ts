import { activeTrace } from './tracing/active-trace.js';

/**
 * Structured logging: one JSON object per line on stdout, which Cloud Logging turns into a
 * structured entry. Every line carries the active trace (`logging.googleapis.com/trace`), so
 * Cloud Logging groups the lines of one signal's whole path, and the function that wrote it.
 * Callers pass fields, never secrets.
 */

export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR' | 'CRITICAL';

export type LogFields = Record<string, unknown>;

const TRACE = 'logging.googleapis.com/trace';
const SPAN = 'logging.googleapis.com/spanId';
const SAMPLED = 'logging.googleapis.com/trace_sampled';
const LABELS = 'logging.googleapis.com/labels';
/** Fields Cloud Logging reads for itself (and all of logging.googleapis.com/…): a caller's field of that name is kept beside them, renamed. */
const RESERVED = new Set(['severity', 'message', 'time', 'timestamp', 'httpRequest']);

function isReserved(key: string): boolean {
  return RESERVED.has(key) || key.startsWith('logging.googleapis.com/');
}

/** The entry for one line: the caller's fields, then the ones Cloud Logging reads, which no caller can replace. */
export function logEntry(severity: Severity, message: string, fields: LogFields, at: Date = new Date()): Record<string, unknown> {
  const entry: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) entry[isReserved(key) ? `field_${key}` : key] = value;
  entry.severity = severity;
  entry.message = message;
  entry.time = at.toISOString();
  const trace = activeTrace();
  if (trace) {
    const project = process.env.GOOGLE_CLOUD_PROJECT;
    entry[TRACE] = project ? `projects/${project}/traces/${trace.traceId}` : trace.traceId;
    entry[SPAN] = trace.spanId;
    entry[SAMPLED] = trace.sampled;
    if (trace.component) entry[LABELS] = { function: trace.component };
  }
  return entry;
}

/** One entry as Cloud Logging reads it: a JSON object on one line. */
export function jsonLogLine(entry: Record<string, unknown>): string {
  return `${JSON.stringify(entry, errorReplacer)}\n`;
}

let sink = (entry: Record<string, unknown>): void => {
  process.stdout.write(jsonLogLine(entry));
};

/** Sends log lines elsewhere than stdout (a replay keeps its terminal for progress). */
export function writeLogsTo(write: (line: string) => void): void {
  sink = (entry) => write(jsonLogLine(entry));
}

/** Hands every entry to `receive` instead (the local stack prints them for a person). */
export function sendLogEntriesTo(receive: (entry: Record<string, unknown>) => void): void {
  sink = receive;
}

function write(severity: Severity, message: string, fields: LogFields): void {
  if (process.env.SAPPHIRE_QUIET_LOGS === 'true' && (severity === 'DEBUG' || severity === 'INFO')) return;
  sink(logEntry(severity, message, fields));
}

function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}

export const log = {
  debug: (message: string, fields: LogFields = {}) => write('DEBUG', message, fields),
  info: (message: string, fields: LogFields = {}) => write('INFO', message, fields),
  warn: (message: string, fields: LogFields = {}) => write('WARNING', message, fields),
  error: (message: string, fields: LogFields = {}) => write('ERROR', message, fields),
};
