import type { Firestore } from '@google-cloud/firestore';
import type { AgentProfile } from '../../shared/domain/agents.js';
import { DEFAULT_AGENTS } from '../../shared/domain/agents.js';
import type { OrderRequest } from '../../shared/domain/messages.js';
import { OrderRequest as OrderRequestSchema } from '../../shared/domain/messages.js';
import type { OrderRecord } from '../../shared/domain/orders.js';
import { outcomeMessage } from '../../shared/domain/outcomes.js';
import { seedAgentProfiles } from '../../shared/firestore/agent-profiles.js';
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
  options: { agentId: string; signalId: string; side?: 'BUY' | 'SELL'; quantity: string; quantityAtoms: number; priceUsd: number; leverage?: number; reduceOnly?: boolean },
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
  const next = outcomeMessage(signal, record);
  const request = OrderRequestSchema.parse(next.topic === 'orders' ? next.message : undefined);
  const claim = await trades.claimForOrder(request, { venue: 'test', quantityAtoms: options.quantityAtoms });
  if (!claim.claimed) throw new Error(`claim failed: ${claim.reason}`);
  return { request, order: claim.order };
}
