import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OAuth2Client } from 'google-auth-library';

/**
 * A local stand-in for Vertex AI's REST predict endpoint:
 *   POST /v1/projects/{p}/locations/{l}/endpoints/{e}:predict  {"instances": [...]}
 *   → {"predictions": [...], "deployedModelId": "…"}
 * Each request takes the next scripted reply for its endpoint (the last one repeats).
 */

export type Reply =
  | { readonly predictions: unknown[]; readonly delayMs?: number }
  | { readonly status: number; readonly delayMs?: number };

export interface VertexStandIn {
  readonly host: string;
  readonly port: number;
  readonly requests: { endpoint: string; body: { instances: unknown[] } }[];
  script(endpoint: string, ...replies: Reply[]): void;
  close(): Promise<void>;
}

export async function startVertexStandIn(): Promise<VertexStandIn> {
  const scripts = new Map<string, Reply[]>();
  const requests: VertexStandIn['requests'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const match = /^\/v1\/(projects\/[^/]+\/locations\/[^/]+\/endpoints\/[^/:]+):predict/.exec(req.url ?? '');
      if (req.method !== 'POST' || !match?.[1]) {
        res.writeHead(404).end();
        return;
      }
      const endpoint = match[1];
      requests.push({ endpoint, body: JSON.parse(body) as { instances: unknown[] } });
      const queue = scripts.get(endpoint) ?? [];
      const reply = (queue.length > 1 ? queue.shift() : queue[0]) ?? { status: 404 };
      setTimeout(() => {
        if (res.destroyed) return;
        if ('status' in reply) {
          res.writeHead(reply.status, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: reply.status, message: 'scripted failure', status: 'UNAVAILABLE' } }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ predictions: reply.predictions, deployedModelId: '1' }));
      }, reply.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    requests,
    script: (endpoint, ...replies) => void scripts.set(endpoint, [...replies]),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Credentials that need no network: a fixed access token. */
export function staticTokenAuth(): OAuth2Client {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: 'stand-in-token', expiry_date: Date.now() + 3_600_000 });
  return client;
}
