import type { PubSub } from '@google-cloud/pubsub';

/**
 * A Pub/Sub client loaded on first use: the library takes a large share of a function's cold
 * start, and a function answers health checks and refusals before it ever publishes. One
 * client per process and project; PUBSUB_EMULATOR_HOST points it at the emulator.
 */
const clients = new Map<string, Promise<PubSub>>();

export function pubsubOnFirstUse(projectId: string): () => Promise<PubSub> {
  return () => {
    let client = clients.get(projectId);
    if (!client) {
      client = import('@google-cloud/pubsub').then(({ PubSub: Client }) => new Client({ projectId }));
      clients.set(projectId, client);
    }
    return client;
  };
}
