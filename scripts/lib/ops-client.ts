import { useLocalEnv } from './local-env.js';
import { LOCAL_DEFAULTS } from './local-defaults.js';

/**
 * Calls ops-api for the operator commands (npm run training, npm run agents): against the local
 * stack it finds ops-api and its token by itself; elsewhere SAPPHIRE_OPS_API_URL and OPS_TOKEN.
 */

export function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

export async function opsApi(method: 'GET' | 'POST' | 'PATCH' | 'PUT', path: string, body?: unknown): Promise<unknown> {
  if (!process.env.SAPPHIRE_OPS_API_URL) await useLocalEnv().catch((error: Error) => fail(error.message));
  const base = process.env.SAPPHIRE_OPS_API_URL || fail('no ops-api: start the local stack (npm start) or set SAPPHIRE_OPS_API_URL');
  const token = process.env.OPS_TOKEN ?? (LOCAL_DEFAULTS.OPS_API_TOKENS as string).split(':')[1];
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const answer = (await response.json().catch(() => ({}))) as { error?: string; fields?: { field: string; message: string }[] };
  if (!response.ok) fail(`ops-api answered ${response.status}: ${answer.error ?? ''}${answer.fields ? ` (${answer.fields.map((f) => `${f.field}: ${f.message}`).join('; ')})` : ''}`);
  return answer;
}
