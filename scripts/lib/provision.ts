import type { PubSub } from '@google-cloud/pubsub';
import { FUNCTIONS, HOLDING_SUBSCRIPTIONS, type PushTrigger, TOPICS, pushTriggers } from '../../triggers/manifest.js';
import type { PushRelayStats } from './push-relay.js';
import { startRelayThread } from './push-relay-thread.js';

/**
 * Creates the topics and subscriptions of triggers/manifest.ts on a Pub/Sub emulator and
 * delivers each push subscription to a locally running function, as Cloud Pub/Sub push does
 * when deployed. (Deployed, Terraform creates the same from the same manifest.) Idempotent.
 *
 * Two deliveries: `relay` (the default) pulls from the emulator and pushes with Cloud Pub/Sub's
 * semantics (many in flight, backoff, dead letters; see push-relay.ts); `emulator` is the
 * emulator's own push, kept to compare against.
 */

export type PushDeliveryMode = 'relay' | 'emulator';

export interface ProvisionOptions {
  readonly delivery?: PushDeliveryMode;
  /** Relay only: push requests in flight at once. */
  readonly maxInFlight?: number;
}

export interface LocalPushDelivery {
  readonly mode: PushDeliveryMode;
  /** Relay counters; undefined for the emulator's push, which keeps none. */
  readonly stats: PushRelayStats | undefined;
  stop(): Promise<void>;
}

const ALREADY_EXISTS = 6;

async function ignoreExisting(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (error) {
    if ((error as { code?: number }).code !== ALREADY_EXISTS) throw error;
  }
}

function pushUrl(endpoint: string, trigger: PushTrigger): string {
  return trigger.pushPath ? `${endpoint.replace(/\/$/, '')}${trigger.pushPath}` : endpoint;
}

/** `endpointOf(name)` gives the URL a function listens on; push functions without one are skipped. */
export async function provisionPubSub(
  pubsub: PubSub,
  endpointOf: (functionName: string) => string | undefined,
  options: ProvisionOptions = {},
): Promise<LocalPushDelivery> {
  const mode = options.delivery ?? 'relay';
  for (const topic of Object.values(TOPICS)) await ignoreExisting(() => pubsub.createTopic(topic));
  for (const { topic, subscription } of HOLDING_SUBSCRIPTIONS) {
    await ignoreExisting(() => pubsub.topic(topic).createSubscription(subscription));
  }
  const routes: { trigger: PushTrigger; endpoint: string }[] = [];
  for (const fn of FUNCTIONS) {
    const endpoint = endpointOf(fn.name);
    if (!endpoint) continue;
    for (const trigger of pushTriggers(fn)) {
      routes.push({ trigger, endpoint: pushUrl(endpoint, trigger) });
      const retryPolicy = {
        minimumBackoff: { seconds: trigger.retry.minimumBackoffSeconds },
        maximumBackoff: { seconds: trigger.retry.maximumBackoffSeconds },
      };
      await ignoreExisting(() =>
        pubsub.topic(trigger.topic).createSubscription(
          trigger.subscription,
          mode === 'emulator'
            ? {
                pushConfig: { pushEndpoint: pushUrl(endpoint, trigger) },
                ackDeadlineSeconds: trigger.ackDeadlineSeconds,
                retryPolicy,
                deadLetterPolicy: {
                  deadLetterTopic: pubsub.topic(trigger.deadLetter.topic).name,
                  maxDeliveryAttempts: trigger.deadLetter.maxDeliveryAttempts,
                },
              }
            : // The relay applies the dead-letter policy itself.
              { ackDeadlineSeconds: trigger.ackDeadlineSeconds, retryPolicy },
        ),
      );
    }
  }
  if (mode === 'emulator') return { mode, stats: undefined, stop: async () => undefined };
  const relay = startRelayThread(pubsub.projectId, routes, { ...(options.maxInFlight ? { maxInFlight: options.maxInFlight } : {}) });
  return { mode, stats: relay.stats, stop: () => relay.stop() };
}
