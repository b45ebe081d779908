import type { PubSub, Topic } from '@google-cloud/pubsub';
import { activeTrace } from '../tracing/active-trace.js';
import { formatTraceparent } from '../tracing/traceparent.js';

/** The message attribute that carries the W3C traceparent from one function to the next. */
export const TRACEPARENT_ATTRIBUTE = 'traceparent';

export interface PublishOptions {
  readonly attributes?: Record<string, string>;
}

/** Where functions publish what follows from their work: Pub/Sub, or a replay's in-process queue. */
export interface MessagePublisher {
  /** Resolves with the message id once the message is stored. */
  publish(topicName: string, message: unknown, options?: PublishOptions): Promise<string>;
}

/**
 * Publishes JSON messages to Pub/Sub and resolves once the broker has stored them. Batching waits at most
 * 2 ms: every hop of a signal's path publishes once, so the window adds to its latency; under
 * load a batch still fills within it.
 */
export class JsonPublisher implements MessagePublisher {
  private readonly topics = new Map<string, Topic>();
  private readonly connect: () => Promise<PubSub>;

  /** `pubsub`: a client, or how to get one on first publish (pubsubOnFirstUse). */
  constructor(pubsub: PubSub | (() => Promise<PubSub>)) {
    this.connect = typeof pubsub === 'function' ? pubsub : () => Promise.resolve(pubsub);
  }

  async publish(topicName: string, message: unknown, options: PublishOptions = {}): Promise<string> {
    const topic = this.topics.get(topicName) ?? this.topic(await this.connect(), topicName);
    const data = Buffer.from(JSON.stringify(message));
    // The message carries the trace it was published in: the function it reaches continues it.
    const trace = activeTrace();
    const attributes = { ...(trace ? { [TRACEPARENT_ATTRIBUTE]: formatTraceparent(trace) } : {}), ...options.attributes };
    return topic.publishMessage({ data, ...(Object.keys(attributes).length > 0 ? { attributes } : {}) });
  }

  private topic(pubsub: PubSub, name: string): Topic {
    let topic = this.topics.get(name);
    if (!topic) {
      topic = pubsub.topic(name, {
        batching: { maxMessages: 100, maxMilliseconds: 2 },
      });
      this.topics.set(name, topic);
    }
    return topic;
  }
}
