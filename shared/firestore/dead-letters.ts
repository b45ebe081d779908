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

/**
 * Every field of a dead letter is bounded: whatever arrived, the record is a valid Firestore
 * document (well under its 1 MiB) written on the first delivery, instead of a write that fails
 * on every redelivery. The limits are Pub/Sub's own where it has them (100 attributes, names
 * of 256 bytes, values of 1,024) — real messages fit; forged or corrupted envelopes are cut.
 */
const MAX_DATA_BYTES = 64 * 1024;
const MAX_SOURCE_BYTES = 256;
const MAX_MESSAGE_ID_BYTES = 1_024;
const MAX_REASON_BYTES = 2_000;
const MAX_ATTRIBUTES = 100;
const MAX_ATTRIBUTE_NAME_BYTES = 256;
const MAX_ATTRIBUTE_VALUE_BYTES = 1_024;

/** `text` with lone UTF-16 surrogates (JSON can carry them) as U+FFFD: Firestore stores only UTF-8. */
function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** `text`, well-formed, cut to at most `maxBytes` of UTF-8 on a character boundary. */
export function clipped(text: string, maxBytes: number): string {
  const whole = wellFormed(text);
  if (whole.length <= maxBytes / 3 || Buffer.byteLength(whole, 'utf8') <= maxBytes) return whole;
  // A cut inside a UTF-8 sequence decodes to U+FFFD: drop it.
  return Buffer.from(whole, 'utf8').subarray(0, maxBytes).toString('utf8').replace(/\uFFFD$/, '');
}

/** An attribute name as a Firestore map key: never empty, never `__…__` (reserved). */
function fieldName(name: string): string {
  const cut = clipped(name, MAX_ATTRIBUTE_NAME_BYTES - 2);
  return cut === '' || /^__.*__$/s.test(cut) ? `(${cut})` : cut;
}

/**
 * Keeps messages that could not be understood, so an acknowledged bad message is never lost.
 * Keyed by source and message id (whole, whatever their length): recording a redelivery again
 * changes nothing. `truncated` says whether anything of the message was cut.
 */
export class DeadLetterBox {
  constructor(private readonly db: Firestore) {}

  async record(letter: DeadLetter): Promise<void> {
    const entries = Object.entries(letter.attributes);
    const attributes = Object.fromEntries(entries.slice(0, MAX_ATTRIBUTES).map(([name, value]) => [fieldName(name), clipped(value, MAX_ATTRIBUTE_VALUE_BYTES)]));
    const kept = {
      source: clipped(letter.source, MAX_SOURCE_BYTES),
      messageId: clipped(letter.messageId, MAX_MESSAGE_ID_BYTES),
      reason: clipped(letter.reason, MAX_REASON_BYTES),
      data: clipped(letter.data, MAX_DATA_BYTES),
      attributes,
    };
    const truncated =
      kept.source !== letter.source ||
      kept.messageId !== letter.messageId ||
      kept.reason !== letter.reason ||
      kept.data !== letter.data ||
      entries.length > MAX_ATTRIBUTES ||
      entries.slice(0, MAX_ATTRIBUTES).some(([name, value]) => attributes[fieldName(name)] !== value || fieldName(name) !== name);
    await this.db
      .collection(COLLECTIONS.deadLetters)
      .doc(documentId(wellFormed(letter.source), wellFormed(letter.messageId)))
      .set({ ...kept, truncated, recordedAt: new Date().toISOString() });
  }
}
