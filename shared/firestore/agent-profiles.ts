import type { Firestore } from '@google-cloud/firestore';
import { AgentProfile } from '../domain/agents.js';
import { COLLECTIONS } from './collections.js';

/** Writes agent profiles (idempotent: profiles are replaced, ledgers are never touched). */
export async function seedAgentProfiles(db: Firestore, profiles: readonly AgentProfile[]): Promise<void> {
  const batch = db.batch();
  for (const profile of profiles) {
    batch.set(db.collection(COLLECTIONS.agents).doc(profile.agentId), AgentProfile.parse(profile));
  }
  await batch.commit();
}

export async function listAgentProfiles(db: Firestore): Promise<AgentProfile[]> {
  const snap = await db.collection(COLLECTIONS.agents).get();
  return snap.docs.map((doc) => AgentProfile.parse(doc.data()));
}
