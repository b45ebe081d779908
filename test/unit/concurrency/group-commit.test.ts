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
      return items.map((i) => i.toUpperCase());
    }, 3);
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
      return items;
    }, 10);
    await Promise.all(['x', 'y', 'z'].map((key) => committer.submit(key, 1)));
    expect(maxInFlight).toBe(3);
  });

  it('fails every item of a failed batch and keeps serving later ones', async () => {
    let calls = 0;
    const committer = new GroupCommitter<string, number, number>(async (_key, items) => {
      calls += 1;
      if (calls === 1) throw new Error('aborted');
      return items;
    }, 10);
    await expect(committer.submit('k', 1)).rejects.toThrow('aborted');
    await expect(committer.submit('k', 2)).resolves.toBe(2);
  });
});
