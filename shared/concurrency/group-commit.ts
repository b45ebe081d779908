/**
 * Group commit: work submitted for the same key while a commit for that key is in flight is
 * queued and committed together in the next one. One key never has two commits in flight, so
 * one agent's events stop fighting over the agent's ledger document; the queue turns
 * contention into batching. No I/O here: the commit function is supplied.
 *
 * A commit answers each item on its own, so one item that fails (a poisoned message) fails
 * alone while the rest of its batch commits. An optional pace is awaited before each batch is
 * taken: items arriving meanwhile join it, so a paced key commits less often, in bigger batches.
 */

export type ItemResult<Result> = { readonly ok: true; readonly value: Result } | { readonly ok: false; readonly error: unknown };

export type CommitBatch<Key, Item, Result> = (key: Key, items: readonly Item[]) => Promise<readonly ItemResult<Result>[]>;

export interface GroupCommitOptions<Key> {
  readonly maxBatch: number;
  /** Resolves when the next commit for `key` may start (a rate limit per key). */
  readonly pace?: (key: Key) => Promise<void>;
}

interface Waiter<Item, Result> {
  readonly item: Item;
  readonly resolve: (result: Result) => void;
  readonly reject: (error: unknown) => void;
}

export class BatchResultMismatch extends Error {
  override readonly name = 'BatchResultMismatch';
}

export class GroupCommitter<Key, Item, Result> {
  private readonly queues = new Map<Key, Waiter<Item, Result>[]>();
  private readonly maxBatch: number;

  constructor(
    private readonly commit: CommitBatch<Key, Item, Result>,
    private readonly options: GroupCommitOptions<Key>,
  ) {
    this.maxBatch = options.maxBatch;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${this.maxBatch}`);
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
      outsideRequestDomain(() => void this.drain(key));
    });
  }

  private async drain(key: Key): Promise<void> {
    for (;;) {
      if (!this.queues.get(key)?.length) {
        this.queues.delete(key);
        return;
      }
      // Paced only when there is a batch to take: an idle key spends nothing.
      if (this.options.pace) await this.options.pace(key).catch(() => undefined);
      const queue = this.queues.get(key) as Waiter<Item, Result>[];
      const batch = queue.splice(0, this.maxBatch);
      try {
        const results = await this.commit(
          key,
          batch.map((w) => w.item),
        );
        if (results.length !== batch.length) {
          throw new BatchResultMismatch(`commit returned ${results.length} results for ${batch.length} items`);
        }
        batch.forEach((waiter, i) => {
          const result = results[i] as ItemResult<Result>;
          if (result.ok) waiter.resolve(result.value);
          else waiter.reject(result.error);
        });
      } catch (error) {
        for (const waiter of batch) waiter.reject(error);
      }
    }
  }
}

/**
 * Runs `start` outside the `domain` of the request that happens to call it. functions-framework
 * runs each request in a domain, and every promise callback created within one enters and leaves
 * it; a batch is shared work, so its transactions would pay that on every callback, and an error
 * in it would be charged to one request.
 */
function outsideRequestDomain(start: () => void): void {
  const active = (process as { domain?: { exit(): void; enter(): void } | null }).domain;
  if (!active) return start();
  active.exit();
  try {
    start();
  } finally {
    active.enter();
  }
}
