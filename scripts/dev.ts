/**
 * npm start — the whole stack locally, in paper mode, on Google's emulators:
 * Firestore and Pub/Sub emulators, agent profiles seeded, every function of
 * triggers/manifest.ts served by functions-framework, topics and push subscriptions
 * created so messages reach the functions as they do when deployed. Ctrl-C stops all of it.
 */
import { existsSync, readdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { DEFAULT_AGENTS } from '../shared/domain/agents.js';
import { seedAgentProfiles } from '../shared/firestore/agent-profiles.js';
import { firestoreFor } from '../shared/firestore/client.js';
import { pubsubFor } from '../shared/pubsub/client.js';
import { FUNCTIONS, describeTrigger } from '../triggers/manifest.js';
import { startEmulators } from './lib/emulators.js';
import { clearLocalEnv, writeLocalEnv } from './lib/local-env.js';
import { type MarketStandIn, startMarketStandIn } from './lib/market-standin.js';
import { provisionPubSub } from './lib/provision.js';

const LOCAL_DEFAULTS: Record<string, string> = {
  GOOGLE_CLOUD_PROJECT: 'sapphire-local',
  ENABLE_PAPER_TRADING: 'true',
  ENABLE_VERTEX_AI: 'false',
  SIGNAL_INTAKE_TOKENS: 'sapphire-local-dev-token',
  TRADINGVIEW_SOURCE_SECRETS: JSON.stringify({ local: 'sapphire-local-tv-secret' }),
  BROKER_WEBHOOK_SECRETS: JSON.stringify({ local: 'sapphire-local-broker-secret' }),
  OPS_API_TOKENS: 'local:sapphire-local-ops-token',
  OPS_PUBLIC_READ: 'true',
  MONITORING_WEBHOOK_TOKEN: 'sapphire-local-monitoring-token',
  METADATA_SERVER_DETECTION: 'none',
};
const BASE_PORT = Number(process.env.SAPPHIRE_PORT ?? 8080);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Candle files named <SYMBOL>-1m-….csv; the replay serves one symbol per file. */
const MARKET_DIR = process.env.SAPPHIRE_MARKET_DATA ?? join(ROOT, '..', 'shared', 'data', 'market');
/** Replay start and speed: by default 2023-03-08 00:00 UTC, one market minute per second. */
const REPLAY_START = Date.parse(process.env.SAPPHIRE_REPLAY_START ?? '2023-03-08T00:00:00Z');
const REPLAY_SPEED = Number(process.env.SAPPHIRE_REPLAY_SPEED ?? 60);
/** Locally, Cloud Scheduler jobs are timers: agents think every 15 s, the rest run every minute. */
const SCHEDULE_MS = Number(process.env.SAPPHIRE_SCHEDULE_SECONDS ?? 60) * 1000;
const AGENT_MS = Number(process.env.SAPPHIRE_AGENT_SECONDS ?? 15) * 1000;

/** Listens on `port`, or on any free port when that one is taken; returns the port used. */
async function listen(server: Server, port: number): Promise<number> {
  const attempt = (p: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, '127.0.0.1', () => {
        server.removeListener('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  try {
    return await attempt(port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    return attempt(0);
  }
}

function marketFiles(): Record<string, string> {
  if (!existsSync(MARKET_DIR)) return {};
  const files: Record<string, string> = {};
  for (const name of readdirSync(MARKET_DIR)) {
    const match = /^([A-Z0-9]+)-1m-.*\.csv$/.exec(name);
    if (match?.[1]) files[match[1]] = join(MARKET_DIR, name);
  }
  return files;
}

const step = (n: number, total: number, text: string) => process.stderr.write(`[${n}/${total}] ${text}\n`);

async function main(): Promise<void> {
  for (const [key, value] of Object.entries(LOCAL_DEFAULTS)) process.env[key] ??= value;
  const projectId = process.env.GOOGLE_CLOUD_PROJECT as string;

  step(1, 5, 'starting the Firestore and Pub/Sub emulators…');
  const emulators = await startEmulators({ projectId });
  Object.assign(process.env, emulators.env);
  const servers: Server[] = [];
  const timers: NodeJS.Timeout[] = [];
  let market: MarketStandIn | undefined;
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('\nstopping functions and emulators…\n');
    for (const timer of timers) clearInterval(timer);
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    await market?.close();
    await emulators.stop();
    await clearLocalEnv();
    process.stderr.write('stopped.\n');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGHUP', () => void shutdown(0)); // the terminal closed

  try {
    await writeLocalEnv({ GOOGLE_CLOUD_PROJECT: projectId, METADATA_SERVER_DETECTION: 'none', ...emulators.env });
    step(2, 5, `seeding ${DEFAULT_AGENTS.length} agent profiles…`);
    await seedAgentProfiles(firestoreFor(projectId), DEFAULT_AGENTS);

    const files = marketFiles();
    if (Object.keys(files).length > 0 && !process.env.MARKET_DATA_URL) {
      step(3, 5, `replaying ${Object.keys(files).join(', ')} from ${MARKET_DIR} at ${REPLAY_SPEED}× from ${new Date(REPLAY_START).toISOString()}…`);
      // The stand-in's trading endpoints are unused in paper mode; its key pair is local only.
      market = await startMarketStandIn({ csvFiles: files, apiKey: 'local', apiSecret: 'local', start: REPLAY_START, speed: REPLAY_SPEED });
      process.env.MARKET_DATA_URL = market.url;
    } else {
      step(3, 5, `market data from ${process.env.MARKET_DATA_URL ?? 'the live Binance futures API'} (no candle files in ${MARKET_DIR})`);
    }

    step(4, 5, `starting ${FUNCTIONS.length} functions…`);
    const endpoints = new Map<string, string>();
    for (const [i, spec] of FUNCTIONS.entries()) {
      await import(`../functions/${spec.name}/index.ts`);
      const server = getTestServer(spec.entryPoint);
      const port = await listen(server, BASE_PORT + i);
      servers.push(server);
      endpoints.set(spec.name, `http://127.0.0.1:${port}`);
    }

    step(5, 5, 'creating topics and push subscriptions from triggers/manifest.ts…');
    await provisionPubSub(pubsubFor(projectId), (name) => {
      const url = endpoints.get(name);
      return url && `${url}/`;
    });
    // Cloud Scheduler, locally: POST to each scheduled function on a timer.
    for (const spec of FUNCTIONS) {
      if (!spec.triggers.some((t) => t.kind === 'schedule')) continue;
      const url = endpoints.get(spec.name) as string;
      const run = () => void fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).catch(() => undefined);
      timers.push(setTimeout(run, 3_000), setInterval(run, spec.name === 'agent-inference' ? AGENT_MS : SCHEDULE_MS));
    }

    const lines = [
      '',
      `Sapphire is running locally (project ${projectId}, paper trading).`,
      '',
      ...FUNCTIONS.map((spec) => `  ${spec.name.padEnd(20)} ${endpoints.get(spec.name)}   ${describeTrigger(spec)}`),
      '',
      `  Firestore emulator   ${emulators.firestore.host}`,
      `  Pub/Sub emulator     ${emulators.pubsub.host}`,
      `  dashboard            ${endpoints.get('ops-api')}/dashboard   (metrics: ${endpoints.get('ops-api')}/metrics)`,
      `  market data          ${market ? `${market.url} (replay of ${Object.keys(files).join(', ')})` : process.env.MARKET_DATA_URL ?? 'https://fapi.binance.com'}`,
      `  signal token         ${process.env.SIGNAL_INTAKE_TOKENS === LOCAL_DEFAULTS.SIGNAL_INTAKE_TOKENS ? LOCAL_DEFAULTS.SIGNAL_INTAKE_TOKENS : '(from SIGNAL_INTAKE_TOKENS)'}`,
      `  operator token       ${process.env.OPS_API_TOKENS === LOCAL_DEFAULTS.OPS_API_TOKENS ? 'sapphire-local-ops-token (operator "local")' : '(from OPS_API_TOKENS)'}`,
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
