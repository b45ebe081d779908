import type { DocumentData, DocumentReference, Transaction } from '@google-cloud/firestore';

/**
 * A Firestore transaction shared by the jobs of one batch, each job in its own layer: a job reads
 * what earlier jobs of the batch wrote, and stages its writes in its layer; a job that fails is
 * dropped with its layer, and the others' writes go out in one commit. Reads are cached, so a
 * batch reads each document from Firestore once (one getAll up front for what jobs declare).
 */

export class StagedWriteConflict extends Error {
  override readonly name = 'StagedWriteConflict';
}

/** What a job read outside the transaction changed meanwhile: the whole batch runs again. */
export class StaleRead extends Error {
  override readonly name = 'StaleRead';
  /** gRPC ABORTED: the transaction retry loop treats it as contention. */
  readonly code = 10;
}

interface StagedWrite {
  readonly ref: DocumentReference;
  readonly create: boolean;
  readonly data: DocumentData;
}

export class StagedTransaction {
  private readonly staged = new Map<string, StagedWrite>();

  private constructor(
    private readonly tx: Transaction,
    /** Snapshots read in this transaction, by path; shared by every layer. */
    private readonly cache: Map<string, DocumentData | undefined>,
    private readonly parent: StagedTransaction | undefined,
  ) {}

  static over(tx: Transaction): StagedTransaction {
    return new StagedTransaction(tx, new Map(), undefined);
  }

  /** Reads the documents not read yet, in one round trip. */
  async prefetch(refs: readonly DocumentReference[]): Promise<void> {
    const unique = [...new Map(refs.filter((r) => !this.cache.has(r.path)).map((r) => [r.path, r])).values()];
    if (unique.length === 0) return;
    const snaps = await this.tx.getAll(...unique);
    snaps.forEach((snap, i) => this.cache.set((unique[i] as DocumentReference).path, snap.exists ? snap.data() : undefined));
  }

  /** The document as this layer sees it: staged by this batch, else as read; undefined when absent. */
  async get(ref: DocumentReference): Promise<DocumentData | undefined> {
    const write = this.stagedWrite(ref.path);
    if (write) return write.data;
    if (!this.cache.has(ref.path)) await this.prefetch([ref]);
    return this.cache.get(ref.path);
  }

  /** The document as committed when this transaction read it, ignoring what the batch staged. */
  async committed(ref: DocumentReference): Promise<DocumentData | undefined> {
    if (!this.cache.has(ref.path)) await this.prefetch([ref]);
    return this.cache.get(ref.path);
  }

  /** What this layer and those under it staged in `collectionPath`. */
  stagedIn(collectionPath: string): DocumentData[] {
    const found = new Map<string, DocumentData>();
    for (let layer: StagedTransaction | undefined = this; layer; layer = layer.parent) {
      for (const [path, write] of layer.staged) {
        if (write.ref.parent.path === collectionPath && !found.has(path)) found.set(path, write.data);
      }
    }
    return [...found.values()];
  }

  /** Creates a document; a second create of one document fails this job, not the batch. */
  async create(ref: DocumentReference, data: DocumentData): Promise<void> {
    if ((await this.get(ref)) !== undefined) throw new StagedWriteConflict(`${ref.path} already exists`);
    this.staged.set(ref.path, { ref, create: true, data });
  }

  set(ref: DocumentReference, data: DocumentData): void {
    // A document created earlier in this batch is still a create, now with these contents.
    const earlier = this.stagedWrite(ref.path);
    this.staged.set(ref.path, { ref, create: earlier?.create ?? false, data });
  }

  /** A layer for one job, over this one. */
  layer(): StagedTransaction {
    return new StagedTransaction(this.tx, this.cache, this);
  }

  /** Keeps a job's writes: they move into the layer it was made from. */
  keep(): void {
    if (!this.parent) throw new Error('the root layer has nothing to keep into');
    for (const [path, write] of this.staged) this.parent.staged.set(path, write);
    this.staged.clear();
  }

  /** Hands the root layer's writes to the transaction; one write per document. */
  flush(): number {
    if (this.parent) throw new Error('only the root layer flushes');
    for (const write of this.staged.values()) {
      if (write.create) this.tx.create(write.ref, write.data);
      else this.tx.set(write.ref, write.data);
    }
    return this.staged.size;
  }

  private stagedWrite(path: string): StagedWrite | undefined {
    for (let layer: StagedTransaction | undefined = this; layer; layer = layer.parent) {
      const write = layer.staged.get(path);
      if (write) return write;
    }
    return undefined;
  }
}
