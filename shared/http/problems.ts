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
