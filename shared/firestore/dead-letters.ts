import type { Firestore } from '@google-cloud/firestore';
import { COLLECTIONS } from './collections.js';
import { documentId } from './document-id.js';

export interface DeadLetter {
  /** Where it arrived: a subscription name. */
  readonly source: string;
  readonly messageId: string;
  readonly reason: string;
  /** The payload as delivered (base64), cut to 64 KiB. */
  readonly data: string;
  readonly attributes: Record<string, string>;
}

const MAX_DATA_CHARS = 64 * 1024;

/**
 * Keeps messages that could not be understood, so an acknowledged bad message is never lost.
 * Keyed by source and message id: recording a redelivery again changes nothing.
 */
export class DeadLetterBox {
  constructor(private readonly db: Firestore) {}

  async record(letter: DeadLetter): Promise<void> {
    await this.db
      .collection(COLLECTIONS.deadLetters)
      .doc(documentId(letter.source, letter.messageId))
      .set({
        ...letter,
        data: letter.data.slice(0, MAX_DATA_CHARS),
        truncated: letter.data.length > MAX_DATA_CHARS,
        recordedAt: new Date().toISOString(),
      });
  }
}
