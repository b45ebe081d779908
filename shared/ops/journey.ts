import type { Firestore } from '@google-cloud/firestore';
import { ReservationRecord } from '../domain/margin.js';
import { microsToUsd } from '../domain/money.js';
import { OrderRecord } from '../domain/orders.js';
import { atomsToQuantity } from '../domain/quantity.js';
import { COLLECTIONS } from '../firestore/collections.js';
import { documentId } from '../firestore/document-id.js';

/**
 * The journey of one signal, read back from Firestore in the order of the path — the audit
 * trail a risk officer asks for: the agent's decision, the reservation or rejection and why, the
 * outcome's publication, the order, each fill (at the venue's time, a replay's locally), the
 * order's end, a release.
 */

export interface JourneyStep {
  readonly at: string;
  readonly what: string;
}

export async function signalJourney(db: Firestore, signalId: string): Promise<readonly JourneyStep[] | undefined> {
  const [decisions, reservationSnap] = await Promise.all([
    db.collection(COLLECTIONS.agentDecisions).where('signalId', '==', signalId).get(),
    db.collection(COLLECTIONS.reservations).doc(documentId(signalId)).get(),
  ]);
  const steps: JourneyStep[] = decisions.docs.map((d) => ({ at: String(d.get('recordedAt')), what: `decided by ${d.get('agentId')} (${d.get('model')}): ${d.get('action')} — ${d.get('reason') ?? ''}`.trim() }));
  if (!reservationSnap.exists && steps.length === 0) return undefined;
  if (reservationSnap.exists) {
    const r = ReservationRecord.parse(reservationSnap.data());
    steps.push({
      at: r.decidedAt,
      what:
        r.status === 'rejected'
          ? `rejected: ${r.reason} (${r.detail ?? ''})`
          : `reserved ${microsToUsd(r.marginMicros)} USD margin for ${microsToUsd(r.notionalMicros)} USD ${r.side} ${r.symbol} at ${r.leverage}×${r.reduceOnly ? ', reduce-only' : ''}`,
    });
    if (r.publishedAt) steps.push({ at: r.publishedAt, what: r.status === 'rejected' ? 'rejection published to risk-events' : `order request ${r.orderId} published` });
    if (r.releasedAt) steps.push({ at: r.releasedAt, what: `margin released: ${r.releaseReason ?? ''}` });
    if (r.orderId) {
      const orderSnap = await db.collection(COLLECTIONS.orders).doc(r.orderId).get();
      if (orderSnap.exists) {
        const order = OrderRecord.parse(orderSnap.data());
        steps.push({ at: order.createdAt, what: `order ${order.orderId} claimed for ${atomsToQuantity(order.quantityAtoms)} ${order.symbol} on ${order.venue}` });
        const fills = await db.collection(COLLECTIONS.fills).where('orderId', '==', order.orderId).get();
        for (const f of [...fills.docs].sort((a, b) => Number(a.get('time')) - Number(b.get('time')))) {
          steps.push({ at: new Date(Number(f.get('time'))).toISOString(), what: `fill (venue time) ${f.get('tradeId')}: ${atomsToQuantity(Number(f.get('quantityAtoms')))} at ${microsToUsd(Number(f.get('priceMicros')))} USD, fee ${microsToUsd(Number(f.get('feeMicros')))} USD` });
        }
        if (order.terminalStatus) steps.push({ at: order.updatedAt, what: `order ${order.terminalStatus}${order.reason ? `: ${order.reason}` : ''}; ${microsToUsd(order.releasedMicros)} USD of margin returned` });
      }
    }
  }
  return steps;
}
