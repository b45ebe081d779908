import type { Firestore } from '@google-cloud/firestore';
import type { AgentProfile } from '../domain/agents.js';
import { EMPTY_LEDGER, type MarginLedgerState } from '../domain/ledger.js';
import { PositionState } from '../domain/positions.js';
import { AlertEpisode, type ScopeSnapshot } from '../domain/risk.js';
import { PORTFOLIO_SCOPE } from '../domain/vocabulary.js';
import { listAgentProfiles } from '../firestore/agent-profiles.js';
import { COLLECTIONS } from '../firestore/collections.js';
import { LedgerRepository } from '../firestore/ledger-repository.js';
import { TradingState } from '../firestore/trading-states.js';

/** Everything the metrics endpoint and the dashboard show, read once from Firestore. */
export interface PortfolioView {
  readonly agents: readonly { profile: AgentProfile; ledger: MarginLedgerState; state: TradingState | undefined; snapshot: ScopeSnapshot | undefined }[];
  readonly portfolio: { state: TradingState | undefined; snapshot: ScopeSnapshot | undefined; evaluatedAt: string | undefined };
  readonly equityHistory: readonly { at: string; equityMicros: number; drawdownFraction: number }[];
  readonly positions: readonly { agentId: string; symbol: string; position: PositionState }[];
  readonly openEpisodes: readonly AlertEpisode[];
  readonly unknownAgentBreaches: number;
  readonly recentDecisions: readonly { agentId: string; action: string; reason: string; signalId?: string; decidedFor: string; source: string }[];
  readonly recentOrders: readonly { orderId: string; agentId: string; symbol: string; side: string; status: string; updatedAt: string }[];
}

/** A portfolio with nothing in it: no agents, never evaluated. */
export const EMPTY_PORTFOLIO_VIEW: PortfolioView = {
  agents: [],
  portfolio: { state: undefined, snapshot: undefined, evaluatedAt: undefined },
  equityHistory: [],
  positions: [],
  openEpisodes: [],
  unknownAgentBreaches: 0,
  recentDecisions: [],
  recentOrders: [],
};

export async function readPortfolioView(db: Firestore, historyPoints = 240): Promise<PortfolioView> {
  const [profiles, ledgerOf, states, snapshots, positions, episodes, counters, decisions, orders] = await Promise.all([
    listAgentProfiles(db),
    LedgerRepository.for(db).allLedgers(),
    db.collection(COLLECTIONS.tradingStates).get(),
    db.collection(COLLECTIONS.riskSnapshots).orderBy('evaluatedAt', 'desc').limit(historyPoints).get(),
    db.collection(COLLECTIONS.positions).where('quantityAtoms', '!=', 0).get(),
    db.collection(COLLECTIONS.alertEpisodes).where('state', '==', 'open').get(),
    db.collection(COLLECTIONS.riskCounters).doc('unknown_agent').get(),
    db.collection(COLLECTIONS.agentDecisions).orderBy('recordedAt', 'desc').limit(12).get(),
    db.collection(COLLECTIONS.orders).orderBy('updatedAt', 'desc').limit(12).get(),
  ]);
  const stateOf = new Map(states.docs.map((d) => [d.id, TradingState.parse(d.data())]));
  const history = snapshots.docs.map((d) => ({ at: String(d.get('evaluatedAt')), snapshots: d.get('snapshots') as ScopeSnapshot[] })).reverse();
  const latest = history.at(-1);
  const snapshotOf = (scope: string) => latest?.snapshots.find((s) => s.scope === scope);
  return {
    agents: profiles.map((profile) => ({
      profile,
      ledger: ledgerOf.get(profile.agentId) ?? EMPTY_LEDGER,
      state: stateOf.get(profile.agentId),
      snapshot: snapshotOf(profile.agentId),
    })),
    portfolio: { state: stateOf.get(PORTFOLIO_SCOPE), snapshot: snapshotOf(PORTFOLIO_SCOPE), evaluatedAt: latest?.at },
    equityHistory: history.flatMap((h) => {
      const p = h.snapshots.find((s) => s.scope === PORTFOLIO_SCOPE);
      return p ? [{ at: h.at, equityMicros: p.equityMicros, drawdownFraction: p.drawdownFraction }] : [];
    }),
    positions: positions.docs.map((d) => ({ agentId: String(d.get('agentId')), symbol: String(d.get('symbol')), position: PositionState.parse(d.data()) })),
    openEpisodes: episodes.docs.map((d) => AlertEpisode.parse(d.data())),
    unknownAgentBreaches: (counters.get('count') as number | undefined) ?? 0,
    recentDecisions: decisions.docs.map((d) => ({
      agentId: String(d.get('agentId')),
      action: String(d.get('action')),
      reason: String(d.get('reason') ?? ''),
      ...(d.get('signalId') ? { signalId: String(d.get('signalId')) } : {}),
      decidedFor: String(d.get('decidedFor')),
      source: String(d.get('source')),
    })),
    recentOrders: orders.docs.map((d) => ({
      orderId: String(d.get('orderId')),
      agentId: String(d.get('agentId')),
      symbol: String(d.get('symbol')),
      side: String(d.get('side')),
      status: String(d.get('status')),
      updatedAt: String(d.get('updatedAt')),
    })),
  };
}
