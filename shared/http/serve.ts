import './json-errors.js';
import { http, type HttpFunction, type Request } from '@google-cloud/functions-framework';
import { TRACEPARENT_ATTRIBUTE } from '../pubsub/publisher.js';
import { pushedMessage } from '../pubsub/push-envelope.js';
import { runInTrace } from '../tracing/active-trace.js';
import { childSpan, formatTraceparent, newTrace, parseTraceparent } from '../tracing/traceparent.js';

/**
 * Registers an HTTP function (every Sapphire function is one: webhooks, Pub/Sub push, Cloud
 * Scheduler) with bad bodies answered as JSON (json-errors.ts), and runs each request in the
 * trace it belongs to: a push message's `traceparent` attribute (the signal's trace, set by
 * whoever published it), else the request's `traceparent` header, else a new trace. The answer
 * names the span in its own `traceparent` header, so a caller can find the lines it caused.
 */
export function serveHttp(name: string, handler: HttpFunction): void {
  // Logs name the function as it is deployed (margin-reservation), not its entry point.
  const component = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  http(name, (req, res) => {
    const parent = parseTraceparent(pushedTraceparent(req)) ?? parseTraceparent(req.get('traceparent'));
    const trace = parent ? childSpan(parent) : newTrace();
    res.setHeader('traceparent', formatTraceparent(trace));
    return runInTrace({ ...trace, component }, () => handler(req, res));
  });
}

/** The traceparent attribute of a Pub/Sub push envelope, if the body is one. */
function pushedTraceparent(req: Request): unknown {
  const attributes = pushedMessage(req.body)?.attributes;
  return typeof attributes === 'object' && attributes !== null ? (attributes as Record<string, unknown>)[TRACEPARENT_ATTRIBUTE] : undefined;
}
