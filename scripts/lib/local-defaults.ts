import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_AGENTS } from '../../shared/domain/agents.js';

/** The configuration local runs (npm start, the benchmarks, npm run replay) start from. Light to import. */
export const LOCAL_DEFAULTS: Readonly<Record<string, string>> = {
  GOOGLE_CLOUD_PROJECT: 'sapphire-local',
  ENABLE_PAPER_TRADING: 'true',
  ENABLE_VERTEX_AI: 'false',
  SIGNAL_INTAKE_TOKENS: 'sapphire-local-dev-token',
  TRADINGVIEW_SOURCE_SECRETS: JSON.stringify({ local: 'sapphire-local-tv-secret' }),
  BROKER_WEBHOOK_SECRETS: JSON.stringify({ local: 'sapphire-local-broker-secret' }),
  OPS_API_TOKENS: 'local:sapphire-local-ops-token',
  OPS_PUBLIC_READ: 'true',
  TRAINING_BUCKET: 'sapphire-local-training',
  TRAINING_LOCATION: 'europe-west4',
  TRAINER_IMAGE_URI: 'europe-west4-docker.pkg.dev/sapphire-local/sapphire/trainer:local',
  // A local session records a few dozen decisions, not a month of them.
  TRAINING_MIN_ROWS: '5',
  VERTEX_ENDPOINTS: JSON.stringify(
    Object.fromEntries(DEFAULT_AGENTS.map((a, i) => [a.agentId, `projects/sapphire-local/locations/europe-west4/endpoints/${100 + i}`])),
  ),
  MONITORING_WEBHOOK_TOKEN: 'sapphire-local-monitoring-token',
  METADATA_SERVER_DETECTION: 'none',
};

/** The repository's root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Candle files named <SYMBOL>-1m-….csv; the replay serves one symbol per file. */
export const MARKET_DIR = process.env.SAPPHIRE_MARKET_DATA ?? join(ROOT, '..', 'shared', 'data', 'market');
