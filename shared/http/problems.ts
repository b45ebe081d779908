import type { Request, Response } from '@google-cloud/functions-framework';
import type { z } from 'zod';

export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({ field: issue.path.join('.') || '(body)', message: issue.message }));
}

/** Answers with a JSON problem; 400s carry the failing fields. */
export function sendProblem(res: Response, status: number, error: string, fields?: readonly FieldError[]): void {
  res.status(status).json(fields ? { error, fields } : { error });
}

/**
 * Answers 415 when the request carries a body that is not JSON, and says so. json-errors.ts lets
 * text/plain through for TradingView; every route that reads a JSON object calls this first.
 */
export function refuseNonJsonBody(req: Request, res: Response): boolean {
  const length = req.get('content-length');
  const hasBody = req.get('transfer-encoding') !== undefined || (length !== undefined && Number(length) > 0);
  if (!hasBody || req.is(['application/json', '+json'])) return false;
  sendProblem(res, 415, 'the body must be JSON (Content-Type: application/json)');
  return true;
}

/**
 * Pub/Sub push and Cloud Scheduler call one route: POST `path` (the function's root, or the
 * manifest's push path) with a JSON body or none. Answers anything else — another path (404),
 * another method (405), a body that is not JSON (415) — and says so.
 */
export function refuseAllButPost(req: Request, res: Response, path = '/'): boolean {
  if (req.path !== path) {
    sendProblem(res, 404, `no such route: this function answers POST ${path} only`);
    return true;
  }
  if (req.method !== 'POST') {
    sendProblem(res, 405, `this function answers POST ${path} only`);
    return true;
  }
  return refuseNonJsonBody(req, res);
}
