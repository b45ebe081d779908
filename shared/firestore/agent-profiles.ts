import type { Firestore } from '@google-cloud/firestore';
import { AgentProfile } from '../domain/agents.js';
import { serverTimestamp } from './client.js';
import { COLLECTIONS } from './collections.js';
import { runTransaction } from './transactions.js';

/** Writes agent profiles (idempotent: profiles are replaced, ledgers are never touched). */
export async function seedAgentProfiles(db: Firestore, profiles: readonly AgentProfile[]): Promise<void> {
  const batch = db.batch();
  for (const profile of profiles) {
    batch.set(db.collection(COLLECTIONS.agents).doc(profile.agentId), AgentProfile.parse(profile));
  }
  await batch.commit();
}

export async function agentProfileOf(db: Firestore, agentId: string): Promise<AgentProfile | undefined> {
  const snap = await db.collection(COLLECTIONS.agents).doc(agentId).get();
  return snap.exists ? AgentProfile.parse(snap.data()) : undefined;
}

/**
 * Changes one profile in a transaction and records who, when, why, before and after
 * (agentProfileChanges). The next reservation reads the new profile; ledgers are never touched,
 * so a budget lowered below what is committed blocks new risk and fails nothing.
 */
export async function changeAgentProfile(
  db: Firestore,
  agentId: string,
  change: (current: AgentProfile | undefined) => AgentProfile,
  audit: { readonly by: string; readonly reason: string; readonly at: Date },
): Promise<{ readonly before: AgentProfile | undefined; readonly after: AgentProfile }> {
  const ref = db.collection(COLLECTIONS.agents).doc(agentId);
  return runTransaction(db, async (tx) => {
    const snap = await tx.get(ref);
    const before = snap.exists ? AgentProfile.parse(snap.data()) : undefined;
    const after = AgentProfile.parse(change(before));
    tx.set(ref, after);
    tx.create(db.collection(COLLECTIONS.agentProfileChanges).doc(), {
      agentId,
      before: before ?? null,
      after,
      by: audit.by,
      reason: audit.reason,
      changedAt: audit.at.toISOString(),
      recordedAt: serverTimestamp(),
    });
    return { before, after };
  });
}

export async function listAgentProfiles(db: Firestore): Promise<AgentProfile[]> {
  const snap = await db.collection(COLLECTIONS.agents).get();
  return snap.docs.map((doc) => AgentProfile.parse(doc.data()));
}
