import { log } from '../log.js';

/**
 * Runs one order's, agent's or flatten's step of a scheduled run; a failure is logged (an error,
 * which the guardrail policies alert on) and recorded in `failures`, and never stops the steps of
 * the others.
 */
export async function isolated<T>(failures: string[], what: string, fields: Record<string, unknown>, step: () => Promise<T>): Promise<T | undefined> {
  try {
    return await step();
  } catch (error) {
    failures.push(what);
    log.error('reconciliation step failed; the others go on', { ...fields, step: what, error });
    return undefined;
  }
}
