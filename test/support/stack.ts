import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { Message, PubSub, Subscription } from '@google-cloud/pubsub';

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

/** Collects every message published to a topic from now on, through its own pull subscription. */
export class TopicTap<T = unknown> {
  readonly messages: { data: T; attributes: Record<string, string> }[] = [];

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
