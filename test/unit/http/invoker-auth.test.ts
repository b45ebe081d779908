import { createSign, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvokerVerifier } from '../../../shared/http/invoker-auth.js';

/** OIDC tokens signed with a local key standing in for Google's, checked by the real library code. */

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KID = 'local-test-key';
const INVOKER = 'sapphire-invoker@sapphire-prod.iam.gserviceaccount.com';
const URL = 'https://margin-reservation-abc123-uc.a.run.app';
const b64url = (value: object | Buffer) => (Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value))).toString('base64url');

function token(claims: Record<string, unknown>, key = privateKey): string {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url({ alg: 'RS256', typ: 'JWT', kid: KID });
  const payload = b64url({ iss: 'https://accounts.google.com', aud: URL, email: INVOKER, email_verified: true, sub: '1', iat: now, exp: now + 600, ...claims });
  const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(key);
  return `${header}.${payload}.${b64url(signature)}`;
}

const verifier = new InvokerVerifier({
  serviceAccount: INVOKER,
  certificates: async () => ({ [KID]: publicKey.export({ type: 'spki', format: 'pem' }).toString() }),
});
const host = new globalThis.URL(URL).host;

describe('InvokerVerifier', () => {
  it('accepts a token for this function from the invoker account', async () => {
    expect(await verifier.verify(`Bearer ${token({})}`, host)).toEqual({ ok: true });
  });

  it.each([
    ['no token', undefined],
    ['another audience', `Bearer ${token({ aud: 'https://order-router-abc123-uc.a.run.app' })}`],
    ['another account', `Bearer ${token({ email: 'someone@example.com' })}`],
    ['an unverified e-mail', `Bearer ${token({ email_verified: false })}`],
    ['an expired token', `Bearer ${token({ iat: 1_600_000_000, exp: 1_600_000_600 })}`],
    ['another issuer', `Bearer ${token({ iss: 'https://evil.example.com' })}`],
    ['a token signed with another key', `Bearer ${token({}, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)}`],
  ])('refuses %s, saying why without quoting the token', async (_label, header) => {
    const verdict = await verifier.verify(header, host);
    expect(verdict.ok).toBe(false);
    const [, payload, signature] = (header ?? '').replace('Bearer ', '').split('.');
    const reason = (verdict as { reason: string }).reason;
    for (const part of [payload, signature]) if (part) expect(reason).not.toContain(part.slice(0, 12));
    expect(reason).not.toMatch(/@|eyJ/);
  });
});
