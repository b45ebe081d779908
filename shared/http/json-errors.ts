import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import express from 'express';
import { FUNCTIONS, pushTriggers } from '../../triggers/manifest.js';

/**
 * functions-framework parses a request's body before any function code runs, and leaves its
 * failures — a body that is not JSON, an unknown charset or Content-Encoding — to Express's
 * default final handler: an HTML page with a stack trace and the server's file paths, before
 * any authentication. This gives every Express app made after it (functions-framework makes one
 * when it serves the function) a final handler that answers a JSON problem instead, in the shape
 * of `sendProblem` (problems.ts): `{"error": "…"}`, application/json. Each HTTP function imports
 * it first; express is external to the bundles, so this is the instance functions-framework uses.
 *
 * It also refuses, before the framework reads a byte of the body, what no Sapphire route takes:
 * - a body larger than BODY_LIMIT_BYTES (413): the framework's own limit is 1 GB, so a large
 *   enough body ran the instance out of memory. Pub/Sub push and Cloud Scheduler calls, at the
 *   function's root or the manifest's push path, may carry up to PUSH_BODY_LIMIT_BYTES: a push
 *   envelope holds up to 10 MB of message as base64.
 * - a body that is neither JSON nor text/plain (415): forms, multipart, XML, octet streams, or no
 *   Content-Type at all. Every route takes JSON; TradingView sends its JSON as text/plain.
 * - a compressed body (415): inflated by the framework up to 1 GB, a few kilobytes of gzip
 *   could exhaust the memory; nobody sending to Sapphire compresses.
 * - /favicon.ico and /robots.txt, which the framework answers with an empty 404, get a JSON 404.
 */

export const BODY_LIMIT_BYTES = 1024 * 1024;
export const PUSH_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

/** Where Pub/Sub pushes and Cloud Scheduler calls: the function's root, or a push path. */
const PUSH_PATHS = new Set(['/', ...FUNCTIONS.flatMap((spec) => pushTriggers(spec).map((trigger) => trigger.pushPath ?? '/'))]);

interface HttpError {
  readonly status?: number;
  readonly statusCode?: number;
  readonly type?: string;
}

const MESSAGES: Record<number, string> = {
  400: 'the request body is not valid for its Content-Type (malformed JSON, form or text)',
  404: 'no such route',
  413: 'the request body is too large',
  415: 'unsupported charset or Content-Encoding',
};

function answer(res: Response, error: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const failure = (error ?? {}) as HttpError;
  const raw = failure.status ?? failure.statusCode ?? (error === undefined ? 404 : 500);
  const status = raw >= 400 && raw < 600 ? raw : 500;
  res.status(status).json({ error: MESSAGES[status] ?? (status >= 500 ? 'internal error' : 'bad request') });
}

/** Answers before Express has dressed `res` (its `status` and `json` come with the app). */
function refuse(res: ServerResponse, status: number, error: string): void {
  const body = JSON.stringify({ error });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** Content types a body may have: JSON, and text/plain (TradingView's JSON). */
function acceptedType(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type) || type === 'text/plain';
}

/** Why the request is refused before its body is read, or undefined to let it through. */
function refusal(req: IncomingMessage): { status: number; error: string } | undefined {
  const path = pathOf(req);
  if (path === '/favicon.ico' || path === '/robots.txt') return { status: 404, error: MESSAGES[404] as string };
  const length = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if (!chunked && (length === undefined || Number(length) === 0)) return undefined;
  const limit = PUSH_PATHS.has(path) ? PUSH_BODY_LIMIT_BYTES : BODY_LIMIT_BYTES;
  if (length !== undefined && Number(length) > limit) return { status: 413, error: `${MESSAGES[413]}: at most ${limit} bytes` };
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== '') return { status: 415, error: 'compressed bodies are not accepted (Content-Encoding)' };
  if (!acceptedType(req.headers['content-type'])) return { status: 415, error: 'the body must be JSON (Content-Type: application/json)' };
  if (chunked) limitStream(req, limit);
  return undefined;
}

/**
 * A body without a Content-Length is counted as it arrives: past `limit`, its bytes are dropped
 * and the framework's reader fails with 413 (answered by the final handler below).
 */
function limitStream(req: IncomingMessage, limit: number): void {
  const push = req.push.bind(req);
  let received = 0;
  let refused = false;
  req.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (chunk === null) return push(null);
    if (refused) return true;
    received += (chunk as Buffer).length;
    if (received <= limit) return push(chunk, encoding);
    refused = true;
    const tooLarge = Object.assign(new Error('request entity too large'), { status: 413, type: 'entity.too.large' });
    // The framework's body reader listens for errors while it reads; nothing else reads a body.
    if (req.listenerCount('error') > 0) process.nextTick(() => req.emit('error', tooLarge));
    return true;
  };
}

type Handle = (this: unknown, req: Request, res: Response, callback?: (error?: unknown) => void) => void;
const application = express.application as unknown as { handle: Handle; jsonFinalHandler?: true };
if (!application.jsonFinalHandler) {
  const handle = application.handle;
  application.handle = function handleWithJsonErrors(req, res, callback) {
    const refused = refusal(req);
    if (refused) {
      refuse(res, refused.status, refused.error);
      return;
    }
    handle.call(this, req, res, callback ?? ((error?: unknown) => answer(res, error)));
  };
  application.jsonFinalHandler = true;
}
