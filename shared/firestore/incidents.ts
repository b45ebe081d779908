import type { Firestore } from '@google-cloud/firestore';
import type { IncidentAction, MonitoringNotification } from '../domain/monitoring.js';
import { addToOutbox } from './alert-outbox.js';
import { COLLECTIONS } from './collections.js';
import { documentId } from './document-id.js';
import { TradingState, setTradingState } from './trading-states.js';
import { runTransaction } from './transactions.js';

/**
 * Records a Cloud Monitoring incident transition once (by incident id and state), with its
 * alert in the outbox and, for a drawdown policy opening, the halt, all in one transaction.
 */
export async function recordIncident(db: Firestore, notification: MonitoringNotification, action: IncidentAction, at: Date): Promise<'recorded' | 'duplicate'> {
  const { incident } = notification;
  const ref = db.collection(COLLECTIONS.incidents).doc(documentId(incident.incident_id, incident.state));
  const stateRef = action.halts ? db.collection(COLLECTIONS.tradingStates).doc(action.halts) : undefined;
  return runTransaction(db, async (tx) => {
    const [snap, stateSnap] = await tx.getAll(ref, ...(stateRef ? [stateRef] : []));
    if (snap?.exists) return 'duplicate';
    tx.create(ref, { ...incident, receivedAt: at.toISOString() });
    addToOutbox(db, tx, action.alert);
    const current = stateSnap?.exists ? TradingState.parse(stateSnap.data()) : undefined;
    if (action.halts && current?.state !== 'halted') {
      setTradingState(db, tx, { scope: action.halts, state: 'halted', reason: action.alert.message, changedBy: 'cloud-monitoring', at });
    }
    return 'recorded';
  });
}
