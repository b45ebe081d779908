import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Binance request signing: HMAC-SHA256 of the exact query string with the API secret, as
 * lowercase hex, appended as the last parameter `signature`.
 */

export type QueryParams = Record<string, string | number | boolean | undefined>;

export function signQuery(query: string, secret: string): string {
  return createHmac('sha256', secret).update(query).digest('hex');
}

/** Parameters in the order given, URL-encoded, undefined ones dropped. */
export function encodeQuery(params: QueryParams): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.append(key, String(value));
  return search.toString();
}

export function buildSignedQuery(params: QueryParams, secret: string): string {
  const query = encodeQuery(params);
  return `${query}&signature=${signQuery(query, secret)}`;
}

/** Checks a received query whose last parameter is `signature` (constant-time comparison). */
export function verifySignedQuery(query: string, secret: string): boolean {
  const at = query.lastIndexOf('&signature=');
  if (at < 0) return false;
  const presented = Buffer.from(query.slice(at + '&signature='.length), 'utf8');
  const expected = Buffer.from(signQuery(query.slice(0, at), secret), 'utf8');
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}
