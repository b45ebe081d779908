import type { Firestore } from '@google-cloud/firestore';
import { z } from 'zod';
import { serverTimestamp } from './client.js';
import { COLLECTIONS } from './collections.js';
import { documentId } from './document-id.js';
import { runTransaction } from './transactions.js';

/** flattens/{flattenId}: a flatten command's plan, recorded once, with who asked and why. */

export const FlattenRecord = z.object({
  flattenId: z.string(),
  agentIds: z.array(z.string()),
  requestedBy: z.string(),
  reason: z.string(),
  createdAt: z.string(),
  positions: z.array(z.object({ agentId: z.string(), symbol: z.string(), quantityAtoms: z.number().int(), averageEntryMicros: z.number().int(), signalId: z.string() })),
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

  async get(flattenId: string): Promise<FlattenRecord | undefined> {
    const snap = await this.ref(flattenId).get();
    return snap.exists ? FlattenRecord.parse(snap.data()) : undefined;
  }
}
