import type { Firestore } from '@google-cloud/firestore';
import { COLLECTIONS } from './collections.js';
import { documentId } from './document-id.js';
import { runTransaction } from './transactions.js';

/** Which notification: (episodeId, transition, destination). */
export type DeliveryKey = readonly [episodeId: string, transition: string, destination: string];

/**
 * One notification per (episode, transition, destination). A delivery is claimed before it is
 * sent; a claim younger than the lease belongs to a delivery in progress, an older one to a
 * delivery that died and may be taken over.
 */
export class DeliveryLog {
  constructor(
    private readonly db: Firestore,
    private readonly leaseMs = 60_000,
  ) {}

  /** 'send' when this caller should deliver now; 'skip' when it is delivered or being delivered. */
  async claim(delivery: DeliveryKey, now = new Date()): Promise<'send' | 'skip'> {
    const ref = this.ref(delivery);
    return runTransaction(this.db, async (tx) => {
      const snap = await tx.get(ref);
      const status = snap.get('status') as string | undefined;
      const claimedAt = Date.parse((snap.get('claimedAt') as string | undefined) ?? '');
      if (status === 'delivered') return 'skip';
      if (status === 'sending' && now.getTime() - claimedAt < this.leaseMs) return 'skip';
      tx.set(ref, { status: 'sending', claimedAt: now.toISOString(), attempts: ((snap.get('attempts') as number | undefined) ?? 0) + 1 }, { merge: true });
      return 'send';
    });
  }

  async delivered(delivery: DeliveryKey): Promise<void> {
    await this.ref(delivery).set({ status: 'delivered', deliveredAt: new Date().toISOString() }, { merge: true });
  }

  async failed(delivery: DeliveryKey, error: string): Promise<void> {
    await this.ref(delivery).set({ status: 'failed', lastError: error.slice(0, 500) }, { merge: true });
  }

  private ref([episodeId, transition, destination]: DeliveryKey) {
    return this.db.collection(COLLECTIONS.alertDeliveries).doc(documentId(episodeId, transition, destination));
  }
}
