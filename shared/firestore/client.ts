import { createRequire } from 'node:module';
import type { AggregateField, FieldValue, Firestore } from '@google-cloud/firestore';

/**
 * One Firestore client per process and project, loaded on first use. The library takes about a
 * third of a function's cold start (its gRPC client loads with it), and a function answers
 * health checks, refusals and bad input before it ever reads a document; so `firestoreFor`
 * hands out a stand-in that loads and builds the real client the first time anything on it is
 * touched, and forwards everything to it from then on. FIRESTORE_EMULATOR_HOST, when set,
 * points it at the emulator.
 */

type FirestoreModule = typeof import('@google-cloud/firestore');

const requireModule = createRequire(import.meta.url);
let loaded: FirestoreModule | undefined;
const firestoreModule = (): FirestoreModule => (loaded ??= requireModule('@google-cloud/firestore') as FirestoreModule);

const clients = new Map<string, Firestore>();

export function firestoreFor(projectId: string): Firestore {
  let client = clients.get(projectId);
  if (!client) {
    client = builtOnFirstUse(() => new (firestoreModule().Firestore)({ projectId, ignoreUndefinedProperties: true }));
    clients.set(projectId, client);
  }
  return client;
}

/** The server's commit time, as a field value; loads the library like the client does. */
export function serverTimestamp(): FieldValue {
  return firestoreModule().FieldValue.serverTimestamp();
}

/** Count and sum aggregations (the library's AggregateField), loaded like the client. */
export function aggregateFields(): typeof AggregateField {
  return firestoreModule().AggregateField;
}

/**
 * An object that stands for `build()`'s result. Methods are called with the stand-in as `this`,
 * so the references a client makes point back to the one object callers hold; every property
 * read and write reaches the real client.
 */
function builtOnFirstUse<T extends object>(build: () => T): T {
  let real: T | undefined;
  const target = () => (real ??= build());
  return new Proxy({} as T, {
    get: (_, key) => Reflect.get(target(), key),
    set: (_, key, value) => Reflect.set(target(), key, value),
    has: (_, key) => Reflect.has(target(), key),
    deleteProperty: (_, key) => Reflect.deleteProperty(target(), key),
    ownKeys: () => Reflect.ownKeys(target()),
    getOwnPropertyDescriptor: (_, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(target(), key);
      // A proxy may not report a property its (empty) target lacks as non-configurable.
      return descriptor && { ...descriptor, configurable: true };
    },
    defineProperty: (_, key, descriptor) => Reflect.defineProperty(target(), key, descriptor),
    getPrototypeOf: () => Reflect.getPrototypeOf(target()),
  });
}
