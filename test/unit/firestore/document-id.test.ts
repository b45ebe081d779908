import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { documentId } from '../../../shared/firestore/document-id.js';

/** Firestore's rules for a document id. */
function isValidDocumentId(id: string): boolean {
  return id.length > 0 && !id.includes('/') && id !== '.' && id !== '..' && !/^__.*__$/.test(id) && Buffer.byteLength(id, 'utf8') <= 1_500;
}

describe('documentId', () => {
  it('leaves the keys Sapphire makes itself unchanged', () => {
    expect(documentId('margin-reservation', '1234567890')).toBe('margin-reservation:1234567890');
    expect(documentId('monitoring:0.abc_DEF-9', 'open', 'ops-slack')).toBe('monitoring:0.abc_DEF-9:open:ops-slack');
  });

  it('escapes what Firestore refuses', () => {
    expect(documentId('a/b')).toBe('a%2Fb');
    expect(documentId('__probe:x12__')).toBe('%5F_probe:x12__');
    expect(documentId('.')).toBe('%00%2E');
    expect(documentId('..')).toBe('%00%2E%2E');
    expect(documentId('')).toBe('%00');
    expect(documentId('100%')).toBe('100%25');
  });

  it('turns a long key into a readable head and a digest', () => {
    const id = documentId('webhook', 'x'.repeat(2_000));
    expect(id).toMatch(/^webhook:x{192}~[0-9a-f]{64}$/);
    expect(documentId('webhook', 'x'.repeat(2_001))).not.toBe(id);
  });

  it('always makes a valid id, and never the same id for two keys', () => {
    const part = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('/', '.', '..', '__', '%', '~', '%2F', '%5F'), fc.string({ minLength: 390, maxLength: 800 }));
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 3 }), fc.array(part, { minLength: 1, maxLength: 3 }), (a, b) => {
        expect(isValidDocumentId(documentId(...a))).toBe(true);
        if (a.join(':') !== b.join(':')) expect(documentId(...a)).not.toBe(documentId(...b));
      }),
      { numRuns: 3_000 },
    );
  });
});
