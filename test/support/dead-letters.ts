import type { Firestore } from '@google-cloud/firestore';
import { COLLECTIONS } from '../../shared/firestore/collections.js';
import type { DeadLetter } from '../../shared/firestore/dead-letters.js';

/** What a push function kept of a message it could not understand, as stored. */
export type StoredDeadLetter = DeadLetter & { readonly truncated: boolean; readonly recordedAt: string };

/**
 * The dead letter kept for `messageId` from `source` (the subscription it arrived on, named after
 * the function it pushes to), at deadLetters/{source}:{messageId}; undefined until there is one.
 */
export async function deadLetterOf(db: Firestore, source: string, messageId: string): Promise<StoredDeadLetter | undefined> {
  return (await db.collection(COLLECTIONS.deadLetters).doc(`${source}:${messageId}`).get()).data() as StoredDeadLetter | undefined;
}

/** Every dead letter kept from `source`, the subscription the messages arrived on. */
export async function deadLettersFrom(db: Firestore, source: string): Promise<StoredDeadLetter[]> {
  return (await db.collection(COLLECTIONS.deadLetters).where('source', '==', source).get()).docs.map((d) => d.data() as StoredDeadLetter);
}
