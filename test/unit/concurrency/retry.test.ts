import { describe, expect, it } from 'vitest';
import { backoffDelayMs, retryWithBackoff } from '../../../shared/concurrency/retry.js';

const policy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 300, jitter: 'equal' as const };

class Flaky extends Error {}

/** An operation that fails `failures` times with `error`, then answers 'ok'; records its attempts. */
function failing(failures: number, error: () => Error = () => new Flaky('busy')) {
  const attempts: number[] = [];
  const operation = async (attempt: number) => {
    attempts.push(attempt);
    if (attempts.length <= failures) throw error();
    return 'ok';
  };
  return { attempts, operation };
}

describe('backoffDelayMs', () => {
  it('doubles the ceiling after every failure up to the maximum', () => {
    const top = () => 0.999_999;
    expect([1, 2, 3, 4].map((n) => Math.round(backoffDelayMs(policy, n, top)))).toEqual([100, 200, 300, 300]);
  });

  it('waits at least half the ceiling with equal jitter and may not wait at all with full jitter', () => {
    expect(backoffDelayMs(policy, 2, () => 0)).toBe(100);
    expect(backoffDelayMs({ ...policy, jitter: 'full' }, 2, () => 0)).toBe(0);
  });
});

describe('retryWithBackoff', () => {
  it('retries until the operation succeeds, waiting between tries', async () => {
    const waits: number[] = [];
    const { attempts, operation } = failing(2);
    const result = await retryWithBackoff(operation, { ...policy, retryOn: () => true, sleep: async (ms) => void waits.push(ms) });
    expect(result).toBe('ok');
    expect(attempts).toEqual([1, 2, 3]);
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(50);
    expect(waits[0]).toBeLessThanOrEqual(100);
    expect(waits[1]).toBeGreaterThanOrEqual(100);
    expect(waits[1]).toBeLessThanOrEqual(200);
  });

  it('throws the last error unchanged once the attempts are spent', async () => {
    const { attempts, operation } = failing(10);
    const error = await retryWithBackoff(operation, { ...policy, retryOn: () => true, sleep: async () => undefined }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Flaky);
    expect(attempts).toEqual([1, 2, 3, 4]);
  });

  it('does not retry what retryOn refuses', async () => {
    const { attempts, operation } = failing(10, () => new TypeError('bad request'));
    await expect(retryWithBackoff(operation, { ...policy, retryOn: (e) => e instanceof Flaky, sleep: async () => undefined })).rejects.toBeInstanceOf(TypeError);
    expect(attempts).toEqual([1]);
  });

  it('waits what the failure asks for, capped at the maximum', async () => {
    const waits: number[] = [];
    const { operation } = failing(2);
    let asked = 0;
    await retryWithBackoff(operation, { ...policy, retryOn: () => ({ delayMs: [250, 5_000][asked++] ?? 0 }), sleep: async (ms) => void waits.push(ms) });
    expect(waits).toEqual([250, 300]);
  });
});
