import type { PubSub } from '@google-cloud/pubsub';
import { FUNCTIONS, HOLDING_SUBSCRIPTIONS, TOPICS, pushTriggers } from '../../triggers/manifest.js';

/**
 * Creates the topics and subscriptions of triggers/manifest.ts on a Pub/Sub emulator, with push
 * subscriptions aimed at locally running functions: messages reach them as they do when
 * deployed. (Deployed, Terraform creates the same from the same manifest.) Idempotent.
 */

const ALREADY_EXISTS = 6;

async function ignoreExisting(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (error) {
    if ((error as { code?: number }).code !== ALREADY_EXISTS) throw error;
  }
}

/** `endpointOf(name)` gives the URL a function listens on; push functions without one are skipped. */
export async function provisionPubSub(pubsub: PubSub, endpointOf: (functionName: string) => string | undefined): Promise<void> {
  for (const topic of Object.values(TOPICS)) await ignoreExisting(() => pubsub.createTopic(topic));
  for (const { topic, subscription } of HOLDING_SUBSCRIPTIONS) {
    await ignoreExisting(() => pubsub.topic(topic).createSubscription(subscription));
  }
  for (const fn of FUNCTIONS) {
    const endpoint = endpointOf(fn.name);
    if (!endpoint) continue;
    for (const trigger of pushTriggers(fn)) {
      await ignoreExisting(() =>
      pubsub.topic(trigger.topic).createSubscription(trigger.subscription, {
        pushConfig: { pushEndpoint: trigger.pushPath ? `${endpoint.replace(/\/$/, '')}${trigger.pushPath}` : endpoint },
        enableMessageOrdering: trigger.messageOrdering,
        ackDeadlineSeconds: trigger.ackDeadlineSeconds,
        retryPolicy: {
          minimumBackoff: { seconds: trigger.retry.minimumBackoffSeconds },
          maximumBackoff: { seconds: trigger.retry.maximumBackoffSeconds },
        },
        deadLetterPolicy: {
          deadLetterTopic: pubsub.topic(trigger.deadLetter.topic).name,
          maxDeliveryAttempts: trigger.deadLetter.maxDeliveryAttempts,
        },
      }),
      );
    }
  }
}
