import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares a presented secret with every accepted one in constant time. Hashing first makes
 * the comparison independent of length, and every candidate is compared, match or not.
 */
export function matchesAnySecret(presented: string, accepted: readonly string[]): boolean {
  const digest = createHash('sha256').update(presented).digest();
  let matched = false;
  for (const secret of accepted) {
    const expected = createHash('sha256').update(secret).digest();
    matched = timingSafeEqual(digest, expected) || matched;
  }
  return matched;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
