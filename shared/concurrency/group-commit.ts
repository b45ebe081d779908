/**
 * Group commit: work submitted for the same key while a commit for that key is in flight is
 * queued and committed together in the next one. One key never has two commits in flight, so
 * one agent's reservations stop fighting over the agent's ledger document; the queue turns
 * contention into batching. No I/O here: the commit function is supplied.
 */

export type CommitBatch<Key, Item, Result> = (key: Key, items: readonly Item[]) => Promise<readonly Result[]>;

interface Waiter<Item, Result> {
  readonly item: Item;
  readonly resolve: (result: Result) => void;
  readonly reject: (error: unknown) => void;
}

export class GroupCommitter<Key, Item, Result> {
  private readonly queues = new Map<Key, Waiter<Item, Result>[]>();

  constructor(
    private readonly commit: CommitBatch<Key, Item, Result>,
    private readonly maxBatch: number,
  ) {
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);
  }

  /** Resolves with this item's result once the batch that carried it has committed. */
  submit(key: Key, item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      const queue = this.queues.get(key);
      if (queue) {
        queue.push({ item, resolve, reject });
        return;
      }
      this.queues.set(key, [{ item, resolve, reject }]);
      void this.drain(key);
    });
  }

  private async drain(key: Key): Promise<void> {
    for (;;) {
      const queue = this.queues.get(key);
      if (!queue || queue.length === 0) {
        this.queues.delete(key);
        return;
      }
      const batch = queue.splice(0, this.maxBatch);
      try {
        const results = await this.commit(
          key,
          batch.map((w) => w.item),
        );
        if (results.length !== batch.length) {
          throw new Error(`commit returned ${results.length} results for ${batch.length} items`);
        }
        batch.forEach((waiter, i) => waiter.resolve(results[i] as Result));
      } catch (error) {
        for (const waiter of batch) waiter.reject(error);
      }
    }
  }
}
