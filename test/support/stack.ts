import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { Message, PubSub, Subscription } from '@google-cloud/pubsub';
import { type LocalPushDelivery, provisionPubSub } from '../../scripts/lib/provision.js';

/**
 * Helpers for integration tests against the emulators started by global-emulators.ts. Each test
 * file is its own process and picks its own project id, which isolates its data.
 */

/** Points this process at a fresh project on the emulators; call before importing a function. */
export function isolatedProject(label: string): string {
  const projectId = `t-${label}-${randomBytes(3).toString('hex')}`.slice(0, 30);
  process.env.GOOGLE_CLOUD_PROJECT = projectId;
  return projectId;
}

export interface ServedFunction {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Loads a function's module (which registers it) and serves it with functions-framework.
 * `load` is an import() of functions/<name>/index.js, written out so the bundler sees it.
 */
export async function serveFunction(load: () => Promise<unknown>, entryPoint: string): Promise<ServedFunction> {
  await load();
  const server: Server = getTestServer(entryPoint);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Creates the topics and subscriptions of triggers/manifest.ts and pushes each function's
 * subscriptions to the served function of that name (`{ 'margin-reservation': fn }`). Functions
 * not named get nothing pushed: `deliverPushTo(pubsub, {})` only provisions.
 */
export function deliverPushTo(pubsub: PubSub, served: Readonly<Record<string, ServedFunction>>): Promise<LocalPushDelivery> {
  return provisionPubSub(pubsub, (name) => {
    const fn = served[name];
    return fn ? `${fn.url}/` : undefined;
  });
}

/** What a test file opens in beforeAll: a served function, a tap, a push delivery, a stand-in. */
export type Closable = { close(): Promise<void> } | { stop(): Promise<void> };

/** Closes (or stops) each in the order given, skipping what beforeAll never got to open. */
export async function closeInOrder(...resources: readonly (Closable | undefined)[]): Promise<void> {
  for (const resource of resources) {
    if (resource === undefined) continue;
    await ('close' in resource ? resource.close() : resource.stop());
  }
}

export interface TappedMessage<T> {
  readonly data: T;
  readonly attributes: Record<string, string>;
}

/** Collects every message published to a topic from now on, through its own pull subscription. */
export class TopicTap<T = unknown> {
  readonly messages: TappedMessage<T>[] = [];

  private constructor(private readonly subscription: Subscription) {
    subscription.on('message', (message: Message) => {
      this.messages.push({ data: JSON.parse(message.data.toString('utf8')) as T, attributes: message.attributes });
      message.ack();
    });
  }

  static async open<T>(pubsub: PubSub, topic: string): Promise<TopicTap<T>> {
    const name = `tap-${topic}-${randomBytes(3).toString('hex')}`;
    const [subscription] = await pubsub.topic(topic).createSubscription(name);
    return new TopicTap<T>(subscription);
  }

  /** Waits until a message whose data `matches` has arrived, and returns the first such. */
  async waitForMessage(what: string, matches: (data: T) => boolean, timeoutMs?: number): Promise<TappedMessage<T>> {
    await waitUntil(what, () => this.messages.some((m) => matches(m.data)), timeoutMs);
    return this.messages.find((m) => matches(m.data)) as TappedMessage<T>;
  }

  async close(): Promise<void> {
    await this.subscription.close();
  }
}

export async function waitUntil(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Waits until `read()` returns the same value twice, `quietMs` apart. */
export async function settle<T>(read: () => T, quietMs = 1_000): Promise<T> {
  let last = JSON.stringify(read());
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    const now = JSON.stringify(read());
    if (now === last) return read();
    last = now;
  }
}
