import type { Firestore } from '@google-cloud/firestore';
import { z } from 'zod';
import { serverTimestamp } from './client.js';
import { COLLECTIONS } from './collections.js';
import { documentId } from './document-id.js';
import { runTransaction } from './transactions.js';

/** flattens/{flattenId}: a flatten command's plan, recorded once, with who asked and why. */

export const FlattenTry = z.object({ attempt: z.number().int().nonnegative(), at: z.string(), signalIds: z.array(z.string()) });
export type FlattenTry = z.infer<typeof FlattenTry>;

export const FlattenRecord = z.object({
  flattenId: z.string(),
  agentIds: z.array(z.string()),
  requestedBy: z.string(),
  reason: z.string(),
  createdAt: z.string(),
  positions: z.array(z.object({ agentId: z.string(), symbol: z.string(), quantityAtoms: z.number().int(), averageEntryMicros: z.number().int(), signalId: z.string() })),
  /** Every round of closing signals: the plan's (attempt 0), then each retry's. */
  tries: z.array(FlattenTry).default([]),
  /** `working` until every planned position is closed. */
  status: z.enum(['working', 'done']).default('working'),
  doneAt: z.string().optional(),
  /** When it alerted for still holding positions past the bound. */
  alertedAt: z.string().optional(),
});
export type FlattenRecord = z.infer<typeof FlattenRecord>;

export class FlattenBook {
  constructor(private readonly db: Firestore) {}

  private ref(flattenId: string) {
    return this.db.collection(COLLECTIONS.flattens).doc(documentId(flattenId));
  }

  /** Records the plan the first time; later calls with the same id get the plan as first recorded. */
  async plan(planned: FlattenRecord): Promise<FlattenRecord> {
    const ref = this.ref(planned.flattenId);
    return runTransaction(this.db, async (tx) => {
      const snap = await tx.get(ref);
      if (snap.exists) return FlattenRecord.parse(snap.data());
      tx.create(ref, { ...planned, recordedAt: serverTimestamp() });
      return planned;
    });
  }

  /** The flattens still closing positions. */
  async working(): Promise<FlattenRecord[]> {
    const snap = await this.db.collection(COLLECTIONS.flattens).where('status', '==', 'working').get();
    return snap.docs.map((d) => FlattenRecord.parse(d.data()));
  }

  /** Records a try once: false when a try with its attempt number is there already (another run made it). */
  recordTry(flattenId: string, next: FlattenTry): Promise<boolean> {
    return this.update(flattenId, (record) => (record.tries.some((t) => t.attempt === next.attempt) ? undefined : { tries: [...record.tries, next] }));
  }

  /** Marks it alerted, once: false when it had alerted already. */
  markAlerted(flattenId: string, at: Date): Promise<boolean> {
    return this.update(flattenId, (record) => (record.alertedAt ? undefined : { alertedAt: at.toISOString() }));
  }

  markDone(flattenId: string, at: Date): Promise<boolean> {
    return this.update(flattenId, (record) => (record.status === 'done' ? undefined : { status: 'done', doneAt: at.toISOString() }));
  }

  /** Applies `change` to the record in a transaction; undefined from it changes nothing (and answers false). */
  private update(flattenId: string, change: (record: FlattenRecord) => Partial<FlattenRecord> | undefined): Promise<boolean> {
    const ref = this.ref(flattenId);
    return runTransaction(this.db, async (tx) => {
      const snap = await tx.get(ref);
      if (!snap.exists) return false;
      const fields = change(FlattenRecord.parse(snap.data()));
      if (!fields) return false;
      tx.update(ref, fields);
      return true;
    });
  }

  async get(flattenId: string): Promise<FlattenRecord | undefined> {
    const snap = await this.ref(flattenId).get();
    return snap.exists ? FlattenRecord.parse(snap.data()) : undefined;
  }
}
