import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Authenticity of broker webhooks. A broker sends
 *   X-Sapphire-Timestamp: <unix seconds>
 *   X-Sapphire-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body bytes>" with its secret>
 * Signing the timestamp with the body lets us refuse old requests replayed verbatim; signing
 * the raw bytes (not re-serialized JSON) makes the check independent of JSON formatting.
 */

export const TIMESTAMP_HEADER = 'X-Sapphire-Timestamp';
export const SIGNATURE_HEADER = 'X-Sapphire-Signature';
export const DEFAULT_TOLERANCE_SECONDS = 300;

export type WebhookVerdict =
  | { ok: true }
  | { ok: false; reason: 'missing_signature' | 'malformed_signature' | 'stale_timestamp' | 'bad_signature' };

export interface VerifyWebhookInput {
  /** Every secret currently accepted for the sender; more than one while rotating. */
  readonly secrets: readonly string[];
  readonly timestampHeader: string | undefined;
  readonly signatureHeader: string | undefined;
  readonly rawBody: Buffer | string;
  readonly nowSeconds: number;
  readonly toleranceSeconds?: number;
}

function digest(secret: string, timestamp: string, rawBody: Buffer | string): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
}

/** The X-Sapphire-Signature header value for a body sent at `timestampSeconds`. */
export function signWebhook(secret: string, timestampSeconds: number, rawBody: Buffer | string): string {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new RangeError(`timestamp must be whole unix seconds, got ${timestampSeconds}`);
  }
  return `v1=${digest(secret, String(timestampSeconds), rawBody).toString('hex')}`;
}

/** The v1 signatures of a header such as "v1=ab…,v1=cd…"; other schemes are ignored. */
function v1Signatures(header: string): Buffer[] | undefined {
  const signatures: Buffer[] = [];
  for (const entry of header.split(',')) {
    const match = /^\s*([A-Za-z0-9]+)=(\S*)\s*$/.exec(entry);
    if (!match) return undefined;
    if (match[1] !== 'v1') continue;
    const hex = match[2] ?? '';
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) return undefined;
    signatures.push(Buffer.from(hex, 'hex'));
  }
  return signatures.length > 0 ? signatures : undefined;
}

export function verifyWebhook(input: VerifyWebhookInput): WebhookVerdict {
  const { secrets, timestampHeader, signatureHeader, rawBody, nowSeconds } = input;
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (!timestampHeader?.trim() || !signatureHeader?.trim()) return { ok: false, reason: 'missing_signature' };

  const timestamp = timestampHeader.trim();
  if (!/^\d{1,15}$/.test(timestamp)) return { ok: false, reason: 'malformed_signature' };
  const signatures = v1Signatures(signatureHeader);
  if (!signatures) return { ok: false, reason: 'malformed_signature' };

  // Both directions: a future timestamp would otherwise stay replayable until it became current.
  if (Math.abs(nowSeconds - Number(timestamp)) > tolerance) return { ok: false, reason: 'stale_timestamp' };

  // Every secret against every signature, no early exit: timing says nothing about which matched.
  let matched = false;
  for (const secret of secrets) {
    // An empty secret is a missing one, not a key anyone can sign with.
    if (secret.length === 0) continue;
    const expected = digest(secret, timestamp, rawBody);
    for (const signature of signatures) {
      matched = timingSafeEqual(expected, signature) || matched;
    }
  }
  return matched ? { ok: true } : { ok: false, reason: 'bad_signature' };
}
