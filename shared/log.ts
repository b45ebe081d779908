/**
 * Structured logging: one JSON object per line on stdout, which Cloud Logging turns into a
 * structured entry with its severity. Callers pass fields, never secrets.
 */

export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR' | 'CRITICAL';

export type LogFields = Record<string, unknown>;

function write(severity: Severity, message: string, fields: LogFields): void {
  if (process.env.SAPPHIRE_QUIET_LOGS === 'true' && (severity === 'DEBUG' || severity === 'INFO')) return;
  // A caller's own `severity` (an alert's, say) must not replace the one Cloud Logging reads.
  const { severity: ownSeverity, ...rest } = fields;
  const entry = { ...rest, ...(ownSeverity === undefined ? {} : { fieldSeverity: ownSeverity }), severity, message, time: new Date().toISOString() };
  process.stdout.write(`${JSON.stringify(entry, errorReplacer)}\n`);
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
