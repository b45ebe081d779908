import { FieldValue, type Firestore, Timestamp } from '@google-cloud/firestore';

/**
 * An in-process document store with the part of the Firestore client's API Sapphire uses, so a
 * replay runs the deployed code (repositories, transactions, queries) over a market window
 * without a network round trip per read. Semantics kept from Firestore where Sapphire relies on
 * them: documents are copied in and out (no aliasing), Dates read back as Timestamps,
 * serverTimestamp() is the clock at commit, create() of an existing document and update() of a
 * missing one fail with Firestore's codes, a transaction commits all of its writes or none and
 * aborts (ABORTED) when a document it read changed before its commit, queries skip documents
 * without the filtered field and come back in document-id order unless ordered otherwise (an
 * inequality filter orders by its field first).
 * Auto ids are a counter, so runs are deterministic. Anything else fails loudly
 * (UnsupportedInMemory) rather than answering differently from Firestore.
 */

export class UnsupportedInMemory extends Error {
  override readonly name = 'UnsupportedInMemory';
}

/** An error carrying a gRPC status code, as the client library's errors do. */
class StoreError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(`${code} ${message}`);
  }
}
const ALREADY_EXISTS = 6;
const NOT_FOUND = 5;
const ABORTED = 10;
const INVALID_ARGUMENT = 3;

type Data = Record<string, unknown>;

interface StoredDocument {
  readonly data: Data;
  readonly version: number;
}

/** One document written by a commit: its collection path, its id and what was stored (undefined: deleted). */
export interface ObservedWrite {
  readonly collection: string;
  readonly id: string;
  readonly data: Data | undefined;
}

/** Told every commit's writes together, after they are stored; it must not change them. */
export type CommitObserver = (writes: readonly ObservedWrite[]) => void;

export interface MemoryFirestoreOptions {
  /** Collections whose history nobody on the replayed path reads back: only their latest document is kept. */
  readonly latestOnly?: readonly string[];
}

const SERVER_TIMESTAMP = FieldValue.serverTimestamp();
const DELETE_FIELD = FieldValue.delete();

function copyIn(value: unknown, now: () => Timestamp, path: string): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return Timestamp.fromDate(value);
  // Firestore keeps microseconds: finer nanoseconds are dropped.
  if (value instanceof Timestamp) return value.nanoseconds % 1000 === 0 ? value : new Timestamp(value.seconds, value.nanoseconds - (value.nanoseconds % 1000));
  if (value instanceof FieldValue) {
    if (value.isEqual(SERVER_TIMESTAMP)) return now();
    throw new UnsupportedInMemory(`field value ${value.constructor.name} at ${path}`);
  }
  // ignoreUndefinedProperties leaves undefined elements out of arrays too.
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map((v, i) => copyIn(v, now, `${path}.${i}`));
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  const out: Data = {};
  for (const [key, v] of Object.entries(value)) {
    // As the product's client is configured: ignoreUndefinedProperties.
    if (v !== undefined) out[key] = copyIn(v, now, `${path}.${key}`);
  }
  return out;
}

function copyOut<T>(value: T): T {
  if (value === null || typeof value !== 'object' || value instanceof Timestamp) return value;
  if (Array.isArray(value)) return value.map(copyOut) as T;
  if (Buffer.isBuffer(value)) return Buffer.from(value) as T;
  const out: Data = {};
  for (const [key, v] of Object.entries(value)) out[key] = copyOut(v);
  return out as T;
}

function fieldOf(data: Data, fieldPath: string): unknown {
  let value: unknown = data;
  for (const part of fieldPath.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as Data)[part];
  }
  return value;
}

/** Firestore's order across types: null, booleans, numbers, timestamps, strings, arrays, maps. */
function typeRank(v: unknown): number {
  if (v === null) return 0;
  if (typeof v === 'boolean') return 1;
  if (typeof v === 'number') return 2;
  if (v instanceof Timestamp) return 3;
  if (typeof v === 'string') return 4;
  if (Array.isArray(v)) return 8;
  return 9;
}

/** Firestore orders strings by their UTF-8 bytes: by code point, where UTF-16 units put U+10000 and above before U+E000–U+FFFF. */
function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  for (let i = 0; i < Math.min(a.length, b.length); i += 1) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const surrogateX = x >= 0xd800 && x <= 0xdfff;
    if (surrogateX !== (y >= 0xd800 && y <= 0xdfff)) return surrogateX ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  if (a instanceof Timestamp && b instanceof Timestamp) return a.toMillis() - b.toMillis() || a.nanoseconds - b.nanoseconds;
  if (typeof a === 'number' || typeof a === 'boolean') return Number(a) - Number(b);
  if (typeof a === 'string') return compareStrings(a, b as string);
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i += 1) {
      const c = compareValues(a[i], b[i]);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  // Maps: key by key in key order, then the shorter first.
  if (isMap(a) && isMap(b)) {
    const keysA = Object.keys(a).sort(compareStrings);
    const keysB = Object.keys(b).sort(compareStrings);
    for (let i = 0; i < Math.min(keysA.length, keysB.length); i += 1) {
      const c = compareStrings(keysA[i] as string, keysB[i] as string) || compareValues(a[keysA[i] as string], b[keysB[i] as string]);
      if (c !== 0) return c;
    }
    return keysA.length - keysB.length;
  }
  return JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0;
}

const equal = (a: unknown, b: unknown) => typeRank(a) === typeRank(b) && compareValues(a, b) === 0;

type WhereOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not-in' | 'array-contains' | 'array-contains-any';

const INEQUALITIES: ReadonlySet<WhereOp> = new Set<WhereOp>(['!=', '<', '<=', '>', '>=', 'not-in']);

function matches(value: unknown, op: WhereOp, operand: unknown): boolean {
  if (value === undefined) return false;
  switch (op) {
    case '==':
      return equal(value, operand);
    case '!=':
      return value !== null && !equal(value, operand);
    case '<':
      return typeRank(value) === typeRank(operand) && compareValues(value, operand) < 0;
    case '<=':
      return typeRank(value) === typeRank(operand) && compareValues(value, operand) <= 0;
    case '>':
      return typeRank(value) === typeRank(operand) && compareValues(value, operand) > 0;
    case '>=':
      return typeRank(value) === typeRank(operand) && compareValues(value, operand) >= 0;
    // As the emulator answers: in never matches null, not-in with null in its list matches nothing.
    case 'in':
      return value !== null && (operand as unknown[]).some((o) => equal(value, o));
    case 'not-in':
      return value !== null && !(operand as unknown[]).includes(null) && !(operand as unknown[]).some((o) => equal(value, o));
    case 'array-contains':
      return Array.isArray(value) && value.some((v) => equal(v, operand));
    case 'array-contains-any':
      return Array.isArray(value) && value.some((v) => (operand as unknown[]).some((o) => equal(v, o)));
  }
}

class MemorySnapshot {
  constructor(
    readonly ref: MemoryDocument,
    private readonly stored: Data | undefined,
  ) {}

  get id(): string {
    return this.ref.id;
  }

  get exists(): boolean {
    return this.stored !== undefined;
  }

  data(): Data | undefined {
    return this.stored === undefined ? undefined : copyOut(this.stored);
  }

  get(fieldPath: string): unknown {
    return this.stored === undefined ? undefined : copyOut(fieldOf(this.stored, fieldPath));
  }
}

class MemoryQuerySnapshot {
  constructor(readonly docs: MemorySnapshot[]) {}

  get empty(): boolean {
    return this.docs.length === 0;
  }

  get size(): number {
    return this.docs.length;
  }

  forEach(callback: (doc: MemorySnapshot) => void): void {
    this.docs.forEach(callback);
  }
}

interface QueryShape {
  readonly filters: readonly { readonly field: string; readonly op: WhereOp; readonly value: unknown }[];
  readonly orders: readonly { readonly field: string; readonly descending: boolean }[];
  readonly limit?: number;
}

class MemoryQuery {
  constructor(
    readonly store: MemoryFirestore,
    readonly path: string,
    protected readonly shape: QueryShape = { filters: [], orders: [] },
  ) {}

  where(field: unknown, op: WhereOp, value: unknown): MemoryQuery {
    if (typeof field !== 'string') throw new UnsupportedInMemory('where() on a FieldPath or Filter');
    // Compared as stored: a Date operand as a Timestamp.
    const operand = copyIn(value, () => Timestamp.now(), field);
    return new MemoryQuery(this.store, this.path, { ...this.shape, filters: [...this.shape.filters, { field, op, value: operand }] });
  }

  orderBy(field: unknown, direction: 'asc' | 'desc' = 'asc'): MemoryQuery {
    if (typeof field !== 'string') throw new UnsupportedInMemory('orderBy() on a FieldPath');
    return new MemoryQuery(this.store, this.path, { ...this.shape, orders: [...this.shape.orders, { field, descending: direction === 'desc' }] });
  }

  limit(n: number): MemoryQuery {
    return new MemoryQuery(this.store, this.path, { ...this.shape, limit: n });
  }

  count(): { get(): Promise<{ data(): { count: number } }> } {
    return { get: async () => ({ data: () => ({ count: this.run().length }) }) };
  }

  async get(): Promise<MemoryQuerySnapshot> {
    return new MemoryQuerySnapshot(this.run());
  }

  /**
   * The matching documents, as Firestore orders them: by the orderBy fields, then by the fields of
   * inequality filters not already ordered (by name, in the last orderBy's direction), then by id.
   */
  run(): MemorySnapshot[] {
    const { filters, limit } = this.shape;
    const descending = this.shape.orders.at(-1)?.descending ?? false;
    const inequalities = [...new Set(filters.filter((f) => INEQUALITIES.has(f.op)).map((f) => f.field))].sort(compareStrings);
    const orders = [...this.shape.orders, ...inequalities.filter((field) => !this.shape.orders.some((o) => o.field === field)).map((field) => ({ field, descending }))];
    const found: [string, Data][] = [];
    for (const [id, doc] of this.store.documentsIn(this.path)) {
      if (filters.every((f) => matches(fieldOf(doc.data, f.field), f.op, f.value)) && orders.every((o) => fieldOf(doc.data, o.field) !== undefined)) {
        found.push([id, doc.data]);
      }
    }
    found.sort(([ida, a], [idb, b]) => {
      for (const o of orders) {
        const c = compareValues(fieldOf(a, o.field), fieldOf(b, o.field));
        if (c !== 0) return o.descending ? -c : c;
      }
      // Ties (and unordered queries) by id, descending with the last orderBy as Firestore does.
      const byId = compareStrings(ida, idb);
      return descending ? -byId : byId;
    });
    const limited = limit === undefined ? found : found.slice(0, limit);
    return limited.map(([id, data]) => new MemorySnapshot(new MemoryDocument(this.store, `${this.path}/${id}`), data));
  }
}

class MemoryCollection extends MemoryQuery {
  get id(): string {
    return this.path.slice(this.path.lastIndexOf('/') + 1);
  }

  /** The document a subcollection belongs to; null for a top-level collection. */
  get parent(): MemoryDocument | null {
    const at = this.path.lastIndexOf('/');
    return at < 0 ? null : new MemoryDocument(this.store, this.path.slice(0, at));
  }

  doc(id?: string): MemoryDocument {
    return new MemoryDocument(this.store, `${this.path}/${id ?? this.store.autoId()}`);
  }

  async add(data: Data): Promise<MemoryDocument> {
    const ref = this.doc();
    await ref.create(data);
    return ref;
  }
}

class MemoryDocument {
  constructor(
    readonly store: MemoryFirestore,
    readonly path: string,
  ) {
    if (path.split('/').length % 2 !== 0) throw new UnsupportedInMemory(`not a document path: ${path}`);
  }

  get id(): string {
    return this.path.slice(this.path.lastIndexOf('/') + 1);
  }

  get parent(): MemoryCollection {
    return new MemoryCollection(this.store, this.path.slice(0, this.path.lastIndexOf('/')));
  }

  get firestore(): MemoryFirestore {
    return this.store;
  }

  collection(id: string): MemoryCollection {
    return new MemoryCollection(this.store, `${this.path}/${id}`);
  }

  isEqual(other: MemoryDocument): boolean {
    return other.path === this.path;
  }

  async get(): Promise<MemorySnapshot> {
    return this.store.snapshot(this);
  }

  create(data: Data): Promise<void> {
    return this.store.commit([{ kind: 'create', ref: this, data }]);
  }

  set(data: Data, options?: { merge?: boolean }): Promise<void> {
    return this.store.commit([{ kind: 'set', ref: this, data, merge: options?.merge === true }]);
  }

  update(data: Data): Promise<void> {
    return this.store.commit([{ kind: 'update', ref: this, data }]);
  }

  delete(): Promise<void> {
    return this.store.commit([{ kind: 'delete', ref: this }]);
  }
}

type Write =
  | { readonly kind: 'create' | 'update'; readonly ref: MemoryDocument; readonly data: Data }
  | { readonly kind: 'set'; readonly ref: MemoryDocument; readonly data: Data; readonly merge: boolean }
  | { readonly kind: 'delete'; readonly ref: MemoryDocument };

class MemoryWriteBatch {
  protected readonly writes: Write[] = [];

  constructor(protected readonly store: MemoryFirestore) {}

  create(ref: MemoryDocument, data: Data): this {
    this.writes.push({ kind: 'create', ref, data });
    return this;
  }

  set(ref: MemoryDocument, data: Data, options?: { merge?: boolean }): this {
    this.writes.push({ kind: 'set', ref, data, merge: options?.merge === true });
    return this;
  }

  update(ref: MemoryDocument, data: Data | string, ...more: unknown[]): this {
    if (typeof data === 'string') throw new UnsupportedInMemory(`update() by field path (${data}, ${more.length} more)`);
    this.writes.push({ kind: 'update', ref, data });
    return this;
  }

  delete(ref: MemoryDocument): this {
    this.writes.push({ kind: 'delete', ref });
    return this;
  }

  commit(): Promise<void> {
    return this.store.commit(this.writes);
  }
}

class MemoryTransaction extends MemoryWriteBatch {
  /** The version of every document read, for the check at commit. */
  readonly reads = new Map<string, number>();

  async get(refOrQuery: MemoryDocument | MemoryQuery): Promise<MemorySnapshot | MemoryQuerySnapshot> {
    if (refOrQuery instanceof MemoryDocument) return this.read(refOrQuery);
    const snap = new MemoryQuerySnapshot(refOrQuery.run());
    for (const doc of snap.docs) this.reads.set(doc.ref.path, this.store.versionOf(doc.ref.path));
    return snap;
  }

  async getAll(...refs: MemoryDocument[]): Promise<MemorySnapshot[]> {
    return refs.map((ref) => this.read(ref));
  }

  private read(ref: MemoryDocument): MemorySnapshot {
    // The client library refuses this itself, with a plain Error (no gRPC code).
    if (this.writes.length > 0) throw new Error('Firestore transactions require all reads to be executed before all writes.');
    this.reads.set(ref.path, this.store.versionOf(ref.path));
    return this.store.snapshot(ref);
  }

  commitIfUnchanged(): Promise<void> {
    for (const [path, version] of this.reads) {
      if (this.store.versionOf(path) !== version) throw new StoreError(ABORTED, `Aborted due to cross-transaction contention on ${path}`);
    }
    return this.commit();
  }
}

export class MemoryFirestore {
  /** Documents by collection path, then id. */
  private readonly collections = new Map<string, Map<string, StoredDocument>>();
  private readonly latestOnly: ReadonlySet<string>;
  private readonly observers: CommitObserver[] = [];
  private nextAutoId = 0;
  private nextVersion = 1;

  constructor(options: MemoryFirestoreOptions = {}) {
    this.latestOnly = new Set(options.latestOnly ?? []);
  }

  /** The store as the Firestore client type the product's code takes. */
  asFirestore(): Firestore {
    return this as unknown as Firestore;
  }

  /** Calls `observer` after every commit, with its writes. */
  observe(observer: CommitObserver): void {
    this.observers.push(observer);
  }

  collection(path: string): MemoryCollection {
    if (path.split('/').length % 2 !== 1) throw new UnsupportedInMemory(`not a collection path: ${path}`);
    return new MemoryCollection(this, path);
  }

  doc(path: string): MemoryDocument {
    return new MemoryDocument(this, path);
  }

  batch(): MemoryWriteBatch {
    return new MemoryWriteBatch(this);
  }

  async getAll(...refs: MemoryDocument[]): Promise<MemorySnapshot[]> {
    return refs.map((ref) => this.snapshot(ref));
  }

  async runTransaction<T>(update: (tx: MemoryTransaction) => Promise<T>, options?: { maxAttempts?: number }): Promise<T> {
    const attempts = options?.maxAttempts ?? 5;
    for (let attempt = 1; ; attempt += 1) {
      const tx = new MemoryTransaction(this);
      const result = await update(tx);
      try {
        await tx.commitIfUnchanged();
        return result;
      } catch (error) {
        if ((error as StoreError).code !== ABORTED || attempt >= attempts) throw error;
      }
    }
  }

  /** Documents stored in a collection. */
  documentsIn(path: string): Iterable<[string, StoredDocument]> {
    return this.collections.get(path)?.entries() ?? [];
  }

  /** Documents stored in every collection (for a replay's memory figures). */
  get documentCount(): number {
    let n = 0;
    for (const docs of this.collections.values()) n += docs.size;
    return n;
  }

  autoId(): string {
    this.nextAutoId += 1;
    return `auto${String(this.nextAutoId).padStart(16, '0')}`;
  }

  versionOf(path: string): number {
    const { collection, id } = split(path);
    return this.collections.get(collection)?.get(id)?.version ?? 0;
  }

  snapshot(ref: MemoryDocument): MemorySnapshot {
    const { collection, id } = split(ref.path);
    return new MemorySnapshot(ref, this.collections.get(collection)?.get(id)?.data);
  }

  /** Applies writes all or nothing: every precondition is checked before anything changes. */
  async commit(writes: readonly Write[]): Promise<void> {
    const now = Timestamp.now();
    const staged = new Map<string, Data | undefined>();
    const current = (path: string): Data | undefined => {
      if (staged.has(path)) return staged.get(path);
      const { collection, id } = split(path);
      return this.collections.get(collection)?.get(id)?.data;
    };
    // Firestore refuses a request that creates a document it also set or updated (unless deleted in between).
    const present = new Set<string>();
    for (const write of writes) {
      if (write.kind === 'create' && present.has(write.ref.path)) throw new StoreError(INVALID_ARGUMENT, `Cannot write then create ${write.ref.path} in the same request`);
      if (write.kind === 'delete') present.delete(write.ref.path);
      else present.add(write.ref.path);
    }
    for (const write of writes) {
      const path = write.ref.path;
      const before = current(path);
      switch (write.kind) {
        case 'create':
          if (before !== undefined) throw new StoreError(ALREADY_EXISTS, `Document already exists: ${path}`);
          staged.set(path, copyIn(write.data, () => now, path) as Data);
          break;
        case 'set':
          staged.set(path, write.merge ? mergedDeep(before ?? {}, write.data, now, path) : (copyIn(write.data, () => now, path) as Data));
          break;
        case 'update':
          if (before === undefined) throw new StoreError(NOT_FOUND, `No document to update: ${path}`);
          staged.set(path, merged(before, write.data, now, path));
          break;
        case 'delete':
          staged.set(path, undefined);
          break;
      }
    }
    const written = [...staged].map(([path, data]) => this.store(path, data));
    for (const observer of this.observers) observer(written);
  }

  private store(path: string, data: Data | undefined): ObservedWrite {
    const { collection, id } = split(path);
    let docs = this.collections.get(collection);
    if (!docs) {
      docs = new Map();
      this.collections.set(collection, docs);
    }
    if (data === undefined) docs.delete(id);
    else {
      if (this.latestOnly.has(collection)) docs.clear();
      docs.set(id, { data, version: this.nextVersion++ });
    }
    return { collection, id, data };
  }
}

const isMap = (v: unknown): v is Data => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Timestamp) && !(v instanceof FieldValue) && !(v instanceof Date) && !Buffer.isBuffer(v);

/**
 * `set(…, {merge: true})`: maps merge field by field, at every depth; FieldValue.delete() removes.
 * An empty map is a value (it replaces); a map that sets nothing (only deletes or undefined) makes no field.
 */
function mergedDeep(before: Data, changes: Data, now: Timestamp, path: string): Data {
  const out = copyOut(before);
  for (const [field, value] of Object.entries(changes)) {
    if (value === undefined) continue;
    if (value instanceof FieldValue && value.isEqual(DELETE_FIELD)) delete out[field];
    else if (isMap(value) && Object.keys(value).length > 0) {
      const inner = mergedDeep(isMap(out[field]) ? out[field] : {}, value, now, `${path}.${field}`);
      if (isMap(out[field]) || Object.keys(inner).length > 0) out[field] = inner;
    } else out[field] = copyIn(value, () => now, `${path}.${field}`);
  }
  return out;
}

/** `update()`: top-level and dotted fields replace what they name; FieldValue.delete() removes. */
function merged(before: Data, changes: Data, now: Timestamp, path: string): Data {
  const out = copyOut(before);
  for (const [field, value] of Object.entries(changes)) {
    if (value === undefined) continue;
    const parts = field.split('.');
    if (value instanceof FieldValue && value.isEqual(DELETE_FIELD)) {
      // Deleting a field that is not there changes nothing: no map is made (or replaced) on the way.
      const parent = parts.slice(0, -1).reduce<unknown>((map, part) => (isMap(map) ? map[part] : undefined), out);
      if (isMap(parent)) delete parent[parts.at(-1) as string];
      continue;
    }
    let target = out;
    for (const part of parts.slice(0, -1)) {
      const next = target[part];
      target = (target[part] = isMap(next) ? next : {}) as Data;
    }
    target[parts.at(-1) as string] = copyIn(value, () => now, `${path}.${field}`);
  }
  return out;
}

function split(path: string): { collection: string; id: string } {
  const at = path.lastIndexOf('/');
  return { collection: path.slice(0, at), id: path.slice(at + 1) };
}
