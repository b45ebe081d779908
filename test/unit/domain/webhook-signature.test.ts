import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook } from '../../../shared/domain/webhook-signature.js';

const SECRET = 'whsec-broker-one';
const NOW = 1_767_323_045;
const BODY = Buffer.from('{"eventId":"evt-1","status":"FILLED"}');

function verify(overrides: Partial<Parameters<typeof verifyWebhook>[0]> = {}) {
  return verifyWebhook({
    secrets: [SECRET],
    timestampHeader: String(NOW),
    signatureHeader: signWebhook(SECRET, NOW, BODY),
    rawBody: BODY,
    nowSeconds: NOW,
    ...overrides,
  });
}

describe('webhook signatures', () => {
  it('signs "<timestamp>.<raw body>" with HMAC-SHA256 as v1=<hex>', () => {
    const expected = createHmac('sha256', SECRET).update(`${NOW}.${BODY.toString()}`).digest('hex');
    expect(signWebhook(SECRET, NOW, BODY)).toBe(`v1=${expected}`);
    expect(signWebhook(SECRET, NOW, BODY.toString())).toBe(`v1=${expected}`);
    expect(() => signWebhook(SECRET, 1.5, BODY)).toThrow(RangeError);
  });

  it('accepts what it signed, body as bytes or text', () => {
    expect(verify()).toEqual({ ok: true });
    expect(verify({ rawBody: BODY.toString() })).toEqual({ ok: true });
    expect(verify({ timestampHeader: ` ${NOW} ` })).toEqual({ ok: true });
  });

  it('refuses a tampered body, a wrong secret or a signature of another timestamp', () => {
    expect(verify({ rawBody: Buffer.from('{"eventId":"evt-1","status":"FILLED" }') })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verify({ secrets: ['another-secret'] })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verify({ timestampHeader: String(NOW + 1) })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verify({ secrets: [] })).toEqual({ ok: false, reason: 'bad_signature' });
    // An empty configured secret is no secret: a body "signed" with it does not pass.
    expect(verify({ secrets: [''], signatureHeader: signWebhook('', NOW, BODY) })).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses timestamps beyond the tolerance, in the past and in the future', () => {
    const at = (timestamp: number, toleranceSeconds?: number) =>
      verify({ timestampHeader: String(timestamp), signatureHeader: signWebhook(SECRET, timestamp, BODY), ...(toleranceSeconds === undefined ? {} : { toleranceSeconds }) });
    expect(at(NOW - 300)).toEqual({ ok: true });
    expect(at(NOW + 300)).toEqual({ ok: true });
    expect(at(NOW - 301)).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(at(NOW + 301)).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(at(NOW - 60, 30)).toEqual({ ok: false, reason: 'stale_timestamp' });
  });

  it('accepts any current secret and any of several v1 signatures while rotating', () => {
    const oldSecret = 'whsec-old';
    const newSecret = 'whsec-new';
    expect(verify({ secrets: [oldSecret, newSecret], signatureHeader: signWebhook(oldSecret, NOW, BODY) })).toEqual({ ok: true });
    expect(verify({ secrets: [oldSecret, newSecret], signatureHeader: signWebhook(newSecret, NOW, BODY) })).toEqual({ ok: true });
    const both = `${signWebhook(oldSecret, NOW, BODY)}, ${signWebhook(newSecret, NOW, BODY)}`;
    expect(verify({ secrets: [newSecret], signatureHeader: both })).toEqual({ ok: true });
    expect(verify({ secrets: [oldSecret], signatureHeader: both })).toEqual({ ok: true });
    expect(verify({ secrets: ['third'], signatureHeader: both })).toEqual({ ok: false, reason: 'bad_signature' });
    // Entries of other schemes are ignored.
    expect(verify({ signatureHeader: `v0=abc,${signWebhook(SECRET, NOW, BODY)}` })).toEqual({ ok: true });
  });

  it('tells a missing signature from a malformed one', () => {
    expect(verify({ signatureHeader: undefined })).toEqual({ ok: false, reason: 'missing_signature' });
    expect(verify({ timestampHeader: undefined })).toEqual({ ok: false, reason: 'missing_signature' });
    expect(verify({ signatureHeader: '  ' })).toEqual({ ok: false, reason: 'missing_signature' });
    expect(verify({ timestampHeader: '2026-01-02T03:04:05Z' })).toEqual({ ok: false, reason: 'malformed_signature' });
    expect(verify({ timestampHeader: '-5' })).toEqual({ ok: false, reason: 'malformed_signature' });
    expect(verify({ signatureHeader: 'deadbeef' })).toEqual({ ok: false, reason: 'malformed_signature' });
    expect(verify({ signatureHeader: 'v1=deadbeef' })).toEqual({ ok: false, reason: 'malformed_signature' });
    expect(verify({ signatureHeader: `v1=${'z'.repeat(64)}` })).toEqual({ ok: false, reason: 'malformed_signature' });
    expect(verify({ signatureHeader: 'v0=abc' })).toEqual({ ok: false, reason: 'malformed_signature' });
  });
});
