import { randomBytes } from 'node:crypto';
import { FieldValue, type Firestore, type Query, Timestamp } from '@google-cloud/firestore';
import { describe, expect, it } from 'vitest';
import { firestoreFor } from '../../shared/firestore/client.js';
import { MemoryFirestore } from '../../shared/replay/memory-firestore.js';
import { isolatedProject } from '../support/stack.js';

/**
 * The replay's in-process store answers like Firestore for the part of the API Sapphire uses:
 * every scenario below runs once on the emulator and once on a fresh MemoryFirestore, and the two
 * results must be the same. A scenario returns plain data: Timestamps as {ts: millis, nanos}, errors as
 * {error: gRPC code}, undefined as a marker (so a missing value never passes for an absent key).
 */

const emulator = firestoreFor(isolatedProject('memfs-contract'));
const runId = randomBytes(4).toString('hex');

type Scenario = (db: Firestore, root: string) => Promise<unknown>;

const UNDEFINED = '<undefined>';

/** Plain, deep-comparable data: Timestamps, errors and undefined made visible. */
function plain(value: unknown): unknown {
  if (value === undefined) return UNDEFINED;
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Timestamp) return { ts: value.toMillis(), nanos: value.nanoseconds };
  if (value instanceof Date) return { date: value.getTime() };
  if (Array.isArray(value)) return value.map(plain);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
}

/** The error code of a failed operation (the gRPC code the client library puts on its errors), or 'ok'. */
async function outcome(operation: Promise<unknown>): Promise<unknown> {
  try {
    await operation;
    return 'ok';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return { error: typeof code === 'number' ? code : 'no code' };
  }
}

/** A server-written time: a Timestamp close to this machine's clock. */
function serverTime(value: unknown): unknown {
  return value instanceof Timestamp && Math.abs(value.toMillis() - Date.now()) < 60_000 ? 'server time' : { unexpected: plain(value) };
}

const ids = (snap: { docs: { id: string }[] }): string[] => snap.docs.map((d) => d.id);

/** Documents for the query scenarios, written out of id order. */
const QUERY_DOCS: Record<string, Record<string, unknown>> = {
  d07: { n: '2', s: 'g', tags: ['2'] },
  d03: { n: 2, s: 'c', tags: [2], mix: true },
  d01: { n: 1, s: 'a', tags: [1, 'x'], mix: 1 },
  d05: { s: 'e', tags: [] },
  d08: { n: 1.5, s: 'h', tags: [1.5, 'y', 1] },
  d02: { n: 2, s: 'b', tags: ['x', 'y'], mix: '1' },
  d06: { n: null, s: 'f' },
  d04: { n: 3, s: 'd', tags: 'x', mix: null },
  d09: { n: -1, s: 'c', m: { k: 2 } },
};

async function seedQueryDocs(db: Firestore, root: string): Promise<void> {
  const batch = db.batch();
  for (const [id, data] of Object.entries(QUERY_DOCS)) batch.set(db.collection(root).doc(id), data);
  await batch.commit();
}

const scenarios: Record<string, Scenario> = {
  'set then get: exists, id, data(), get() of a dotted path, a missing document': async (db, root) => {
    const ref = db.collection(root).doc('d1');
    await ref.set({ a: { b: 1, c: 'x' }, n: null, arr: [1, 'two', true, { k: [2] }], flag: false, 'x.y': 'literal' });
    const snap = await ref.get();
    const missing = await db.collection(root).doc('nope').get();
    const result = {
      exists: snap.exists,
      id: snap.id,
      data: snap.data(),
      ab: snap.get('a.b'),
      a: snap.get('a'),
      missingField: snap.get('a.z'),
      missingDeep: snap.get('q.r.s'),
      throughScalar: snap.get('flag.z'),
      nullField: snap.get('n'),
      missing: { exists: missing.exists, id: missing.id, data: missing.data(), get: missing.get('a') },
    };
    // set() without merge replaces the whole document.
    await ref.set({ z: 1 });
    return { ...result, replaced: (await ref.get()).data() };
  },

  'data() is a copy: changing it changes nothing stored': async (db, root) => {
    const ref = db.collection(root).doc('d1');
    const written = { m: { k: 1 }, arr: [1] };
    await ref.set(written);
    written.m.k = 2;
    written.arr.push(2);
    const first = (await ref.get()).data() as { m: { k: number }; arr: number[] };
    first.m.k = 3;
    first.arr.push(3);
    return (await ref.get()).data();
  },

  'create(): a new document, then the same one again fails ALREADY_EXISTS (6) and changes nothing': async (db, root) => {
    const ref = db.collection(root).doc('c1');
    const first = await outcome(ref.create({ v: 1 }));
    const second = await outcome(ref.create({ v: 2 }));
    return { first, second, data: (await ref.get()).data() };
  },

  'update() of a missing document fails NOT_FOUND (5) and creates nothing': async (db, root) => {
    const ref = db.collection(root).doc('u1');
    return { update: await outcome(ref.update({ v: 1 })), exists: (await ref.get()).exists };
  },

  'update(): dotted field paths set nested fields, replacing what is not a map; a map value replaces the whole map': async (db, root) => {
    const ref = db.collection(root).doc('u2');
    await ref.set({ a: { b: 1, c: 2 }, n: null, s: 'str', arr: [1], at: new Date(1_700_000_000_000), keep: true, whole: { x: 1, y: 2 } });
    await ref.update({ 'a.b': 10, 'a.d.e': 3, top: 'y', 'n.x': 1, 's.t': 2, 'arr.0': 5, 'at.x': 1, whole: { z: 3 } });
    return (await ref.get()).data();
  },

  'set({merge: true}): nested maps merge field by field, at every depth; a missing document is created': async (db, root) => {
    const ref = db.collection(root).doc('m1');
    await ref.set({ a: { b: 1, c: { d: 1, e: 2 } }, keep: 1, scalar: 5 });
    await ref.set({ a: { c: { d: 9 }, f: 3 }, added: true, scalar: { now: 'map' } }, { merge: true });
    const fresh = db.collection(root).doc('m2');
    await fresh.set({ a: { b: 1 } }, { merge: true });
    return { merged: (await ref.get()).data(), created: (await fresh.get()).data() };
  },

  'set({merge: true}) with an empty map: the field becomes an empty map': async (db, root) => {
    const ref = db.collection(root).doc('m3');
    await ref.set({ a: { b: 1 }, c: 1 });
    await ref.set({ a: {} }, { merge: true });
    return (await ref.get()).data();
  },

  'set({merge: true}) with FieldValue.delete(), at the top level and nested': async (db, root) => {
    const ref = db.collection(root).doc('m4');
    await ref.set({ a: { b: 1, c: 2 }, gone: 1, keep: 1 });
    await ref.set(
      { a: { b: FieldValue.delete() }, gone: FieldValue.delete(), absent: FieldValue.delete(), nope: { x: FieldValue.delete() } },
      { merge: true },
    );
    return (await ref.get()).data();
  },

  'set() keys with dots are field names, not paths': async (db, root) => {
    const ref = db.collection(root).doc('m5');
    await ref.set({ a: { b: 1 } });
    await ref.set({ 'a.b': 2 }, { merge: true });
    const snap = await ref.get();
    return { data: snap.data(), ab: snap.get('a.b') };
  },

  'ignoreUndefinedProperties: undefined fields are left out, in maps, in merges and in updates': async (db, root) => {
    const ref = db.collection(root).doc('i1');
    await ref.set({ a: 1, b: undefined, m: { c: undefined, d: 2 } });
    const set = (await ref.get()).data();
    await ref.set({ a: undefined, e: 5, m: { d: undefined, f: 6 }, o: { z: undefined } }, { merge: true });
    const merged = (await ref.get()).data();
    await ref.update({ a: undefined, 'm.d': 3, 'm.g': undefined });
    return { set, merged, updated: (await ref.get()).data() };
  },

  'undefined inside an array': async (db, root) => {
    const ref = db.collection(root).doc('i2');
    const written = await outcome(ref.set({ arr: [1, undefined, 2] }));
    return { written, data: (await ref.get()).data() };
  },

  'a Date reads back as a Timestamp, at any depth': async (db, root) => {
    const ref = db.collection(root).doc('t1');
    const at = new Date(1_700_000_000_123);
    await ref.set({ at, m: { at }, arr: [at], iso: at.toISOString() });
    const data = (await ref.get()).data() as { at: unknown; m: { at: unknown }; arr: unknown[] };
    return { isTimestamp: [data.at, data.m.at, data.arr[0]].map((v) => v instanceof Timestamp), data };
  },

  'a Timestamp keeps microseconds (Firestore stores no finer)': async (db, root) => {
    const ref = db.collection(root).doc('t2');
    await ref.set({ at: new Timestamp(1_700_000_000, 123_456_789) });
    return (await ref.get()).data();
  },

  'FieldValue.serverTimestamp() reads back as the commit time, the same for every field of the write': async (db, root) => {
    const ref = db.collection(root).doc('t3');
    await ref.create({ at: FieldValue.serverTimestamp(), m: { at: FieldValue.serverTimestamp() } });
    const created = (await ref.get()).data() as { at: Timestamp; m: { at: Timestamp } };
    await ref.update({ 'm.later': FieldValue.serverTimestamp() });
    const updated = (await ref.get()).data() as { at: Timestamp; m: { at: Timestamp; later: Timestamp } };
    await ref.set({ merged: FieldValue.serverTimestamp() }, { merge: true });
    const merged = (await ref.get()).data() as { merged: Timestamp };
    return {
      created: [serverTime(created.at), serverTime(created.m.at), created.at.isEqual(created.m.at)],
      updated: [serverTime(updated.m.later), updated.at.isEqual(created.at), updated.m.later.toMillis() >= created.at.toMillis()],
      merged: serverTime(merged.merged),
    };
  },

  'FieldValue.delete() in update(): top level, dotted, and a field that is not there': async (db, root) => {
    const ref = db.collection(root).doc('x1');
    await ref.set({ a: 1, b: 2, m: { x: 1, y: 2 }, s: 'scalar' });
    await ref.update({
      b: FieldValue.delete(),
      'm.x': FieldValue.delete(),
      nope: FieldValue.delete(),
      'q.r': FieldValue.delete(),
      's.t': FieldValue.delete(),
    });
    return (await ref.get()).data();
  },

  'batch: all writes commit together, in order, several to one document': async (db, root) => {
    const col = db.collection(root);
    await col.doc('gone').set({ v: 0 });
    await col.doc('recreated').set({ v: 0 });
    const batch = db.batch();
    batch.set(col.doc('b1'), { v: 1 });
    batch.create(col.doc('b2'), { v: 2 });
    batch.update(col.doc('b1'), { w: 1 });
    batch.delete(col.doc('gone'));
    batch.set(col.doc('b2'), { extra: true }, { merge: true });
    batch.delete(col.doc('recreated'));
    batch.create(col.doc('recreated'), { v: 3 });
    const committed = await outcome(batch.commit());
    const snaps = await db.getAll(col.doc('b1'), col.doc('b2'), col.doc('gone'), col.doc('recreated'));
    return { committed, docs: snaps.map((s) => [s.id, s.exists, s.data()]) };
  },

  'batch: a create of an existing document fails the whole batch (6), nothing changes': async (db, root) => {
    const col = db.collection(root);
    await col.doc('existing').set({ v: 0 });
    await col.doc('other').set({ v: 0 });
    const batch = db.batch();
    batch.set(col.doc('new1'), { v: 1 });
    batch.update(col.doc('other'), { v: 1 });
    batch.create(col.doc('existing'), { v: 2 });
    const committed = await outcome(batch.commit());
    const snaps = await db.getAll(col.doc('new1'), col.doc('existing'), col.doc('other'));
    const failing = db.batch();
    failing.set(col.doc('new2'), { v: 1 });
    failing.update(col.doc('missing'), { v: 1 });
    const failed = await outcome(failing.commit());
    return { committed, failed, docs: snaps.map((s) => [s.id, s.exists, s.data()]), new2: (await col.doc('new2').get()).exists };
  },

  'batch: a create after a set or update of the same document is refused (3), after a delete it is not': async (db, root) => {
    const col = db.collection(root);
    await col.doc('existing').set({ v: 0 });
    const attempt = async (writes: (batch: ReturnType<Firestore['batch']>) => void) => {
      const batch = db.batch();
      writes(batch);
      return outcome(batch.commit());
    };
    return {
      setThenCreate: await attempt((b) => b.set(col.doc('fresh'), { v: 1 }).create(col.doc('fresh'), { v: 2 })),
      createTwice: await attempt((b) => b.create(col.doc('fresh2'), { v: 1 }).create(col.doc('fresh2'), { v: 2 })),
      updateThenCreate: await attempt((b) => b.update(col.doc('existing'), { v: 1 }).create(col.doc('existing'), { v: 2 })),
      updateMissingThenCreate: await attempt((b) => b.update(col.doc('missing'), { v: 1 }).create(col.doc('missing'), { v: 2 })),
      docs: (await col.get()).docs.map((d) => [d.id, d.data()]),
      updateDeleteCreate: await attempt((b) =>
        b.update(col.doc('existing'), { v: 1 }).delete(col.doc('existing')).create(col.doc('existing'), { v: 2 }),
      ),
      after: (await col.doc('existing').get()).data(),
    };
  },

  'db.getAll(): snapshots in the order asked, missing ones not existing': async (db, root) => {
    const col = db.collection(root);
    await col.doc('g2').set({ v: 2 });
    await col.doc('g1').set({ v: 1 });
    const snaps = await db.getAll(col.doc('g2'), col.doc('none'), col.doc('g1'));
    return snaps.map((s) => ({ id: s.id, path: s.ref.path, exists: s.exists, data: s.data() }));
  },

  'runTransaction: reads, then writes, then the result': async (db, root) => {
    const col = db.collection(root);
    await col.doc('a').set({ n: 1 });
    const result = await db.runTransaction(async (tx) => {
      const a = await tx.get(col.doc('a'));
      const b = await tx.get(col.doc('b'));
      tx.set(col.doc('b'), { n: (a.get('n') as number) + 1 });
      tx.update(col.doc('a'), { n: 10, seen: b.exists });
      tx.create(col.doc('c'), { at: FieldValue.serverTimestamp() });
      return { a: a.data(), bExists: b.exists };
    });
    const [a, b, c] = await db.getAll(col.doc('a'), col.doc('b'), col.doc('c'));
    return { result, a: a?.data(), b: b?.data(), c: serverTime(c?.get('at')) };
  },

  'runTransaction: tx.get of a query, tx.getAll': async (db, root) => {
    const col = db.collection(root);
    await seedQueryDocs(db, root);
    return db.runTransaction(async (tx) => {
      const query = await tx.get(col.where('n', '==', 2));
      const all = await tx.getAll(col.doc('d04'), col.doc('zz'), col.doc('d01'));
      const total = query.docs.reduce((sum, d) => sum + (d.get('n') as number), 0);
      tx.set(col.doc('summary'), { total, count: query.size, empty: query.empty });
      return { query: ids(query), all: all.map((s) => [s.id, s.exists, s.data()]), total };
    });
  },

  'runTransaction: tx.create of an existing document fails (6) and none of its writes land': async (db, root) => {
    const col = db.collection(root);
    await col.doc('taken').set({ v: 0 });
    const failed = await outcome(
      db.runTransaction(async (tx) => {
        await tx.get(col.doc('taken'));
        tx.set(col.doc('other'), { v: 1 });
        tx.create(col.doc('taken'), { v: 1 });
      }),
    );
    return { failed, other: (await col.doc('other').get()).exists, taken: (await col.doc('taken').get()).data() };
  },

  'runTransaction: an error thrown in the update function rejects it, nothing written': async (db, root) => {
    const col = db.collection(root);
    const failed = await db
      .runTransaction(async (tx) => {
        tx.set(col.doc('w'), { v: 1 });
        throw new Error('refused');
      })
      .then(
        () => 'ok',
        (error: Error) => error.message,
      );
    return { failed, written: (await col.doc('w').get()).exists };
  },

  'runTransaction: a read after a write is refused': async (db, root) => {
    const col = db.collection(root);
    return outcome(
      db.runTransaction(async (tx) => {
        tx.set(col.doc('w'), { v: 1 });
        await tx.get(col.doc('w'));
      }),
    );
  },

  'runTransaction: two transactions read one document, then both write it: a loser fails ABORTED (10), no update is lost': async (
    db,
    root,
  ) => {
    const { outcomes, committed, final } = await interleavedTransactions(db, root, 1);
    const failures = Object.values(outcomes).filter((o) => o !== 'ok');
    return {
      someFailed: failures.length > 0,
      failuresAborted: failures.every((o) => JSON.stringify(o) === JSON.stringify({ error: 10 })),
      n: final.n === committed.length,
      lastCommitWroteIt: final.by === (committed.at(-1) ?? 'seed'),
    };
  },

  'runTransaction: the same with 5 attempts: the losers retry on the winner’s value, both commit': async (db, root) => {
    const { outcomes, attempts, final } = await interleavedTransactions(db, root, 5);
    return { outcomes, retried: attempts > 2, n: final.n };
  },

  'queries: where == on numbers, strings, null, booleans, maps; numbers and strings never equal': async (db, root) => {
    await seedQueryDocs(db, root);
    const col = db.collection(root);
    return {
      n2: ids(await col.where('n', '==', 2).get()),
      nString2: ids(await col.where('n', '==', '2').get()),
      n15: ids(await col.where('n', '==', 1.5).get()),
      nNull: ids(await col.where('n', '==', null).get()),
      s: ids(await col.where('s', '==', 'c').get()),
      mixTrue: ids(await col.where('mix', '==', true).get()),
      mix1: ids(await col.where('mix', '==', 1).get()),
      mixString1: ids(await col.where('mix', '==', '1').get()),
      map: ids(await col.where('m', '==', { k: 2 }).get()),
      dotted: ids(await col.where('m.k', '==', 2).get()),
      twoFields: ids(await col.where('n', '==', 2).where('s', '==', 'b').get()),
    };
  },

  'queries: != and not-in skip documents without the field': async (db, root) => {
    await seedQueryDocs(db, root);
    const col = db.collection(root);
    const ordered = (q: Query) => q.get().then((s) => s.docs.map((d) => [d.id, plain(d.get('n'))]));
    return {
      notEqual: await ordered(col.where('n', '!=', 2)),
      notEqualNull: await ordered(col.where('n', '!=', null)),
      notEqualMix: await ordered(col.where('mix', '!=', 1)),
      notIn: await ordered(col.where('n', 'not-in', [1, 2])),
    };
  },

  'queries: range filters match only values of the operand type': async (db, root) => {
    await seedQueryDocs(db, root);
    const col = db.collection(root);
    const matched = async (q: Query) => (await q.get()).docs.map((d) => d.id).sort();
    return {
      lt2: await matched(col.where('n', '<', 2)),
      le2: await matched(col.where('n', '<=', 2)),
      gt1: await matched(col.where('n', '>', 1)),
      ge2: await matched(col.where('n', '>=', 2)),
      between: await matched(col.where('n', '>', 1).where('n', '<', 3)),
      stringGt: await matched(col.where('n', '>', '1')),
      sGe: await matched(col.where('s', '>=', 'c')),
      sLt: await matched(col.where('s', '<', 'c')),
    };
  },

  'queries: a range or != filter orders its results by that field, then by id': async (db, root) => {
    await seedQueryDocs(db, root);
    const col = db.collection(root);
    return {
      ge1: ids(await col.where('n', '>=', 1).get()),
      lt3: ids(await col.where('n', '<', 3).get()),
      sGt: ids(await col.where('s', '>', 'a').get()),
      notEqual: ids(await col.where('n', '!=', 3).get()),
      notIn: ids(await col.where('s', 'not-in', ['a', 'b']).get()),
      limited: ids(await col.where('n', '>', 0).limit(2).get()),
    };
  },

  'queries: in, array-contains on numbers, strings and mixed arrays': async (db, root) => {
    await seedQueryDocs(db, root);
    const col = db.collection(root);
    return {
      in: ids(await col.where('n', 'in', [1, '2', 3]).get()),
      inNull: ids(await col.where('n', 'in', [null, 1.5]).get()),
      inStrings: ids(await col.where('s', 'in', ['c', 'h', 'zz']).get()),
      contains1: ids(await col.where('tags', 'array-contains', 1).get()),
      containsX: ids(await col.where('tags', 'array-contains', 'x').get()),
      contains2: ids(await col.where('tags', 'array-contains', 2).get()),
      containsString2: ids(await col.where('tags', 'array-contains', '2').get()),
      contains15: ids(await col.where('tags', 'array-contains', 1.5).get()),
      containsNone: ids(await col.where('tags', 'array-contains', 'zz').get()),
      containsAny: ids(await col.where('tags', 'array-contains-any', ['y', 2]).get()),
    };
  },

  'queries: orderBy asc and desc, ties by id in the same direction, documents without the field left out': async (db, root) => {
    await seedQueryDocs(db, root);
    const col = db.collection(root);
    return {
      nAsc: ids(await col.orderBy('n').get()),
      nDesc: ids(await col.orderBy('n', 'desc').get()),
      sAsc: ids(await col.orderBy('s').get()),
      sDesc: ids(await col.orderBy('s', 'desc').get()),
      mixAsc: ids(await col.orderBy('mix').get()),
      nThenS: ids(await col.orderBy('n').orderBy('s', 'desc').get()),
      tagsAsc: ids(await col.orderBy('tags').get()),
      whereThenOrder: ids(await col.where('n', '==', 2).orderBy('s', 'desc').get()),
      rangeThenOrder: ids(await col.where('n', '>', 0).orderBy('n', 'desc').get()),
    };
  },

  'queries: limit, default order by document id, count()': async (db, root) => {
    await seedQueryDocs(db, root);
    const col = db.collection(root);
    const all = await col.get();
    return {
      all: ids(all),
      size: all.size,
      empty: all.empty,
      none: await col
        .where('s', '==', 'zz')
        .get()
        .then((s) => ({ size: s.size, empty: s.empty })),
      limit3: ids(await col.limit(3).get()),
      orderedLimit: ids(await col.orderBy('n', 'desc').limit(3).get()),
      whereLimit: ids(await col.where('tags', 'array-contains', 1).limit(1).get()),
      count: (await col.count().get()).data().count,
      countWhere: (await col.where('n', '<=', 2).count().get()).data().count,
      countLimited: (await col.limit(4).count().get()).data().count,
      countNone: (await col.where('s', '==', 'zz').count().get()).data().count,
      emptyCollection: (await db.collection(`${root}-empty`).count().get()).data().count,
    };
  },

  'queries: timestamps compare by time, against Dates too': async (db, root) => {
    const col = db.collection(root);
    for (const [id, ms] of [
      ['t3', 3_000],
      ['t1', 1_000],
      ['t2', 2_000],
    ] as const)
      await col.doc(id).set({ at: new Date(1_700_000_000_000 + ms) });
    return {
      after: ids(await col.where('at', '>', new Date(1_700_000_001_500)).get()),
      atOrBefore: ids(await col.where('at', '<=', Timestamp.fromMillis(1_700_000_002_000)).get()),
      equal: ids(await col.where('at', '==', new Date(1_700_000_001_000)).get()),
      desc: ids(await col.orderBy('at', 'desc').get()),
    };
  },

  'queries: maps are equal whatever their key order, and order by their sorted keys': async (db, root) => {
    const col = db.collection(root);
    await col.doc('m1').set({ m: { b: 1, a: 2 } });
    await col.doc('m2').set({ m: { a: 1, c: 0 } });
    await col.doc('m3').set({ m: { a: 2, b: 0 } });
    await col.doc('m4').set({ m: {} });
    return {
      equal: ids(await col.where('m', '==', { a: 2, b: 1 }).get()),
      asc: ids(await col.orderBy('m').get()),
      gt: ids(await col.where('m', '>', { a: 1, z: 0 }).get()),
    };
  },

  'queries: strings order by their UTF-8 bytes': async (db, root) => {
    const col = db.collection(root);
    const values = { u1: 'a', u2: '\u{1F600}', u3: '\uFF5E', u4: 'é', u5: 'Z', u6: '' };
    for (const [id, s] of Object.entries(values)) await col.doc(id).set({ s });
    // Document ids too.
    for (const s of Object.values(values)) await col.doc(`id-${s}`).set({ id: true });
    return {
      asc: ids(await col.orderBy('s').get()),
      gt: ids(await col.where('s', '>', '\uFF00').get()),
      byId: ids(await col.where('id', '==', true).get()),
    };
  },

  'doc() auto ids: strings, distinct; add() stores under one': async (db, root) => {
    const col = db.collection(root);
    const auto = Array.from({ length: 20 }, () => col.doc().id);
    const added = await col.add({ v: 1 });
    const snap = await added.get();
    return {
      strings: auto.every((id) => typeof id === 'string' && id.length >= 16 && /^[A-Za-z0-9]+$/.test(id)),
      distinct: new Set([...auto, added.id]).size === auto.length + 1,
      added: { exists: snap.exists, data: snap.data(), path: added.path === `${root}/${added.id}` },
    };
  },

  'subcollections: paths, ids, parents; a query of a collection sees none of its subcollections': async (db, root) => {
    const parent = db.collection(root).doc('p');
    const child = parent.collection('sub').doc('c');
    await child.set({ v: 1 });
    await db.collection(root).doc('q').set({ v: 2 });
    const snap = await child.get();
    const viaPath = await db.doc(`${root}/p/sub/c`).get();
    const viaCollectionPath = await db.collection(`${root}/p/sub`).get();
    return {
      id: snap.id,
      refPath: snap.ref.path.slice(root.length),
      parentPath: child.parent.path.slice(root.length),
      parentId: child.parent.id,
      grandparentPath: child.parent.parent?.path.slice(root.length),
      topLevelParent: db.collection(root).parent,
      parentExists: (await parent.get()).exists,
      viaPath: viaPath.data(),
      sameRef: viaPath.ref.isEqual(child),
      viaCollectionPath: viaCollectionPath.docs.map((d) => [d.id, d.ref.path.slice(root.length)]),
      topLevel: ids(await db.collection(root).get()),
      querySnapPaths: (await db.collection(root).get()).docs.map((d) => [d.ref.path.slice(root.length), d.ref.parent.path === root]),
    };
  },

  'delete(): the document is gone, a delete of a missing one succeeds': async (db, root) => {
    const ref = db.collection(root).doc('del');
    await ref.set({ v: 1 });
    await ref.delete();
    return {
      after: (await ref.get()).exists,
      again: await outcome(ref.delete()),
      count: (await db.collection(root).count().get()).data().count,
    };
  },
};

/**
 * Transactions A and B read one document, A first; B writes and commits without waiting, A writes
 * after B has read. The emulator locks: A and B each wait for the other's read lock until one or
 * both time out (ABORTED, "Transaction lock timeout", after about 2 s; which ones varies from run
 * to run). The memory store checks versions at commit: B commits, A is ABORTED. So the contract
 * names no transaction; the memory store's exact answer is asserted on its own below.
 */
async function interleavedTransactions(db: Firestore, root: string, maxAttempts: number) {
  const ref = db.collection(root).doc('contended');
  await ref.set({ n: 0, by: 'seed' });
  let aRead!: () => void;
  const aHasRead = new Promise<void>((resolve) => (aRead = resolve));
  let bRead!: () => void;
  const bHasRead = new Promise<void>((resolve) => (bRead = resolve));
  let attempts = 0;
  const committed: string[] = [];
  const transaction = (name: string, before: Promise<void> | undefined, read: () => void, after: Promise<void> | undefined) =>
    outcome(
      db
        .runTransaction(
          async (tx) => {
            attempts += 1;
            if (before) await before;
            const snap = await tx.get(ref);
            read();
            if (after) await after;
            tx.update(ref, { n: (snap.get('n') as number) + 1, by: name });
          },
          { maxAttempts },
        )
        .then(() => committed.push(name)),
    );
  const [a, b] = await Promise.all([transaction('A', undefined, aRead, bHasRead), transaction('B', aHasRead, bRead, undefined)]);
  return { outcomes: { a, b }, attempts, committed, final: (await ref.get()).data() as { n: number; by: string } };
}

/**
 * A document read in a transaction and changed by a plain write before the transaction commits:
 * the plain write starts inside the update function, which gives it up to 2 s to land.
 */
async function plainWriteDuringTransaction(db: Firestore, root: string, maxAttempts: number) {
  const ref = db.collection(root).doc('contended');
  await ref.set({ n: 0, by: 'seed' });
  const events: string[] = [];
  let outside: Promise<unknown> | undefined;
  let attempts = 0;
  const committed = await outcome(
    db.runTransaction(
      async (tx) => {
        attempts += 1;
        const snap = await tx.get(ref);
        if (!outside) {
          outside = ref.set({ n: 100, by: 'outside' }).then(
            () => events.push('outside write landed'),
            (error: { code?: number }) => events.push(`outside write failed ${error.code}`),
          );
          await Promise.race([outside, new Promise((resolve) => setTimeout(resolve, 2_000))]);
        }
        tx.update(ref, { n: (snap.get('n') as number) + 1, by: 'transaction' });
      },
      { maxAttempts },
    ),
  );
  events.push(`transaction ${JSON.stringify(committed)}`);
  await outside;
  return { attempts, events, final: (await ref.get()).data() };
}

async function runOn(db: Firestore, name: string, scenario: Scenario): Promise<unknown> {
  const root = `contract-${runId}-${Object.keys(scenarios).indexOf(name)}`;
  return plain(await scenario(db, root));
}

describe('MemoryFirestore answers like the Firestore emulator', () => {
  for (const [name, scenario] of Object.entries(scenarios)) {
    it(name, async () => {
      const expected = await runOn(emulator, name, scenario);
      const actual = await runOn(new MemoryFirestore().asFirestore(), name, scenario);
      expect(actual).toEqual(expected);
    });
  }
});

/**
 * Where the two differ, on purpose. The emulator (like Firestore's server libraries) locks what a
 * transaction read: a plain write to it waits for the transaction to end, so the transaction
 * commits on what it read and the plain write lands after; two transactions that read one
 * document and then write it wait on each other until a lock timeout aborts one or both. The
 * memory store has no locks and checks at commit that what a transaction read is unchanged: a
 * plain write lands at once, and of two transactions the second to commit is ABORTED (10), or
 * with attempts left runs again on the new value. Either way no update is lost (the contract
 * above checks that much on both).
 */
describe('where the emulator locks and the memory store checks at commit', () => {
  it('emulator: a plain write to a document a transaction read waits for it; the transaction commits first', async () => {
    for (const maxAttempts of [1, 5]) {
      expect(await plainWriteDuringTransaction(emulator, `contract-${runId}-plain-${maxAttempts}`, maxAttempts)).toEqual({
        attempts: 1,
        events: ['transaction "ok"', 'outside write landed'],
        final: { n: 100, by: 'outside' },
      });
    }
  });

  it('memory: a plain write lands at once; the transaction that read the document is ABORTED (10), or retried on the new value', async () => {
    expect(await plainWriteDuringTransaction(new MemoryFirestore().asFirestore(), 'plain', 1)).toEqual({
      attempts: 1,
      events: ['outside write landed', 'transaction {"error":10}'],
      final: { n: 100, by: 'outside' },
    });
    expect(await plainWriteDuringTransaction(new MemoryFirestore().asFirestore(), 'plain', 5)).toEqual({
      attempts: 2,
      events: ['outside write landed', 'transaction "ok"'],
      final: { n: 101, by: 'transaction' },
    });
  });

  it('memory: of two transactions that read one document, the second to commit is ABORTED (10), or retried', async () => {
    expect(await interleavedTransactions(new MemoryFirestore().asFirestore(), 'tx', 1)).toEqual({
      outcomes: { a: { error: 10 }, b: 'ok' },
      attempts: 2,
      committed: ['B'],
      final: { n: 1, by: 'B' },
    });
    expect(await interleavedTransactions(new MemoryFirestore().asFirestore(), 'tx', 5)).toEqual({
      outcomes: { a: 'ok', b: 'ok' },
      attempts: 3,
      committed: ['B', 'A'],
      final: { n: 2, by: 'A' },
    });
  });
});
