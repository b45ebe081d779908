/**
 * npm run seed [profiles.json] [--real-project <id>] — writes agent profiles to Firestore: the
 * four defaults, or the profiles in a JSON file (an array of AgentProfile). Uses the running local
 * stack (or FIRESTORE_EMULATOR_HOST). A real project is written only with --real-project naming
 * it and a typed confirmation; there, prefer `npm run agents -- set …`, which is audited.
 */
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { AgentProfile, DEFAULT_AGENTS } from '../shared/domain/agents.js';
import { microsToUsd } from '../shared/domain/money.js';
import { seedAgentProfiles } from '../shared/firestore/agent-profiles.js';
import { firestoreFor } from '../shared/firestore/client.js';
import { useLocalEnv } from './lib/local-env.js';
import { fail } from './lib/ops-client.js';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { 'real-project': { type: 'string' } } });
const [file] = positionals;
const realProject = values['real-project'];
if (realProject) {
  delete process.env.FIRESTORE_EMULATOR_HOST;
  process.env.GOOGLE_CLOUD_PROJECT = realProject;
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  const typed = await prompt.question(`This replaces agent profiles in the REAL project ${realProject}. Type the project id to go on: `);
  prompt.close();
  if (typed.trim() !== realProject) fail('not confirmed: nothing written');
} else {
  if (!process.env.FIRESTORE_EMULATOR_HOST) await useLocalEnv().catch((error: Error) => fail(error.message));
  if (!process.env.FIRESTORE_EMULATOR_HOST) fail('no emulator to seed: start the local stack, or name a real project with --real-project <id>');
}
const profiles = file ? AgentProfile.array().parse(JSON.parse(await readFile(file, 'utf8'))) : DEFAULT_AGENTS;
await seedAgentProfiles(firestoreFor(process.env.GOOGLE_CLOUD_PROJECT as string), profiles);
for (const p of profiles) {
  process.stdout.write(`seeded ${p.agentId.padEnd(16)} allocation ${microsToUsd(p.marginAllocationMicros)} USD, leverage ≤ ${p.maxLeverage}\n`);
}
process.exit(0);
