import type { Response } from '@google-cloud/functions-framework';
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
