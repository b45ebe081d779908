import { type IncomingHttpHeaders, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A local stand-in for an HTTP receiver (a Slack incoming webhook, a generic webhook): records
 * every request and answers with the status `respond` chooses.
 */
export interface RecordingServer {
  readonly url: string;
  /** Every request received so far, in arrival order. */
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startRecordingServer(respond: (request: RecordedRequest, index: number) => number = () => 200, okBody = 'ok'): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const request = { path: req.url ?? '/', headers: req.headers, body };
      const status = respond(request, requests.length);
      requests.push(request);
      res.writeHead(status, { 'content-type': okBody.startsWith('{') ? 'application/json' : 'text/plain' });
      res.end(status < 300 ? okBody : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
