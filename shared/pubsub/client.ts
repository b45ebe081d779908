import { PubSub } from '@google-cloud/pubsub';

/** One Pub/Sub client per process and project; PUBSUB_EMULATOR_HOST points it at the emulator. */
const clients = new Map<string, PubSub>();

export function pubsubFor(projectId: string): PubSub {
  let client = clients.get(projectId);
  if (!client) {
    client = new PubSub({ projectId });
    clients.set(projectId, client);
  }
  return client;
}
