import type { HttpFunction } from '@google-cloud/functions-framework';
import type { z } from 'zod';
import { type DeadLetterBox, clipped } from '../firestore/dead-letters.js';
import { fieldErrors, refuseAllButPost, sendProblem } from '../http/problems.js';
import { log } from '../log.js';
import { PushEnvelope, decodePushData, subscriptionName } from './push-envelope.js';

/** Thrown by a handler that wants the message delivered again later (answered 503, a nack). */
export class RetryLater extends Error {
  override readonly name = 'RetryLater';
}

export interface PushDelivery {
  readonly messageId: string;
  readonly subscription: string;
  readonly deliveryAttempt: number | undefined;
}

export interface PushHandlerOptions<T> {
  readonly schema: z.ZodType<T>;
  readonly deadLetters: DeadLetterBox;
  readonly handle: (message: T, delivery: PushDelivery) => Promise<void>;
  /** The path Pub/Sub pushes to (the manifest's pushPath); every other path is 404. Default `/`. */
  readonly path?: string;
}

/**
 * The shape every Pub/Sub push function shares: decode the envelope, validate the payload,
 * hand it over, answer. A payload that does not validate is acknowledged (204) after a copy is
 * kept as a dead letter: retrying it could never succeed. Failures of our own are answered 500
 * so Pub/Sub retries them, up to the subscription's dead-letter policy.
 */
export function pushHandler<T>(options: PushHandlerOptions<T>): HttpFunction {
  return async (req, res) => {
    if (refuseAllButPost(req, res, options.path)) return;
    const envelope = PushEnvelope.safeParse(req.body);
    if (!envelope.success) {
      sendProblem(res, 400, 'not a Pub/Sub push envelope', fieldErrors(envelope.error));
      return;
    }
    const { message, deliveryAttempt } = envelope.data;
    const delivery: PushDelivery = {
      messageId: message.messageId,
      subscription: subscriptionName(envelope.data.subscription),
      deliveryAttempt,
    };
    // What goes into a log line is bounded: ids and names from outside can be megabytes.
    const logged = { messageId: clipped(delivery.messageId, 200), subscription: clipped(delivery.subscription, 200), deliveryAttempt };
    const decoded = decodePushData(envelope.data, options.schema);
    try {
      if (!decoded.ok) {
        await options.deadLetters.record({
          source: delivery.subscription,
          messageId: delivery.messageId,
          reason: decoded.reason,
          data: message.data,
          attributes: message.attributes ?? {},
        });
        log.warn('malformed message acknowledged and kept as a dead letter', { ...logged, reason: clipped(decoded.reason, 2_000) });
        res.status(204).end();
        return;
      }
      await options.handle(decoded.value, delivery);
      res.status(204).end();
    } catch (error) {
      if (error instanceof RetryLater) {
        log.info('message deferred for redelivery', { ...logged, reason: error.message });
        sendProblem(res, 503, error.message);
        return;
      }
      log.error('message handling failed; Pub/Sub will redeliver', { ...logged, error });
      sendProblem(res, 500, 'internal error; the message will be redelivered');
    }
  };
}
