import { createHash } from 'node:crypto';

/**
 * Firestore document ids from business keys. An id may not contain '/', may not be '.' or '..',
 * may not match `__.*__` (reserved), and is at most 1,500 bytes. Keys that come from outside
 * (Pub/Sub message ids, broker event ids, incident ids) can be any of those, and a write under an
 * invalid id fails every redelivery. Escaping is injective, so two keys never share a document,
 * and leaves the tame keys Sapphire makes itself (letters, digits, . _ : -) unchanged.
 */

/** Longest id kept readable as is; a longer one becomes a head and a digest of the whole. */
const MAX_ID_BYTES = 400;
const HEAD_BYTES = 200;

/** The parts joined by ':' as one valid document id. */
export function documentId(...parts: readonly string[]): string {
  // '%' first: it is the escape character; '~' marks digested ids, so no plain id may hold one.
  let id = parts.join(':').replace(/%/g, '%25').replace(/\//g, '%2F').replace(/~/g, '%7E');
  if (id === '' || id === '.' || id === '..') id = `%00${id.replace(/\./g, '%2E')}`;
  if (id.startsWith('__')) id = `%5F${id.slice(1)}`;
  if (Buffer.byteLength(id, 'utf8') <= MAX_ID_BYTES) return id;
  const digest = createHash('sha256').update(id).digest('hex');
  // Cut on a character boundary: a split UTF-8 sequence would decode to U+FFFD.
  const head = Buffer.from(id, 'utf8').subarray(0, HEAD_BYTES).toString('utf8').replace(/\uFFFD$/, '');
  return `${head}~${digest}`;
}
