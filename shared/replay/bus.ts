import type { MessagePublisher, PublishOptions } from '../pubsub/publisher.js';

/** A message as a push subscriber receives it: the JSON it was published as, parsed again. */
export interface BusMessage {
  readonly messageId: string;
  readonly topic: string;
  readonly data: unknown;
  readonly attributes: Readonly<Record<string, string>>;
}

export type BusSubscriber = (message: BusMessage) => Promise<void>;

/** A subscriber that still failed after its subscription's delivery attempts. */
export interface FailedDelivery {
  readonly message: BusMessage;
  readonly subscriber: string;
  readonly error: string;
}

/**
 * Pub/Sub for a replay: published messages queue in process and go to their topic's subscribers
 * one at a time, in publish order, when the replay drains the queue; so a replay is
 * deterministic. A subscriber that throws is retried, as Pub/Sub redelivers, up to its
 * attempts; then the message is kept as a failed delivery (Pub/Sub's dead-letter topic).
 */
export class ReplayBus implements MessagePublisher {
  private readonly queue: BusMessage[] = [];
  private readonly subscribers = new Map<string, { name: string; attempts: number; deliver: BusSubscriber }[]>();
  private nextId = 0;
  readonly failed: FailedDelivery[] = [];
  published = 0;

  subscribe(topic: string, name: string, attempts: number, deliver: BusSubscriber): void {
    const list = this.subscribers.get(topic) ?? [];
    list.push({ name, attempts, deliver });
    this.subscribers.set(topic, list);
  }

  async publish(topic: string, message: unknown, options: PublishOptions = {}): Promise<string> {
    this.nextId += 1;
    this.published += 1;
    const messageId = String(this.nextId);
    this.queue.push({ messageId, topic, data: JSON.parse(JSON.stringify(message)) as unknown, attributes: { ...options.attributes } });
    return messageId;
  }

  /** Delivers until nothing is left, including what the deliveries publish. */
  async drain(): Promise<void> {
    for (let message = this.queue.shift(); message; message = this.queue.shift()) {
      for (const subscriber of this.subscribers.get(message.topic) ?? []) {
        for (let attempt = 1; ; attempt += 1) {
          try {
            await subscriber.deliver(message);
            break;
          } catch (error) {
            if (attempt >= subscriber.attempts) {
              this.failed.push({ message, subscriber: subscriber.name, error: error instanceof Error ? error.message : String(error) });
              break;
            }
          }
        }
      }
    }
  }
}
