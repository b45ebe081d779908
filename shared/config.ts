import { z } from 'zod';
import { FLATTEN_POLICY } from './domain/flatten.js';
import { PLACEMENT_LEASE_MS } from './domain/orders.js';
import { FUNCTIONS, SECRETS, type SecretName, TOPICS } from '../triggers/manifest.js';

/**
 * The environment, validated once at start. A bad environment fails with one error that names
 * every bad variable, never with the first problem only.
 */

const Bool = z
  .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1');

const IntFrom = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const TokenList = z
  .string()
  .transform((v) => v.split(',').map((t) => t.trim()).filter(Boolean))
  .pipe(z.array(z.string().min(16, 'each token needs at least 16 characters')));

/** A variable holding JSON, parsed and then validated by `schema`; `shape` names the expected form. */
function JsonVar<T extends z.ZodType>(shape: string, schema: T) {
  return z
    .string()
    .transform((v, ctx) => {
      try {
        return JSON.parse(v) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be JSON: ${shape}` });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

const SourceSecrets = JsonVar(
  '{"<name>": "<secret>"}',
  z.record(z.string().regex(/^[a-z0-9-]{1,40}$/), z.string().min(16, 'each secret needs at least 16 characters')),
);

const FractionFrom = z
  .string()
  .regex(/^(0(\.\d+)?|1(\.0+)?)$/, 'must be a fraction between 0 and 1, such as 0.25')
  .transform(Number);

const EnvSchema = z.object({
  GOOGLE_CLOUD_PROJECT: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'must be a Google Cloud project id'),
  ENABLE_VERTEX_AI: Bool.default(false),
  ENABLE_PAPER_TRADING: Bool.default(true),
  MAX_SYMBOLS_PER_AGENT: IntFrom(1, 1_000).default(50),
  AGENT_CACHE_TTL_SECONDS: IntFrom(0, 86_400).default(10),
  /** Bearer tokens accepted by signal-intake, comma-separated. None set: every call is refused. */
  SIGNAL_INTAKE_TOKENS: TokenList.default([]),
  /** Per-source secrets for TradingView alerts (which cannot send headers). */
  TRADINGVIEW_SOURCE_SECRETS: SourceSecrets.default({}),
  /** How long a TradingView alert stays actionable. */
  SIGNAL_TTL_SECONDS: IntFrom(1, 3_600).default(60),
  /** Most ledger events (reservations, fills, …) one agent's transaction applies; ≤ 5 writes each, 500 per commit. */
  GROUP_COMMIT_MAX_BATCH: IntFrom(1, 99).default(99),
  /**
   * Commits per agent ledger: a burst, then a steady rate. Burst + rate is the most writes one
   * ledger document gets in any second; under load, events wait and share bigger batches.
   */
  LEDGER_COMMIT_BURST: IntFrom(1, 100).default(4),
  LEDGER_COMMITS_PER_SECOND: IntFrom(1, 1_000).default(6),
  /**
   * A redelivered signal whose outcome is still unpublished after this long publishes it again:
   * the delivery that decided it died between commit and publish.
   */
  REDRIVE_AFTER_SECONDS: IntFrom(0, 3_600).default(30),
  /** Binance-compatible USDⓈ-M futures REST base URL for real orders (Binance, Aster DEX). */
  EXCHANGE_BASE_URL: z.url().default('https://fapi.binance.com'),
  /** The shared venue account, for agents without their own in EXCHANGE_ACCOUNTS. */
  EXCHANGE_API_KEY: z.string().min(1).optional(),
  EXCHANGE_API_SECRET: z.string().min(1).optional(),
  /** One venue account per agent: JSON {"<agentId>": {"apiKey", "apiSecret"}}. */
  EXCHANGE_ACCOUNTS: JsonVar(
    '{"<agentId>": {"apiKey": "...", "apiSecret": "..."}}',
    z.record(z.string(), z.object({ apiKey: z.string().min(1), apiSecret: z.string().min(1) }).strict()),
  ).default({}),
  /** Where prices come from: the venue's public endpoints, or locally the market replay. */
  MARKET_DATA_URL: z.url().default('https://fapi.binance.com'),
  PAPER_SLIPPAGE_BPS: IntFrom(0, 1_000).default(5),
  /** Paper fees in parts per million of notional: 500 = 0.05% (Binance futures taker). */
  PAPER_TAKER_FEE_PPM: IntFrom(0, 100_000).default(500),
  /** Per-broker webhook secrets: JSON {"<broker>": "<secret>"}. */
  BROKER_WEBHOOK_SECRETS: SourceSecrets.default({}),
  /** A reservation that has not become an order after this long is released by the reconciler. */
  RESERVATION_TTL_SECONDS: IntFrom(10, 86_400).default(300),
  ORDER_TTL_SECONDS: IntFrom(10, 86_400).default(300),
  /**
   * How long one delivery of an order holds its placement; another delivery waits until then.
   * Longer than the venue client's sends, retries and asking after an unknown answer (about 20 s).
   */
  ORDER_PLACEMENT_LEASE_SECONDS: IntFrom(30, 600).default(PLACEMENT_LEASE_MS / 1000),
  /** A flatten not yet flat is tried again this long after its last try, then twice as long each time (at most 5 minutes apart). */
  FLATTEN_RETRY_SECONDS: IntFrom(1, 600).default(FLATTEN_POLICY.retryFirstMs / 1000),
  /** A flatten still not flat this long after it began alerts (critical), once; it goes on trying. */
  FLATTEN_ALERT_AFTER_SECONDS: IntFrom(1, 86_400).default(FLATTEN_POLICY.alertAfterMs / 1000),
  /** Operator tokens for ops-api, comma-separated `name:token`; the name is recorded as who acted. */
  OPS_API_TOKENS: z
    .string()
    .transform((v) => v.split(',').map((t) => t.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[a-z0-9._-]{1,40}:\S{16,}$/, 'each entry is name:token, the token at least 16 characters')))
    .transform((entries) => entries.map((e) => ({ name: e.slice(0, e.indexOf(':')), token: e.slice(e.indexOf(':') + 1) })))
    .default([]),
  /** Write the metrics to Cloud Monitoring as custom metrics (deployed), where the alert policies watch them. */
  ENABLE_CLOUD_MONITORING: Bool.default(false),
  /** Cloud Monitoring API host override, e.g. a local stand-in (http://127.0.0.1:9000). */
  MONITORING_API_ENDPOINT: z.string().min(1).optional(),
  /** GET /metrics and /dashboard without a token (the local stack; deployed, keep it off). */
  OPS_PUBLIC_READ: Bool.default(false),
  RISK_UTILIZATION_WARN_FRACTION: FractionFrom.default(0.95),
  RISK_PORTFOLIO_DRAWDOWN_HALT_FRACTION: FractionFrom.default(0.25),
  RISK_AGENT_DRAWDOWN_HALT_FRACTION: FractionFrom.default(0.4),
  RISK_AGENT_DAILY_LOSS_HALT_FRACTION: FractionFrom.default(0.2),
  /** After an operator's resume, a halting condition halts again this much deeper (fraction points). */
  RISK_REARM_STEP_FRACTION: FractionFrom.default(0.05),
  /** A price the feed has not given for this long is stale: agents holding it may only reduce risk. */
  RISK_PRICE_STALENESS_SECONDS: IntFrom(30, 3_600).default(300),
  /** Where alerts go: JSON [{"name","type":"slack","url"} | {"name","type":"webhook","url","secret"}]. */
  ALERT_DESTINATIONS: JsonVar(
    '[{"name", "type": "slack" | "webhook", "url", "secret"?}]',
    z.array(
      z.discriminatedUnion('type', [
        z.object({ name: z.string().regex(/^[a-z0-9-]{1,40}$/), type: z.literal('slack'), url: z.url() }),
        z.object({ name: z.string().regex(/^[a-z0-9-]{1,40}$/), type: z.literal('webhook'), url: z.url(), secret: z.string().min(16) }),
      ]),
    ),
  ).default([]),
  /** Most notifications per second to one destination (Slack allows about one). */
  ALERT_RATE_PER_SECOND: IntFrom(1, 100).default(1),
  /** Vertex AI endpoint resource name per agent: JSON {"deepseek-v3": "projects/…/locations/…/endpoints/…"}. */
  VERTEX_ENDPOINTS: JsonVar(
    '{"<agentId>": "projects/<p>/locations/<l>/endpoints/<id>"}',
    z.record(z.string(), z.string().regex(/^projects\/[^/]+\/locations\/[^/]+\/endpoints\/[^/]+$/, 'projects/<p>/locations/<l>/endpoints/<id>')),
  ).default({}),
  /** Prediction API host; defaults to the regional endpoint of VERTEX_LOCATION. */
  VERTEX_API_ENDPOINT: z.string().min(1).optional(),
  VERTEX_LOCATION: z.string().regex(/^[a-z]+-[a-z]+\d+$/).default('europe-west4'),
  VERTEX_TIMEOUT_MS: IntFrom(100, 120_000).default(8_000),
  /** Decisions less confident than this send no signal. */
  MIN_SIGNAL_CONFIDENCE: FractionFrom.default(0.55),
  /** One-minute candles per symbol an agent sees. */
  AGENT_CANDLES: IntFrom(30, 1_500).default(180),
  /**
   * The service account Pub/Sub push and Cloud Scheduler sign OIDC tokens as. Set (deployed),
   * push and scheduled functions refuse calls without such a token for their own URL.
   */
  INVOKER_SERVICE_ACCOUNT: z.email().optional(),
  /** Token the Cloud Monitoring webhook channel sends as ?token=. */
  MONITORING_WEBHOOK_TOKEN: z.string().min(16).optional(),
  /** A Cloud Storage emulator's base URL (locally, in tests); unset, Google's. */
  GCS_API_ENDPOINT: z.url().optional(),
  /** Cloud Storage bucket for training datasets and model outputs; unset, training is off. */
  TRAINING_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/, 'must be a bucket name').optional(),
  /** Vertex region of training jobs and models (A100s are not in every region). */
  TRAINING_LOCATION: z.string().regex(/^[a-z]+-[a-z]+\d+$/).default('europe-west4'),
  TRAINER_IMAGE_URI: z.string().min(1).default('europe-west4-docker.pkg.dev/sapphire/sapphire/trainer:latest'),
  LLM_SERVING_IMAGE_URI: z.string().min(1).default('europe-west4-docker.pkg.dev/sapphire/sapphire/llm-serving:latest'),
  LAGLLAMA_SERVING_IMAGE_URI: z.string().min(1).default('europe-west4-docker.pkg.dev/sapphire/sapphire/lagllama-serving:latest'),
  /** The service account training jobs run as (least privilege: the bucket and logs). */
  TRAINER_SERVICE_ACCOUNT: z.email().optional(),
  TRAINING_MACHINE_TYPE: z.string().regex(/^[a-z0-9-]{1,40}$/).default('a2-highgpu-1g'),
  TRAINING_ACCELERATOR_TYPE: z.string().regex(/^[A-Z0-9_]{1,40}$/).default('NVIDIA_TESLA_A100'),
  TRAINING_ACCELERATOR_COUNT: IntFrom(0, 16).default(1),
  TRAINING_TIMEOUT_HOURS: IntFrom(1, 168).default(12),
  TRAINING_MAX_CONCURRENT_JOBS: IntFrom(1, 100).default(2),
  TRAINING_MAX_RUNS_PER_AGENT_PER_WEEK: IntFrom(1, 100).default(2),
  /** Windows end on period boundaries (7: Mondays 00:00 UTC) and reach this far back. */
  TRAINING_PERIOD_DAYS: IntFrom(1, 28).default(7),
  TRAINING_LOOKBACK_DAYS: IntFrom(1, 365).default(28),
  TRAINING_LABEL_HORIZON_MINUTES: IntFrom(1, 1_440).default(15),
  TRAINING_VALIDATION_FRACTION: FractionFrom.default(0.2),
  /** Fewer labelled rows than this: the run is skipped, no job starts. */
  TRAINING_MIN_ROWS: IntFrom(1, 10_000_000).default(200),
  /** A new model serves only if it beats the serving one by this fraction of its figure. */
  TRAINING_PROMOTION_MARGIN: FractionFrom.default(0.02),
});

/** Trading for real needs venue keys: one pair for every agent, or EXCHANGE_ACCOUNTS. */
function venueKeyProblems(env: z.infer<typeof EnvSchema>): string[] {
  if (env.ENABLE_PAPER_TRADING || Object.keys(env.EXCHANGE_ACCOUNTS).length > 0) return [];
  return (['EXCHANGE_API_KEY', 'EXCHANGE_API_SECRET'] as const).filter((key) => !env[key]).map((key) => `${key}: is required when ENABLE_PAPER_TRADING=false and EXCHANGE_ACCOUNTS is empty`);
}

export type Config = z.infer<typeof EnvSchema> & { readonly topics: typeof TOPICS };

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * The configuration from the environment. `forFunction`, a deployed function's name, narrows it
 * to that function's own: secrets its needs (triggers/manifest.ts) do not name are neither read
 * nor validated, and the venue keys are required only of the functions that trade. Without it
 * (the local stack, which runs every function in one process) everything is read.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, forFunction?: string): Config {
  const spec = forFunction === undefined ? undefined : FUNCTIONS.find((f) => f.name === forFunction);
  if (forFunction !== undefined && !spec) throw new ConfigError([`no function named ${forFunction} in triggers/manifest.ts`]);
  const own = new Set<string>(spec ? spec.needs.secrets : SECRETS);
  const present: Record<string, unknown> = Object.fromEntries(
    Object.keys(EnvSchema.shape).flatMap((key) =>
      env[key] === undefined || env[key] === '' || (isSecret(key) && !own.has(key)) ? [] : [[key, env[key]]],
    ),
  );
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? '(environment)');
      // Never echo a value: some variables are secrets.
      return `${variable}: ${variable in present ? issue.message : 'is required'}`;
    });
    throw new ConfigError([...new Set(problems)]);
  }
  // Only functions that hold the venue keys are held to them.
  const venue = own.has('EXCHANGE_API_KEY') ? venueKeyProblems(parsed.data) : [];
  if (venue.length > 0) throw new ConfigError(venue);
  return { ...parsed.data, topics: TOPICS };
}

const isSecret = (key: string): key is SecretName => (SECRETS as readonly string[]).includes(key);
