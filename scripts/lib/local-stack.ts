import { existsSync, readdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { DEFAULT_AGENTS } from '../../shared/domain/agents.js';
import { symbolOfCandleFile } from '../../shared/domain/candles.js';
import { seedAgentProfiles } from '../../shared/firestore/agent-profiles.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { pubsubFor } from '../../shared/pubsub/client.js';
import { FUNCTIONS } from '../../triggers/manifest.js';
import { type EmulatorPair, startEmulators } from './emulators.js';
import { type GcsEmulator, createBucket, startGcsEmulator } from './gcs-emulator.js';
import { type VertexStandIn, startVertexStandIn } from './vertex-standin.js';
import { BINANCE_RATE_LIMITS, type MarketStandIn, type RateLimits, startMarketStandIn } from './market-standin.js';
import { type LocalPushDelivery, type PushDeliveryMode, provisionPubSub } from './provision.js';
import { LOCAL_DEFAULTS, MARKET_DIR } from './local-defaults.js';
import { type FunctionProcess, startFunctionProcess } from './function-process.js';
import { freePort } from './ports.js';

/**
 * The whole stack in this process, in paper mode, on Google's emulators: Firestore and Pub/Sub
 * emulators, agent profiles seeded, the market replay, every function of triggers/manifest.ts
 * served by functions-framework, topics and push subscriptions delivering to them. `npm start`
 * and `npm run bench:pipeline` both run it, so the bench measures what a user runs.
 */

export interface LocalStackOptions {
  readonly basePort: number;
  readonly delivery: PushDeliveryMode;
  readonly replayStart: number;
  readonly replaySpeed: number;
  /**
   * Where orders go: the paper exchange (the default), or the Binance stand-in's trading endpoints,
   * one account per agent, where faults can be injected (POST /sapphire-admin/faults).
   */
  readonly venue?: 'paper' | 'standin';
  /**
   * How many times faster than deployed the scheduled functions run: they ask the market that much
   * more often from one address, so the stand-in's per-minute request budgets grow as much.
   */
  readonly scheduleSpeedup?: number;
  /**
   * Functions served each from a process of its own (functions-framework's CLI), which a test can
   * crash mid-request; the rest run in this process.
   */
  readonly ownProcess?: readonly string[];
  /** One line per step, for progress. */
  readonly progress?: (step: number, total: number, text: string) => void;
}

export interface LocalStack {
  readonly projectId: string;
  readonly emulators: EmulatorPair;
  /** The Cloud Storage emulator and the Vertex AI stand-in training talks to. */
  readonly gcs: GcsEmulator;
  readonly vertex: VertexStandIn;
  /** Function name → its base URL. */
  readonly endpoints: ReadonlyMap<string, string>;
  readonly market: MarketStandIn | undefined;
  readonly marketFiles: Readonly<Record<string, string>>;
  readonly delivery: LocalPushDelivery;
  /** The functions of `ownProcess`, by name. */
  readonly processes: ReadonlyMap<string, FunctionProcess>;
  stop(): Promise<void>;
}

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
    const symbol = name.endsWith('.csv') ? symbolOfCandleFile(name) : undefined;
    if (symbol) files[symbol] = join(MARKET_DIR, name);
  }
  return files;
}

function scaledRateLimits(speedup: number): Partial<RateLimits> {
  const scale = Math.max(1, Math.ceil(speedup));
  return {
    weightPerMinute: BINANCE_RATE_LIMITS.weightPerMinute * scale,
    ordersPer10s: BINANCE_RATE_LIMITS.ordersPer10s * scale,
    ordersPerMinute: BINANCE_RATE_LIMITS.ordersPerMinute * scale,
  };
}

/** Starts everything; on a failure part-way, stops what it started and rethrows. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  for (const [key, value] of Object.entries(LOCAL_DEFAULTS)) process.env[key] ??= value;
  const projectId = process.env.GOOGLE_CLOUD_PROJECT as string;
  const progress = options.progress ?? (() => undefined);

  progress(1, 5, 'starting the Firestore, Pub/Sub and Cloud Storage emulators and the Vertex AI stand-in…');
  const [emulators, gcs, vertex] = await Promise.all([
    startEmulators({ projectId }),
    startGcsEmulator({ progress: (line) => progress(1, 5, line) }),
    startVertexStandIn(),
  ]);
  Object.assign(process.env, emulators.env, { GCS_API_ENDPOINT: gcs.url, VERTEX_API_ENDPOINT: `http://${vertex.host}:${vertex.port}` });
  const servers: Server[] = [];
  const processes = new Map<string, FunctionProcess>();
  let market: MarketStandIn | undefined;
  let delivery: LocalPushDelivery | undefined;
  const stop = async () => {
    await delivery?.stop();
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    await Promise.all([...processes.values()].map((p) => p.stop()));
    await market?.close();
    await Promise.all([emulators.stop(), gcs.stop(), vertex.close()]);
  };

  try {
    await createBucket(gcs.url, projectId, process.env.TRAINING_BUCKET as string);
    progress(2, 5, `seeding ${DEFAULT_AGENTS.length} agent profiles…`);
    await seedAgentProfiles(firestoreFor(projectId), DEFAULT_AGENTS);

    const files = marketFiles();
    if (Object.keys(files).length > 0 && !process.env.MARKET_DATA_URL) {
      progress(3, 5, `replaying ${Object.keys(files).join(', ')} from ${MARKET_DIR} at ${options.replaySpeed}× from ${new Date(options.replayStart).toISOString()}…`);
      // Each agent has an account of its own at the stand-in; in paper mode they go unused.
      const accounts = Object.fromEntries(DEFAULT_AGENTS.map((a) => [a.agentId, { apiKey: `local-${a.agentId}`, apiSecret: `local-secret-${a.agentId}` }]));
      market = await startMarketStandIn({
        csvFiles: files,
        apiKey: 'local',
        apiSecret: 'local',
        moreAccounts: Object.fromEntries(Object.values(accounts).map((k) => [k.apiKey, k.apiSecret])),
        start: options.replayStart,
        speed: options.replaySpeed,
        rateLimits: scaledRateLimits(options.scheduleSpeedup ?? 1),
      });
      process.env.MARKET_DATA_URL = market.url;
      if (options.venue === 'standin') Object.assign(process.env, { ENABLE_PAPER_TRADING: 'false', EXCHANGE_BASE_URL: market.url, EXCHANGE_ACCOUNTS: JSON.stringify(accounts) });
    } else if (options.venue === 'standin') {
      throw new Error(`SAPPHIRE_VENUE=standin trades on the replayed market: no candle files in ${MARKET_DIR}`);
    } else {
      progress(3, 5, `market data from ${process.env.MARKET_DATA_URL ?? 'the live Binance futures API'} (no candle files in ${MARKET_DIR})`);
    }

    progress(4, 5, `starting ${FUNCTIONS.length} functions…`);
    const endpoints = new Map<string, string>();
    for (const [i, spec] of FUNCTIONS.entries()) {
      if (options.ownProcess?.includes(spec.name)) {
        const served = await startFunctionProcess(spec.name, spec.entryPoint, await freePort());
        processes.set(spec.name, served);
        endpoints.set(spec.name, served.url);
        continue;
      }
      await import(`../../functions/${spec.name}/index.ts`);
      const server = getTestServer(spec.entryPoint);
      // Keep-alive connections from the push relay stay open between bursts.
      server.keepAliveTimeout = 60_000;
      const port = await listen(server, options.basePort + i);
      servers.push(server);
      endpoints.set(spec.name, `http://127.0.0.1:${port}`);
    }

    progress(5, 5, `creating topics and push subscriptions from triggers/manifest.ts (delivery: ${options.delivery})…`);
    delivery = await provisionPubSub(
      pubsubFor(projectId),
      (name) => {
        const url = endpoints.get(name);
        return url && `${url}/`;
      },
      { delivery: options.delivery },
    );
    return { projectId, emulators, gcs, vertex, endpoints, market, marketFiles: files, delivery, processes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
