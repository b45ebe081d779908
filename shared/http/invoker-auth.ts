import type { HttpFunction } from '@google-cloud/functions-framework';
import { OAuth2Client } from 'google-auth-library';
import { log } from '../log.js';
import { sendProblem } from './problems.js';
import { bearerToken } from './secrets.js';

/**
 * Pub/Sub push and Cloud Scheduler calls carry a Google-signed OIDC token. Deployed, the
 * function checks it itself: signed by Google, for this function's URL (the audience; the
 * library checks it only when it is passed), issued to the invoker service account.
 */

const ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];

export type CertificateSource = () => Promise<Record<string, string>>;

export interface InvokerPolicy {
  readonly serviceAccount: string;
  /** Defaults to the URL the request reached: https://<host>. */
  readonly audience?: string;
  /** Google's signing certificates; replaceable in tests. */
  readonly certificates?: CertificateSource;
}

export type InvokerVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export class InvokerVerifier {
  private readonly client = new OAuth2Client();
  private readonly certificates: CertificateSource;

  constructor(private readonly policy: InvokerPolicy) {
    this.certificates = policy.certificates ?? (async () => (await this.client.getFederatedSignonCertsAsync()).certs as Record<string, string>);
  }

  async verify(authorization: string | undefined, host: string | undefined): Promise<InvokerVerdict> {
    const token = bearerToken(authorization);
    if (!token) return { ok: false, reason: 'no bearer token' };
    const audience = this.policy.audience ?? `https://${host ?? ''}`;
    try {
      const ticket = await this.client.verifySignedJwtWithCertsAsync(token, await this.certificates(), audience, ISSUERS);
      const payload = ticket.getPayload();
      if (payload?.email !== this.policy.serviceAccount || payload.email_verified !== true) {
        return { ok: false, reason: 'token was not issued to the invoker service account' };
      }
      return { ok: true };
    } catch (error) {
      // The library's message goes on to quote the token or its payload: only its first clause is kept.
      return { ok: false, reason: `invalid token: ${((error as Error).message.split(/[:,]/)[0] ?? '').slice(0, 80)}` };
    }
  }
}

/** Wraps a Pub/Sub push or Cloud Scheduler handler; without a verifier (locally) it passes through. */
export function requireInvoker(verifier: InvokerVerifier | undefined, handler: HttpFunction): HttpFunction {
  if (!verifier) return handler;
  return async (req, res) => {
    const verdict = await verifier.verify(req.get('authorization'), req.get('host'));
    if (!verdict.ok) {
      log.warn('call refused: not the invoker', { reason: verdict.reason });
      sendProblem(res, 401, 'caller is not the invoker service account');
      return;
    }
    return handler(req, res);
  };
}

/** The verifier a function uses when deployed: INVOKER_SERVICE_ACCOUNT turns verification on. */
export function invokerVerifierFromConfig(config: { INVOKER_SERVICE_ACCOUNT?: string | undefined }): InvokerVerifier | undefined {
  return config.INVOKER_SERVICE_ACCOUNT ? new InvokerVerifier({ serviceAccount: config.INVOKER_SERVICE_ACCOUNT }) : undefined;
}
