import type { Firestore, Transaction } from '@google-cloud/firestore';
import { z } from 'zod';
import { AlertMessage } from '../domain/messages.js';
import type { MessagePublisher } from '../pubsub/publisher.js';
import { COLLECTIONS } from './collections.js';
import { documentId } from './document-id.js';

/**
 * Alerts are written to an outbox in the transaction that decides them, then published; what a
 * crash left unpublished goes out with the next run. Consumers dedupe by (episodeId, transition).
 */

const OutboxEntry = z.object({ alert: AlertMessage, publishedAt: z.string().nullable() });

export function addToOutbox(db: Firestore, tx: Transaction, alert: AlertMessage): void {
  tx.create(db.collection(COLLECTIONS.alertOutbox).doc(documentId(alert.episodeId, alert.transition)), { alert, publishedAt: null });
}

/** Publishes every alert not yet published to `topic`; returns how many went out. */
export async function flushOutbox(db: Firestore, publisher: MessagePublisher, topic: string): Promise<number> {
  const snap = await db.collection(COLLECTIONS.alertOutbox).where('publishedAt', '==', null).get();
  for (const doc of snap.docs) {
    const { alert } = OutboxEntry.parse(doc.data());
    await publisher.publish(topic, alert, { attributes: { episodeId: alert.episodeId, transition: alert.transition } });
    await doc.ref.update({ publishedAt: new Date().toISOString() });
  }
  return snap.size;
}
