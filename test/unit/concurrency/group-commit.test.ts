import { describe, expect, it } from 'vitest';
import { GroupCommitter } from '../../../shared/concurrency/group-commit.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommitter', () => {
  it('commits what arrives while a commit is in flight as one batch, one commit per key at a time', async () => {
    const batches: string[][] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const committer = new GroupCommitter<string, string, string>(async (key, items) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      batches.push([key, ...items]);
      await tick();
      inFlight -= 1;
      return items.map((i) => ({ ok: true, value: i.toUpperCase() }) as const);
    }, { maxBatch: 3 });
    const results = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((item) => committer.submit('k', item)));
    expect(results).toEqual(['A', 'B', 'C', 'D', 'E']);
    expect(batches).toEqual([['k', 'a'], ['k', 'b', 'c', 'd'], ['k', 'e']]);
    expect(maxInFlight).toBe(1);
  });

  it('runs different keys in parallel', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const committer = new GroupCommitter<string, number, number>(async (_key, items) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await tick();
      inFlight -= 1;
      return items.map((value) => ({ ok: true, value }) as const);
    }, { maxBatch: 10 });
    await Promise.all(['x', 'y', 'z'].map((key) => committer.submit(key, 1)));
    expect(maxInFlight).toBe(3);
  });

  it('fails every item of a failed batch and keeps serving later ones', async () => {
    let calls = 0;
    const committer = new GroupCommitter<string, number, number>(async (_key, items) => {
      calls += 1;
      if (calls === 1) throw new Error('aborted');
      return items.map((value) => ({ ok: true, value }) as const);
    }, { maxBatch: 10 });
    await expect(committer.submit('k', 1)).rejects.toThrow('aborted');
    await expect(committer.submit('k', 2)).resolves.toBe(2);
  });

  it('fails one item alone when the commit says so; the rest of its batch resolves', async () => {
    const committer = new GroupCommitter<string, number, number>(async (_key, items) => {
      await tick();
      return items.map((n) => (n === 13 ? { ok: false, error: new RangeError('poison') } : { ok: true, value: n * 2 }));
    }, { maxBatch: 10 });
    const results = await Promise.allSettled([1, 13, 2].map((n) => committer.submit('k', n)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([2, 'poison', 4]);
  });

  it('waits for the pace before taking a batch, so what arrives meanwhile commits with it', async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    let paced = 0;
    const committer = new GroupCommitter<string, number, number>(async (_key, items) => {
      batches.push([...items]);
      return items.map((value) => ({ ok: true, value }) as const);
    }, {
      maxBatch: 100,
      pace: () => {
        paced += 1;
        return paced === 1 ? Promise.resolve() : new Promise<void>((resolve) => (release = resolve));
      },
    });
    const first = committer.submit('k', 1);
    await first;
    const later = [2, 3, 4].map((n) => committer.submit('k', n));
    await tick();
    release();
    await Promise.all(later);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('paces batches only: a key that goes idle takes no more turns than it committed', async () => {
    let paced = 0;
    const committer = new GroupCommitter<string, number, number>(async (_key, items) => items.map((value) => ({ ok: true, value }) as const), {
      maxBatch: 10,
      pace: async () => {
        paced += 1;
      },
    });
    await committer.submit('k', 1);
    await committer.submit('k', 2);
    expect(paced).toBe(2);
  });

  it("commits outside the domain of the request that started the batch, and leaves that request in its domain", async () => {
    const { create } = await import('node:domain');
    const activeDomain = () => (process as { domain?: unknown }).domain;
    const seen: unknown[] = [];
    const committer = new GroupCommitter<string, number, number>(
      async (_key, items) => {
        seen.push(activeDomain());
        await Promise.resolve();
        seen.push(activeDomain());
        return items.map((n) => ({ ok: true, value: n * 2 }) as const);
      },
      { maxBatch: 10 },
    );
    const request = create();
    const answered = await new Promise<{ result: number; domainAfterSubmit: unknown }>((resolve, reject) => {
      request.on('error', reject);
      request.run(() => {
        const pending = committer.submit('a', 21);
        const domainAfterSubmit = activeDomain();
        void pending.then((result) => resolve({ result, domainAfterSubmit }), reject);
      });
    });
    expect(answered).toEqual({ result: 42, domainAfterSubmit: request });
    expect(seen).toEqual([undefined, undefined]);
  });
});

