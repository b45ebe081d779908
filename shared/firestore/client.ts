import { Firestore } from '@google-cloud/firestore';

/**
 * One Firestore client per process and project. FIRESTORE_EMULATOR_HOST, when set, points it
 * at the emulator.
 */
const clients = new Map<string, Firestore>();

export function firestoreFor(projectId: string): Firestore {
  let client = clients.get(projectId);
  if (!client) {
    client = new Firestore({ projectId, ignoreUndefinedProperties: true });
    clients.set(projectId, client);
  }
  return client;
}
