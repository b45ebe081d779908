import { retryWithBackoff } from '../concurrency/retry.js';
import type { Config } from '../config.js';
import type { RateLimiter } from '../concurrency/rate-limiter.js';
import type { AlertMessage } from '../domain/messages.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook } from '../domain/webhook-signature.js';
import type { DeliveryLog } from '../firestore/alert-deliveries.js';
import { log } from '../log.js';
import { slackBody } from './format.js';

export type Destination = Config['ALERT_DESTINATIONS'][number];

export interface AlertDeps {
  readonly destinations: readonly Destination[];
  readonly deliveries: DeliveryLog;
  readonly limiter: RateLimiter;
  readonly attempts?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Thrown when at least one destination still failed; the others were delivered and recorded. */
export class UndeliveredAlert extends Error {
  override readonly name = 'UndeliveredAlert';
}

function request(destination: Destination, alert: AlertMessage): { body: string; headers: Record<string, string> } {
  if (destination.type === 'slack') return { body: JSON.stringify(slackBody(alert)), headers: {} };
  // The generic webhook gets the alert itself, signed like Sapphire's broker webhooks.
  const body = JSON.stringify(alert);
  const timestamp = Math.floor(Date.now() / 1000);
  return { body, headers: { [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: signWebhook(destination.secret, timestamp, body) } };
}

/** A destination that did not take the alert; `retryAfterMs` when it said how long to wait. */
class DeliveryRefused extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

async function send(deps: AlertDeps, destination: Destination, alert: AlertMessage): Promise<void> {
  const { body, headers } = request(destination, alert);
  const post = async () => {
    await deps.limiter.take(destination.name);
    const response = await fetch(destination.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      signal: AbortSignal.timeout(5_000),
    });
    if (response.ok) return;
    const retryAfterSeconds = Number(response.headers.get('retry-after'));
    throw new DeliveryRefused(`HTTP ${response.status}`, Number.isFinite(retryAfterSeconds) && retryAfterSeconds > 0 ? retryAfterSeconds * 1000 : undefined);
  };
  await retryWithBackoff(post, {
    attempts: deps.attempts ?? 3,
    baseDelayMs: 400,
    maxDelayMs: 10_000,
    jitter: 'equal',
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
    retryOn: (error) => (error instanceof DeliveryRefused && error.retryAfterMs !== undefined ? { delayMs: error.retryAfterMs } : true),
  });
}

/**
 * Delivers one alert transition to every destination, each at most once: all destinations in
 * parallel, so one failing destination delays nobody else. A structured log line is written
 * whatever happens; destinations that still fail make the call throw so Pub/Sub redelivers,
 * and the redelivery skips those already served.
 */
export async function deliverAlert(deps: AlertDeps, alert: AlertMessage): Promise<{ delivered: string[]; skipped: string[] }> {
  const delivered: string[] = [];
  const skipped: string[] = [];
  const failed: string[] = [];
  await Promise.all(
    deps.destinations.map(async (destination) => {
      const id = [alert.episodeId, alert.transition, destination.name] as const;
      if ((await deps.deliveries.claim(id)) === 'skip') {
        skipped.push(destination.name);
        return;
      }
      try {
        await send(deps, destination, alert);
        await deps.deliveries.delivered(id);
        delivered.push(destination.name);
      } catch (error) {
        await deps.deliveries.failed(id, (error as Error).message);
        failed.push(`${destination.name} (${(error as Error).message})`);
      }
    }),
  );
  const line = {
    episodeId: alert.episodeId,
    transition: alert.transition,
    alertSeverity: alert.severity,
    limitType: alert.limitType,
    scope: alert.scope,
    delivered,
    skipped,
    failed,
  };
  if (alert.severity === 'critical' && alert.transition === 'open') log.error(`ALERT ${alert.message}`, line);
  else log.warn(`alert ${alert.transition}: ${alert.message}`, line);
  if (failed.length > 0) throw new UndeliveredAlert(`not delivered to ${failed.join(', ')}`);
  return { delivered, skipped };
}
