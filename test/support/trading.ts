import type { Firestore } from '@google-cloud/firestore';
import type { AgentProfile } from '../../shared/domain/agents.js';
import { DEFAULT_AGENTS } from '../../shared/domain/agents.js';
import { ReservationRecord } from '../../shared/domain/margin.js';
import type { OrderRequest } from '../../shared/domain/messages.js';
import { OrderRequest as OrderRequestSchema } from '../../shared/domain/messages.js';
import type { OrderRecord } from '../../shared/domain/orders.js';
import { outcomeMessage } from '../../shared/domain/outcomes.js';
import type { Side } from '../../shared/domain/vocabulary.js';
import { seedAgentProfiles } from '../../shared/firestore/agent-profiles.js';
import { COLLECTIONS } from '../../shared/firestore/collections.js';
import { MarginLedger } from '../../shared/firestore/margin-ledger.js';
import type { TradeLedger } from '../../shared/firestore/trade-ledger.js';
import { makeSignal } from './signals.js';
import { USD } from '../../shared/domain/money.js';

/** Seeds an agent like deepseek-v3 under another id, so tests do not share ledgers. */
export async function seedTestAgent(db: Firestore, agentId: string, overrides: Partial<AgentProfile> = {}): Promise<AgentProfile> {
  const profile = { ...(DEFAULT_AGENTS[0] as AgentProfile), agentId, ...overrides };
  await seedAgentProfiles(db, [profile]);
  return profile;
}

/**
 * Reserves margin for a BUY/SELL of `quantity` at `priceUsd` and claims it for an order, as
 * margin-reservation and order-router do: returns the order record the venue facts apply to.
 */
export async function openTestOrder(
  db: Firestore,
  trades: TradeLedger,
  options: { agentId: string; signalId: string; side?: Side; quantity: string; quantityAtoms: number; priceUsd: number; leverage?: number; reduceOnly?: boolean },
): Promise<{ request: OrderRequest; order: OrderRecord }> {
  const margins = new MarginLedger(db, { maxSymbolsPerAgent: 50 });
  const signal = makeSignal({
    signalId: options.signalId,
    agentId: options.agentId,
    side: options.side ?? 'BUY',
    size: { type: 'quantity', quantity: options.quantity, priceMicros: options.priceUsd * USD },
    leverage: options.leverage ?? 5,
    reduceOnly: options.reduceOnly ?? false,
  });
  const { record } = await margins.reserveMargin(signal);
  if (record.status !== 'reserved') throw new Error(`test reservation was ${record.status}: ${record.detail}`);
  const next = outcomeMessage(record);
  const request = OrderRequestSchema.parse(next.topic === 'orders' ? next.message : undefined);
  const claim = await trades.claimForOrder(request, { venue: 'test', quantityAtoms: options.quantityAtoms, lease: { holder: 'test', until: new Date(Date.now() + 60_000) } });
  if (!claim.claimed) throw new Error(`claim failed: ${claim.reason}`);
  return { request, order: claim.order };
}

/** Every reservation decided for an agent, whatever its status. */
export async function reservationsOf(db: Firestore, agentId: string): Promise<ReservationRecord[]> {
  const snap = await db.collection(COLLECTIONS.reservations).where('agentId', '==', agentId).get();
  return snap.docs.map((d) => ReservationRecord.parse(d.data()));
}

/**
 * An agent's margin ledger, BTCUSDT position and orders as stored, without the ids and times
 * that differ between two agents: equal for two agents that saw the same venue facts.
 */
export async function tradingStateWithoutIds(db: Firestore, trades: TradeLedger, agentId: string, orderIds: readonly string[]) {
  const { agentId: _a, updatedAt: _u, revision: _r, ...ledger } = (await db.collection(COLLECTIONS.marginLedgers).doc(agentId).get()).data() ?? {};
  const { agentId: _b, ...position } = (await db.collection(COLLECTIONS.positions).doc(`${agentId}__BTCUSDT`).get()).data() ?? {};
  const orders = await Promise.all(
    orderIds.map(async (id) => {
      const { orderId: _o, signalId: _s, agentId: _c, createdAt: _t, updatedAt: _v, expiresAt: _e, ...rest } = (await trades.order(id)) ?? {};
      return rest;
    }),
  );
  return { ledger, position, orders };
}
