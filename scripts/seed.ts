/**
 * npm run seed [profiles.json] — writes agent profiles to Firestore: the four defaults, or the
 * profiles in a JSON file (an array of AgentProfile). Profiles are data: a new budget or a new
 * agent is a seed away, no code change. Uses the running local stack unless
 * FIRESTORE_EMULATOR_HOST / GOOGLE_CLOUD_PROJECT say otherwise.
 */
import { readFile } from 'node:fs/promises';
import { AgentProfile, DEFAULT_AGENTS } from '../shared/domain/agents.js';
import { seedAgentProfiles } from '../shared/firestore/agent-profiles.js';
import { firestoreFor } from '../shared/firestore/client.js';
import { useLocalEnv } from './lib/local-env.js';

const file = process.argv[2];
if (!process.env.GOOGLE_CLOUD_PROJECT || !process.env.FIRESTORE_EMULATOR_HOST) await useLocalEnv();
const profiles = file ? AgentProfile.array().parse(JSON.parse(await readFile(file, 'utf8'))) : DEFAULT_AGENTS;
await seedAgentProfiles(firestoreFor(process.env.GOOGLE_CLOUD_PROJECT as string), profiles);
for (const p of profiles) {
  process.stdout.write(`seeded ${p.agentId.padEnd(16)} allocation ${(p.marginAllocationMicros / 1e6).toFixed(2)} USD, leverage ≤ ${p.maxLeverage}\n`);
}
process.exit(0);
