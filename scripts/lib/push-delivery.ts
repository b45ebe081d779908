/**
 * What Cloud Pub/Sub push does with one message, as pure rules: the body it POSTs, which answers
 * acknowledge, how long it waits before the next attempt, and what a dead letter carries. The
 * local relay (push-relay.ts) applies them; the emulator's own push applies none but the body.
 */

export interface RetryPolicy {
  readonly minimumBackoffSeconds: number;
  readonly maximumBackoffSeconds: number;
}

/** Cloud Pub/Sub push treats these answers as an acknowledgement; anything else is a nack. */
const SUCCESS = new Set([102, 200, 201, 202, 204]);

export function isPushAck(status: number): boolean {
  return SUCCESS.has(status);
}

/**
 * Delay before the next attempt after `failedAttempts` failures: exponential from the
 * subscription's minimum backoff, doubling per failure, capped at its maximum.
 */
export function pushBackoffMs(policy: RetryPolicy, failedAttempts: number): number {
  if (!Number.isInteger(failedAttempts) || failedAttempts < 1) throw new RangeError(`failedAttempts must be ≥ 1, got ${failedAttempts}`);
  const seconds = Math.min(policy.maximumBackoffSeconds, policy.minimumBackoffSeconds * 2 ** Math.min(failedAttempts - 1, 30));
  return seconds * 1_000;
}

export interface PulledMessage {
  readonly id: string;
  readonly data: Buffer;
  readonly attributes: Readonly<Record<string, string>>;
  readonly publishTime: Date;
  readonly orderingKey?: string;
}

export interface PushEnvelopeBody {
  readonly subscription: string;
  readonly message: {
    readonly attributes: Readonly<Record<string, string>>;
    readonly data: string;
    readonly messageId: string;
    readonly message_id: string;
    readonly publishTime: string;
    readonly publish_time: string;
    readonly orderingKey?: string;
  };
  /** Cloud Pub/Sub sends it when the subscription has a dead-letter policy; the emulator never does. */
  readonly deliveryAttempt: number;
}

/**
 * The JSON body of a push request, field for field what the Pub/Sub emulator's push sends (both
 * spellings of the id and time, attributes even when empty, no empty ordering key), plus
 * `deliveryAttempt`.
 */
export function pushEnvelope(subscriptionPath: string, message: PulledMessage, deliveryAttempt: number): PushEnvelopeBody {
  const publishTime = message.publishTime.toISOString();
  return {
    subscription: subscriptionPath,
    message: {
      attributes: message.attributes,
      data: message.data.toString('base64'),
      messageId: message.id,
      message_id: message.id,
      publishTime,
      publish_time: publishTime,
      ...(message.orderingKey ? { orderingKey: message.orderingKey } : {}),
    },
    deliveryAttempt,
  };
}

/** The attributes Cloud Pub/Sub adds to a message it forwards to a dead-letter topic. */
export function deadLetterAttributes(
  message: PulledMessage,
  subscriptionPath: string,
  deliveryAttempts: number,
): Record<string, string> {
  return {
    ...message.attributes,
    CloudPubSubDeadLetterSourceSubscription: subscriptionPath.slice(subscriptionPath.lastIndexOf('/') + 1),
    CloudPubSubDeadLetterSourceSubscriptionProject: subscriptionPath.split('/')[1] ?? '',
    CloudPubSubDeadLetterSourceDeliveryCount: String(deliveryAttempts),
    CloudPubSubDeadLetterSourceTopicPublishTime: message.publishTime.toISOString(),
  };
}
