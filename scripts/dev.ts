/**
 * npm start — the whole stack locally, in paper mode, on Google's emulators (see
 * scripts/lib/local-stack.ts), with Cloud Scheduler's jobs as timers. Ctrl-C stops all of it.
 */
import { FUNCTIONS, describeTrigger, repeatMinutes } from '../triggers/manifest.js';
import { LOCAL_DEFAULTS, MARKET_DIR } from './lib/local-defaults.js';
import { type LocalStack, startLocalStack } from './lib/local-stack.js';
import { clearLocalEnv, writeLocalEnv } from './lib/local-env.js';
import { localSettings } from './lib/local-settings.js';
import { preflight } from './lib/preflight.js';
import { readableLogLine } from './lib/readable-log.js';
import { ConfigError } from '../shared/config.js';
import { sendLogEntriesTo } from '../shared/log.js';

const step = (n: number, total: number, text: string) => process.stderr.write(`[${n}/${total}] ${text}\n`);

/**
 * The settings (scripts/lib/local-settings.ts): by default the replay starts 2023-03-10 00:00 UTC
 * (the day of the SVB failure, when the agents have something to trade within seconds) at one
 * market minute per second, and Cloud Scheduler's jobs run 20 times faster than deployed (agents
 * think every 15 s, the evaluator and reconciler run every 3 s).
 */
function settings() {
  try {
    return localSettings();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`npm start: ${error.message}\n`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const config = settings();
  await preflight('start');
  const delivery = config.SAPPHIRE_PUSH_DELIVERY;
  if (config.SAPPHIRE_LOG_FORMAT === 'text') {
    const colour = process.stdout.isTTY && process.stdout.hasColors();
    sendLogEntriesTo((entry) => {
      const line = readableLogLine(entry, config.SAPPHIRE_LOG_DETAIL, colour);
      if (line !== undefined) process.stdout.write(`${line}\n`);
    });
  }
  const timers: NodeJS.Timeout[] = [];
  let stack: LocalStack | undefined;
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('\nstopping functions and emulators…\n');
    for (const timer of timers) clearInterval(timer);
    await stack?.stop();
    await clearLocalEnv();
    process.stderr.write('stopped.\n');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGHUP', () => void shutdown(0)); // the terminal closed

  try {
    stack = await startLocalStack({
      basePort: config.SAPPHIRE_PORT,
      delivery,
      replayStart: config.SAPPHIRE_REPLAY_START,
      replaySpeed: config.SAPPHIRE_REPLAY_SPEED,
      venue: config.SAPPHIRE_VENUE,
      scheduleSpeedup: config.SAPPHIRE_SCHEDULE_SPEEDUP,
      progress: step,
    });
    if (stopping) return;
    const { projectId, emulators, endpoints, market, marketFiles } = stack;
    await writeLocalEnv({
      GOOGLE_CLOUD_PROJECT: projectId,
      METADATA_SERVER_DETECTION: 'none',
      ...emulators.env,
      GCS_API_ENDPOINT: stack.gcs.url,
      SAPPHIRE_OPS_API_URL: endpoints.get('ops-api') as string,
      SAPPHIRE_VERTEX_STANDIN: `http://${stack.vertex.host}:${stack.vertex.port}`,
    });
    // Cloud Scheduler, locally: POST each schedule's body to its function on a timer. Weekly
    // per-agent training is left to the operator (`npm run training -- start --agent <id>`).
    for (const spec of FUNCTIONS) {
      for (const trigger of spec.triggers) {
        const minutes = trigger.kind === 'schedule' && !trigger.perAgent ? repeatMinutes(trigger.schedule) : undefined;
        if (trigger.kind !== 'schedule' || minutes === undefined) continue;
        const url = endpoints.get(spec.name) as string;
        const body = JSON.stringify(trigger.body ?? {});
        const run = () => void fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).catch(() => undefined);
        timers.push(setTimeout(run, 3_000), setInterval(run, (minutes * 60_000) / config.SAPPHIRE_SCHEDULE_SPEEDUP));
      }
    }

    const lines = [
      '',
      `Sapphire is running locally (project ${projectId}, ${config.SAPPHIRE_VENUE === 'paper' ? 'paper trading' : 'orders to the Binance stand-in'}, push delivery: ${delivery}).`,
      '',
      ...FUNCTIONS.map((spec) => `  ${spec.name.padEnd(20)} ${endpoints.get(spec.name)}   ${describeTrigger(spec)}`),
      '',
      `  Firestore emulator   ${emulators.firestore.host}`,
      `  Pub/Sub emulator     ${emulators.pubsub.host}`,
      `  Cloud Storage        ${stack.gcs.url} (fake-gcs-server; bucket ${process.env.TRAINING_BUCKET})`,
      `  Vertex AI stand-in   http://${stack.vertex.host}:${stack.vertex.port}   (training jobs, models, endpoints)`,
      `  dashboard            ${endpoints.get('ops-api')}/dashboard   (metrics: ${endpoints.get('ops-api')}/metrics)`,
      `  market data          ${market ? `${market.url} (replay of ${Object.keys(marketFiles).join(', ')} from ${MARKET_DIR})` : process.env.MARKET_DATA_URL ?? 'https://fapi.binance.com'}`,
      ...(market && config.SAPPHIRE_VENUE === 'standin' ? [`  venue faults         POST ${market.url}/sapphire-admin/faults   (orders: GET ${market.url}/sapphire-admin/orders)`] : []),
      `  signal token         ${process.env.SIGNAL_INTAKE_TOKENS === LOCAL_DEFAULTS.SIGNAL_INTAKE_TOKENS ? LOCAL_DEFAULTS.SIGNAL_INTAKE_TOKENS : '(from SIGNAL_INTAKE_TOKENS)'}`,
      `  operator token       ${process.env.OPS_API_TOKENS === LOCAL_DEFAULTS.OPS_API_TOKENS ? 'sapphire-local-ops-token (operator "local")' : '(from OPS_API_TOKENS)'}`,
      '',
      'Send a signal (see README), then `npm run ledgers` to see each agent’s margin;',
      '`npm run training -- start --agent qwen-7b` fine-tunes an agent on what it recorded. Ctrl-C stops everything.',
      '',
    ];
    process.stderr.write(`${lines.join('\n')}\n`);
  } catch (error) {
    process.stderr.write(`local stack failed to start: ${(error as Error).message}\n`);
    await shutdown(1);
  }
}

await main();
