import { Agent, request } from 'node:http';
import type { Message, PubSub, Subscription } from '@google-cloud/pubsub';
import type { PushTrigger } from '../../triggers/manifest.js';
import { deadLetterAttributes, isPushAck, pushBackoffMs, pushEnvelope, type PulledMessage } from './push-delivery.js';

/**
 * Local push delivery that behaves like Cloud Pub/Sub push, with the emulator as the broker:
 * pulls each push subscription of triggers/ (streaming pull) and POSTs the push envelope to the
 * function, many requests in flight. A 2xx acknowledges; anything else, or no answer within the
 * ack deadline, is retried after the subscription's exponential backoff; after
 * `maxDeliveryAttempts` the message goes to the dead-letter topic and is acknowledged. The
 * emulator's own push keeps about two requests in flight per subscription and ignores backoff
 * and dead-letter policies, so it shows neither Cloud Pub/Sub's speed nor its failure handling.
 */

export interface RelayRoute {
  readonly trigger: PushTrigger;
  /** Full URL the push goes to. */
  readonly endpoint: string;
}

export interface PushRelayOptions {
  /**
   * Push requests in flight at once per subscription, as Cloud Pub/Sub's push flow control is
   * per subscription: a slow endpoint holds its own subscription's requests, no other's.
   */
  readonly maxInFlight?: number;
  /** Where to count (sharedRelayStats, when another thread reads them); a plain object by default. */
  readonly stats?: PushRelayStats;
}

export interface PushRelayStats {
  /** POSTs made, first attempts and retries. */
  attempts: number;
  acked: number;
  /** Attempts answered with a failure or not answered in time. */
  failures: number;
  deadLettered: number;
  /** The most push requests in flight at once, all subscriptions together. */
  maxInFlight: number;
}

const STAT_FIELDS = ['attempts', 'acked', 'failures', 'deadLettered', 'maxInFlight'] as const;

/** Relay counters in shared memory: the relay's thread writes them, the stack's thread reads them. */
export function sharedRelayStats(buffer = new SharedArrayBuffer(STAT_FIELDS.length * Int32Array.BYTES_PER_ELEMENT)): PushRelayStats & { readonly buffer: SharedArrayBuffer } {
  const cells = new Int32Array(buffer);
  const stats = { buffer } as PushRelayStats & { buffer: SharedArrayBuffer };
  STAT_FIELDS.forEach((field, i) => {
    Object.defineProperty(stats, field, { enumerable: true, get: () => Atomics.load(cells, i), set: (value: number) => Atomics.store(cells, i, value) });
  });
  return stats;
}

/** Request slots of one subscription; a released slot passes straight to the longest waiter. */
class Slots {
  private inUse = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async acquire(): Promise<void> {
    if (this.inUse < this.limit) this.inUse += 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.inUse -= 1;
  }
}

export class PushRelay {
  readonly stats: PushRelayStats;
  /** Attempts per message id: the emulator does not count deliveries. */
  private readonly attempts = new Map<string, number>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly slots = new Map<string, Slots>();
  private inFlight = 0;
  private stopped = false;
  /** Kept-alive connections to the functions, as Pub/Sub's push keeps them. */
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });

  private readonly subscriptions: Subscription[] = [];

  private constructor(
    private readonly pubsub: PubSub,
    private readonly maxInFlight: number,
    stats: PushRelayStats | undefined,
  ) {
    this.stats = stats ?? { attempts: 0, acked: 0, failures: 0, deadLettered: 0, maxInFlight: 0 };
  }

  static start(pubsub: PubSub, routes: readonly RelayRoute[], options: PushRelayOptions = {}): PushRelay {
    const relay = new PushRelay(pubsub, options.maxInFlight ?? 200, options.stats);
    for (const route of routes) relay.listen(route);
    return relay;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    await Promise.all(this.subscriptions.map((s) => s.close()));
    this.agent.destroy();
  }

  private listen(route: RelayRoute): void {
    const subscription = this.pubsub.subscription(route.trigger.subscription, {
      // Messages waiting out a backoff stay leased; flow control must not starve the rest.
      flowControl: { maxMessages: 10_000, allowExcessMessages: false },
    });
    subscription.on('message', (message: Message) => void this.deliver(route, subscription.name, message));
    subscription.on('error', (error: Error) => {
      if (!this.stopped) process.stderr.write(`push relay ${route.trigger.subscription}: ${error.message}\n`);
    });
    this.subscriptions.push(subscription);
  }

  private async deliver(route: RelayRoute, subscriptionPath: string, message: Message): Promise<void> {
    const pulled: PulledMessage = {
      id: message.id,
      data: message.data,
      attributes: message.attributes,
      publishTime: new Date(message.publishTime.getTime()),
      ...(message.orderingKey ? { orderingKey: message.orderingKey } : {}),
    };
    const attempt = (this.attempts.get(message.id) ?? 0) + 1;
    this.attempts.set(message.id, attempt);
    const acknowledged = await this.post(route, pushEnvelope(subscriptionPath, pulled, attempt));
    if (this.stopped) return;
    if (acknowledged) {
      this.stats.acked += 1;
      this.attempts.delete(message.id);
      message.ack();
      return;
    }
    this.stats.failures += 1;
    const { deadLetter, retry } = route.trigger;
    if (attempt >= deadLetter.maxDeliveryAttempts) {
      try {
        await this.pubsub.topic(deadLetter.topic).publishMessage({ data: pulled.data, attributes: deadLetterAttributes(pulled, subscriptionPath, attempt) });
        this.stats.deadLettered += 1;
        this.attempts.delete(message.id);
        message.ack();
      } catch {
        message.nack(); // the dead-letter topic is unreachable: keep the message
      }
      return;
    }
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      message.nack(); // redelivered now, after the backoff
    }, pushBackoffMs(retry, attempt));
    this.retryTimers.add(timer);
  }

  /** One push request; true when the function acknowledged it. */
  private async post(route: RelayRoute, body: unknown): Promise<boolean> {
    let slots = this.slots.get(route.trigger.subscription);
    if (!slots) this.slots.set(route.trigger.subscription, (slots = new Slots(this.maxInFlight)));
    await slots.acquire();
    this.inFlight += 1;
    this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.inFlight);
    this.stats.attempts += 1;
    try {
      return isPushAck(await this.send(route.endpoint, JSON.stringify(body), route.trigger.ackDeadlineSeconds * 1_000));
    } catch {
      return false; // refused, reset or timed out: a nack, as Cloud Pub/Sub counts it
    } finally {
      this.inFlight -= 1;
      slots.release();
    }
  }

  /** POSTs JSON and resolves with the status once the answer is read, or rejects after `timeoutMs` in all. */
  private send(url: string, json: string, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        { method: 'POST', agent: this.agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) } },
        (res) => {
          res.resume(); // the body is not needed, only read to free the connection
          res.once('end', () => {
            clearTimeout(deadline);
            resolve(res.statusCode ?? 0);
          });
          res.once('error', reject);
        },
      );
      const deadline = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      req.once('error', (error) => {
        clearTimeout(deadline);
        reject(error);
      });
      req.end(json);
    });
  }
}
