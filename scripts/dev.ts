/**
 * npm start — the whole stack locally, in paper mode, on Google's emulators:
 * Firestore and Pub/Sub emulators, agent profiles seeded, every function of
 * triggers/manifest.ts served by functions-framework, topics and push subscriptions
 * created so messages reach the functions as they do when deployed. Ctrl-C stops all of it.
 */
import type { Server } from 'node:http';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { DEFAULT_AGENTS } from '../shared/domain/agents.js';
import { seedAgentProfiles } from '../shared/firestore/agent-profiles.js';
import { firestoreFor } from '../shared/firestore/client.js';
import { pubsubFor } from '../shared/pubsub/client.js';
import { FUNCTIONS, describeTrigger } from '../triggers/manifest.js';
import { startEmulators } from './lib/emulators.js';
import { clearLocalEnv, writeLocalEnv } from './lib/local-env.js';
import { provisionPubSub } from './lib/provision.js';

const LOCAL_DEFAULTS: Record<string, string> = {
  GOOGLE_CLOUD_PROJECT: 'sapphire-local',
  ENABLE_PAPER_TRADING: 'true',
  ENABLE_VERTEX_AI: 'false',
  SIGNAL_INTAKE_TOKENS: 'sapphire-local-dev-token',
  TRADINGVIEW_SOURCE_SECRETS: JSON.stringify({ local: 'sapphire-local-tv-secret' }),
  METADATA_SERVER_DETECTION: 'none',
};
const BASE_PORT = Number(process.env.SAPPHIRE_PORT ?? 8080);

const step = (n: number, total: number, text: string) => process.stderr.write(`[${n}/${total}] ${text}\n`);

async function main(): Promise<void> {
  for (const [key, value] of Object.entries(LOCAL_DEFAULTS)) process.env[key] ??= value;
  const projectId = process.env.GOOGLE_CLOUD_PROJECT as string;

  step(1, 4, 'starting the Firestore and Pub/Sub emulators…');
  const emulators = await startEmulators({ projectId });
  Object.assign(process.env, emulators.env);
  const servers: Server[] = [];
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('\nstopping functions and emulators…\n');
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    await emulators.stop();
    await clearLocalEnv();
    process.stderr.write('stopped.\n');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    await writeLocalEnv({ GOOGLE_CLOUD_PROJECT: projectId, METADATA_SERVER_DETECTION: 'none', ...emulators.env });
    step(2, 4, `seeding ${DEFAULT_AGENTS.length} agent profiles…`);
    await seedAgentProfiles(firestoreFor(projectId), DEFAULT_AGENTS);

    step(3, 4, `starting ${FUNCTIONS.length} functions…`);
    const endpoints = new Map<string, string>();
    for (const [i, spec] of FUNCTIONS.entries()) {
      await import(`../functions/${spec.name}/index.ts`);
      const server = getTestServer(spec.entryPoint);
      const port = BASE_PORT + i;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', resolve);
      });
      servers.push(server);
      endpoints.set(spec.name, `http://127.0.0.1:${port}`);
    }

    step(4, 4, 'creating topics and push subscriptions from triggers/manifest.ts…');
    await provisionPubSub(pubsubFor(projectId), (name) => {
      const url = endpoints.get(name);
      return url && `${url}/`;
    });

    const lines = [
      '',
      `Sapphire is running locally (project ${projectId}, paper trading).`,
      '',
      ...FUNCTIONS.map((spec) => `  ${spec.name.padEnd(20)} ${endpoints.get(spec.name)}   ${describeTrigger(spec)}`),
      '',
      `  Firestore emulator   ${emulators.firestore.host}`,
      `  Pub/Sub emulator     ${emulators.pubsub.host}`,
      `  signal token         ${process.env.SIGNAL_INTAKE_TOKENS === LOCAL_DEFAULTS.SIGNAL_INTAKE_TOKENS ? LOCAL_DEFAULTS.SIGNAL_INTAKE_TOKENS : '(from SIGNAL_INTAKE_TOKENS)'}`,
      '',
      'Send a signal (see README), then `npm run ledgers` to see each agent’s margin. Ctrl-C stops everything.',
      '',
    ];
    process.stderr.write(`${lines.join('\n')}\n`);
  } catch (error) {
    process.stderr.write(`local stack failed to start: ${(error as Error).message}\n`);
    await shutdown(1);
  }
}

await main();
