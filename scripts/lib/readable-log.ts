import { styleText } from 'node:util';
import { microsToDecimal } from '../../shared/domain/money.js';

/**
 * `npm start`'s terminal, for a person: one short line per business event (an agent's signal, a
 * signal accepted, a reservation decided, an order placed, a fill, an order's end, a halt, an
 * alert) and every warning or error; the housekeeping lines (evaluations, reconciliations, HOLD
 * decisions) only with SAPPHIRE_LOG_DETAIL=all. The entries are the ones Cloud Logging gets
 * (shared/log.ts); SAPPHIRE_LOG_FORMAT=json prints them unchanged instead.
 */

export type LogDetail = 'events' | 'all';
type Entry = Record<string, unknown>;
type Tone = 'event' | 'good' | 'bad' | 'quiet';

const text = (value: unknown): string => (value === undefined || value === null ? '' : String(value));
const usd = (micros: unknown): string => (typeof micros === 'number' && Number.isInteger(micros) ? `${microsToDecimal(micros)} USD` : '? USD');
const who = (entry: Entry): string => [entry.agentId, entry.symbol].filter(Boolean).join(' ');

/** The business events, by their log message: what the line says, and how it stands out. */
const EVENTS: Readonly<Record<string, (entry: Entry) => [Tone, string] | undefined>> = {
  'agent decided': (e) => (e.action === 'HOLD' ? undefined : ['event', `${text(e.agentId)} decided ${text(e.action)} → signal ${text(e.signalId)} (${text(e.model)}, ${text(e.source)})`]),
  'signal accepted': (e) => ['event', `signal ${text(e.signalId)} accepted for ${text(e.agentId)} from ${text(e.source)}`],
  'reservation decided': (e) =>
    e.status === 'reserved' || e.status === 'ordered'
      ? ['good', `${who(e)}: reserved ${usd(e.marginMicros)} of margin → order ${text(e.orderId)}`]
      : ['bad', `${who(e)}: signal ${text(e.signalId)} ${text(e.status)} (${text(e.reason)})`],
  'order placed': (e) => ['event', `${who(e)}: ${text(e.side)} order ${text(e.orderId)} placed at the ${text(e.venue)} venue, ${text(e.executedQuantity)} of ${text(e.quantity)} executed`],
  'fill applied': (e) => ['good', `${who(e)}: filled ${text(e.quantity)} at ${usd(e.priceMicros)}, fee ${usd(e.feeMicros)} (order ${text(e.orderId)})`],
  'order ended': (e) => ['event', `${text(e.agentId)}: order ${text(e.orderId)} ${text(e.status)}${e.reason ? ` (${text(e.reason)})` : ''}`],
  'risk evaluated': (e) => (Array.isArray(e.transitions) && e.transitions.length > 0 ? ['bad', `risk: ${e.transitions.join(', ')}`] : undefined),
};

const STYLES: Readonly<Record<Tone, Parameters<typeof styleText>[0]>> = { event: 'cyan', good: 'green', bad: 'yellow', quiet: 'gray' };

/** The fields a warning or housekeeping line shows after its message: short values only. */
function fieldsOf(entry: Entry): string {
  return Object.entries(entry)
    .filter(([key, value]) => !['severity', 'message', 'time'].includes(key) && !key.startsWith('logging.googleapis.com/') && value !== undefined)
    .map(([key, value]) => `${key}=${typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
    .join(' ')
    .slice(0, 300);
}

/** The line a person sees for one entry, or undefined for housekeeping they did not ask for. */
export function readableLogLine(entry: Entry, detail: LogDetail, colour = false): string | undefined {
  const message = text(entry.message);
  const severity = text(entry.severity);
  const time = text(entry.time).slice(11, 19);
  // Whether to colour is the caller's call (it knows the terminal), not styleText's own check of stdout.
  const paint = (tone: Tone, line: string) => (colour ? styleText(STYLES[tone], line, { validateStream: false }) : line);
  if (severity === 'WARNING' || severity === 'ERROR' || severity === 'CRITICAL') {
    const label = severity === 'WARNING' ? 'warning' : 'ERROR';
    const line = `${time} ${label} ${message} ${fieldsOf(entry)}`.trimEnd();
    return colour ? styleText(severity === 'WARNING' ? 'yellow' : ['red', 'bold'], line, { validateStream: false }) : line;
  }
  const event = EVENTS[message]?.(entry);
  if (event) return `${time} ${paint(event[0], event[1])}`;
  return detail === 'all' ? `${time} ${paint('quiet', `${message} ${fieldsOf(entry)}`.trimEnd())}` : undefined;
}
