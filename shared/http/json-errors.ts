import type { Request, Response } from 'express';
import express from 'express';

/**
 * functions-framework parses a request's body before any function code runs, and leaves its
 * failures — a body that is not JSON, an unknown charset or Content-Encoding — to Express's
 * default final handler: an HTML page with a stack trace and the server's file paths, before
 * any authentication. This gives every Express app made after it (functions-framework makes one
 * when it serves the function) a final handler that answers a JSON problem instead. Each HTTP
 * function imports it first; express is external to the bundles, so this is the instance
 * functions-framework uses.
 */

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

type Handle = (this: unknown, req: Request, res: Response, callback?: (error?: unknown) => void) => void;
const application = express.application as unknown as { handle: Handle; jsonFinalHandler?: true };
if (!application.jsonFinalHandler) {
  const handle = application.handle;
  application.handle = function handleWithJsonErrors(req, res, callback) {
    handle.call(this, req, res, callback ?? ((error?: unknown) => answer(res, error)));
  };
  application.jsonFinalHandler = true;
}
