/**
 * The single source of truth for how each function is triggered. Local dev, the build and
 * Terraform all read this file; nothing else names a topic.
 */

export const TOPICS = {
  signals: 'signals',
  signalsDeadLetter: 'signals-dead-letter',
  orders: 'orders',
  ordersDeadLetter: 'orders-dead-letter',
  orderUpdates: 'order-updates',
  riskEvents: 'risk-events',
  alerts: 'alerts',
  monitoringIncidents: 'monitoring-incidents',
  monitoringIncidentsDeadLetter: 'monitoring-incidents-dead-letter',
  alertsDeadLetter: 'alerts-dead-letter',
  orderUpdatesDeadLetter: 'order-updates-dead-letter',
} as const;
export type TopicKey = keyof typeof TOPICS;
export type TopicName = (typeof TOPICS)[TopicKey];

export interface HttpTrigger {
  readonly kind: 'http';
  /** Routes the function answers, for docs and the local stack's banner. */
  readonly routes: readonly string[];
}

export interface PushTrigger {
  readonly kind: 'pubsub-push';
  readonly topic: TopicName;
  readonly subscription: string;
  readonly ackDeadlineSeconds: number;
  /** Path on the function the push goes to, when not `/`. */
  readonly pushPath?: string;
  readonly retry: { readonly minimumBackoffSeconds: number; readonly maximumBackoffSeconds: number };
  readonly deadLetter: { readonly topic: TopicName; readonly maxDeliveryAttempts: number };
}

/** Cloud Scheduler calls the function over HTTP (OIDC-authenticated) on a cron schedule. */
export interface ScheduleTrigger {
  readonly kind: 'schedule';
  /** Cron, in UTC. */
  readonly schedule: string;
  readonly attemptDeadlineSeconds: number;
  /** Names the job when a function has several schedules. */
  readonly name?: string;
  /** The JSON body of each call. */
  readonly body?: Readonly<Record<string, unknown>>;
  /**
   * One job per agent, body `{"agentId": …}`: the i-th agent's job runs `staggerMinutes`·i after
   * `schedule` (which must start with a fixed minute and hour), so agents do not train at once.
   */
  readonly perAgent?: { readonly staggerMinutes: number };
}

/** The cron of the `index`-th agent's job of a per-agent schedule ("0 3 * * 1", 1, 20 → "20 3 * * 1"). */
export function staggeredCron(schedule: string, index: number, staggerMinutes: number): string {
  const [minute, hour, ...rest] = schedule.split(' ');
  const start = Number(minute) + Number(hour) * 60 + index * staggerMinutes;
  return [start % 60, Math.floor(start / 60) % 24, ...rest].join(' ');
}

export type Trigger = HttpTrigger | PushTrigger | ScheduleTrigger;

/**
 * Minutes between runs of a schedule that repeats every few minutes (`* * * * *`, `*\/N * * * *`);
 * undefined for any other (a weekly job, say), which a local timer does not imitate.
 */
export function repeatMinutes(schedule: string): number | undefined {
  const match = /^(\*|\*\/(\d+)) \* \* \* \*$/.exec(schedule.trim());
  if (!match) return undefined;
  return match[2] === undefined ? 1 : Number(match[2]);
}

/** The Secret Manager secrets, by the environment variable each is mounted as. */
export const SECRETS = [
  'SIGNAL_INTAKE_TOKENS',
  'TRADINGVIEW_SOURCE_SECRETS',
  'BROKER_WEBHOOK_SECRETS',
  'OPS_API_TOKENS',
  'ALERT_DESTINATIONS',
  'MONITORING_WEBHOOK_TOKEN',
  'EXCHANGE_API_KEY',
  'EXCHANGE_API_SECRET',
  'EXCHANGE_ACCOUNTS',
] as const;
export type SecretName = (typeof SECRETS)[number];
/** Without these nobody could send a signal or operate the system: a deploy refuses to go without them. */
export const REQUIRED_SECRETS: readonly SecretName[] = ['SIGNAL_INTAKE_TOKENS', 'OPS_API_TOKENS'];

/**
 * What a function may touch, and nothing more: Terraform gives each function a service account
 * holding exactly these (terraform/iam.tf), and a test holds it to that.
 */
export interface FunctionNeeds {
  /** Reads and writes Firestore (roles/datastore.user). */
  readonly firestore: boolean;
  /** Topics it publishes to (roles/pubsub.publisher on each). */
  readonly publishes: readonly TopicName[];
  /** Secrets mounted into its environment (roles/secretmanager.secretAccessor on each). */
  readonly secrets: readonly SecretName[];
  /** Calls Vertex AI: endpoint predictions, training jobs, models (roles/aiplatform.user). */
  readonly vertexAi: boolean;
  /** Uses the training bucket and starts jobs as the trainer account. */
  readonly training: boolean;
  /** Writes custom metrics to Cloud Monitoring (roles/monitoring.metricWriter). */
  readonly metrics: boolean;
}

/** The project-level roles needs give (topics, secrets and the training bucket are granted on the resource itself). */
export function projectRolesFor(needs: FunctionNeeds): string[] {
  return [
    'roles/logging.logWriter',
    ...(needs.firestore ? ['roles/datastore.user'] : []),
    ...(needs.vertexAi ? ['roles/aiplatform.user'] : []),
    ...(needs.metrics ? ['roles/monitoring.metricWriter'] : []),
  ];
}

const NONE: FunctionNeeds = { firestore: false, publishes: [], secrets: [], vertexAi: false, training: false, metrics: false };
/** Functions that trade: the venue keys of the agents' accounts, and what applying venue facts publishes. */
const TRADING: FunctionNeeds = {
  ...NONE,
  firestore: true,
  publishes: [TOPICS.orderUpdates, TOPICS.riskEvents, TOPICS.alerts],
  secrets: ['EXCHANGE_API_KEY', 'EXCHANGE_API_SECRET', 'EXCHANGE_ACCOUNTS'],
};

export interface FunctionSpec {
  /** Folder under functions/ and the deployed function's name. */
  readonly name: string;
  /** The name the function registers with functions-framework. */
  readonly entryPoint: string;
  /** Usually one; a function may also be pushed to and scheduled (drawdown-evaluator). */
  readonly triggers: readonly Trigger[];
  readonly memoryMb: number;
  /** vCPUs per instance; more than one request at a time needs at least 1. */
  readonly cpu: number;
  /**
   * Requests one instance serves at once. High where group commit coalesces per agent: the more
   * of an agent's messages share an instance, the fewer transactions fight over its ledger.
   */
  readonly concurrency: number;
  /** Warm instances kept on the hot path, so a signal never waits for a cold start. */
  readonly minInstances: number;
  readonly timeoutSeconds: number;
  readonly maxInstances: number;
  readonly needs: FunctionNeeds;
}

export const FUNCTIONS: readonly FunctionSpec[] = [
  {
    name: 'signal-intake',
    entryPoint: 'signalIntake',
    triggers: [{ kind: 'http', routes: ['POST /signals', 'POST /tradingview'] }],
    memoryMb: 256,
    cpu: 1,
    concurrency: 80,
    minInstances: 1,
    timeoutSeconds: 10,
    maxInstances: 20,
    needs: { ...NONE, publishes: [TOPICS.signals], secrets: ['SIGNAL_INTAKE_TOKENS', 'TRADINGVIEW_SOURCE_SECRETS'] },
  },
  {
    name: 'agent-inference',
    entryPoint: 'agentInference',
    triggers: [{ kind: 'schedule', schedule: '*/5 * * * *', attemptDeadlineSeconds: 120 }],
    memoryMb: 512,
    cpu: 1,
    concurrency: 4,
    minInstances: 0,
    timeoutSeconds: 120,
    maxInstances: 4,
    needs: { ...NONE, firestore: true, publishes: [TOPICS.signals], vertexAi: true },
  },
  {
    name: 'margin-reservation',
    entryPoint: 'marginReservation',
    triggers: [{
      kind: 'pubsub-push',
      topic: TOPICS.signals,
      subscription: 'margin-reservation',
      ackDeadlineSeconds: 30,
      retry: { minimumBackoffSeconds: 1, maximumBackoffSeconds: 60 },
      deadLetter: { topic: TOPICS.signalsDeadLetter, maxDeliveryAttempts: 10 },
    }],
    memoryMb: 512,
    cpu: 1,
    concurrency: 250,
    minInstances: 1,
    timeoutSeconds: 30,
    maxInstances: 10,
    needs: { ...NONE, firestore: true, publishes: [TOPICS.orders, TOPICS.riskEvents] },
  },
  {
    name: 'order-router',
    entryPoint: 'orderRouter',
    triggers: [{
      kind: 'pubsub-push',
      topic: TOPICS.orders,
      subscription: 'order-router',
      ackDeadlineSeconds: 60,
      retry: { minimumBackoffSeconds: 2, maximumBackoffSeconds: 120 },
      deadLetter: { topic: TOPICS.ordersDeadLetter, maxDeliveryAttempts: 10 },
    }],
    memoryMb: 512,
    cpu: 1,
    concurrency: 250,
    minInstances: 1,
    timeoutSeconds: 60,
    maxInstances: 10,
    needs: TRADING,
  },
  {
    name: 'broker-webhook',
    entryPoint: 'brokerWebhook',
    triggers: [{
      kind: 'http',
      routes: ['POST /brokers/{broker}/order-updates', 'POST /brokers/{broker}/binance', 'POST /brokers/{broker}/aster'],
    }],
    memoryMb: 256,
    cpu: 1,
    concurrency: 250,
    minInstances: 1,
    timeoutSeconds: 30,
    maxInstances: 20,
    needs: { ...TRADING, secrets: [...TRADING.secrets, 'BROKER_WEBHOOK_SECRETS'] },
  },
  {
    name: 'drawdown-evaluator',
    entryPoint: 'drawdownEvaluator',
    triggers: [
      { kind: 'schedule', schedule: '* * * * *', attemptDeadlineSeconds: 60 },
      {
        kind: 'pubsub-push',
        topic: TOPICS.orderUpdates,
        subscription: 'drawdown-evaluator',
        ackDeadlineSeconds: 60,
        retry: { minimumBackoffSeconds: 5, maximumBackoffSeconds: 300 },
        deadLetter: { topic: TOPICS.orderUpdatesDeadLetter, maxDeliveryAttempts: 5 },
      },
    ],
    memoryMb: 512,
    cpu: 1,
    concurrency: 80,
    minInstances: 0,
    timeoutSeconds: 60,
    maxInstances: 3,
    needs: { ...TRADING, metrics: true },
  },
  {
    name: 'alert-publisher',
    entryPoint: 'alertPublisher',
    triggers: [
      {
        kind: 'pubsub-push',
        topic: TOPICS.alerts,
        subscription: 'alert-publisher',
        ackDeadlineSeconds: 60,
        retry: { minimumBackoffSeconds: 5, maximumBackoffSeconds: 600 },
        deadLetter: { topic: TOPICS.alertsDeadLetter, maxDeliveryAttempts: 20 },
      },
    ],
    memoryMb: 256,
    cpu: 1,
    concurrency: 40,
    minInstances: 0,
    timeoutSeconds: 60,
    maxInstances: 5,
    needs: { ...NONE, firestore: true, secrets: ['ALERT_DESTINATIONS'] },
  },
  {
    name: 'monitoring-incidents',
    entryPoint: 'monitoringIncidents',
    triggers: [
      { kind: 'http', routes: ['POST /webhook?token={token}', 'POST /pubsub'] },
      {
        kind: 'pubsub-push',
        topic: TOPICS.monitoringIncidents,
        subscription: 'monitoring-incidents',
        pushPath: '/pubsub',
        ackDeadlineSeconds: 30,
        retry: { minimumBackoffSeconds: 5, maximumBackoffSeconds: 300 },
        deadLetter: { topic: TOPICS.monitoringIncidentsDeadLetter, maxDeliveryAttempts: 10 },
      },
    ],
    memoryMb: 256,
    cpu: 1,
    concurrency: 20,
    minInstances: 0,
    timeoutSeconds: 30,
    maxInstances: 3,
    needs: { ...NONE, firestore: true, publishes: [TOPICS.alerts], secrets: ['MONITORING_WEBHOOK_TOKEN'] },
  },
  {
    name: 'ops-api',
    entryPoint: 'opsApi',
    triggers: [{ kind: 'http', routes: ['GET /healthz', 'GET /metrics', 'GET /dashboard', 'POST /agents/{id}/halt', 'POST /agents/{id}/resume', 'POST /portfolio/halt', 'POST /portfolio/resume', 'POST /portfolio/reset-peak', 'POST /agents/{id}/training', 'POST /agents/{id}/training/promote', 'POST /agents/{id}/training/rollback', 'GET /training/runs', 'POST /agents/{id}/flatten', 'POST /portfolio/flatten', 'GET /flattens/{id}', 'POST /agents/{id}/positions/{symbol}/adopt', 'GET /agents', 'GET /agents/{id}', 'PATCH /agents/{id}', 'PUT /agents/{id}', 'GET /signals/{signalId}'] }],
    memoryMb: 256,
    cpu: 1,
    concurrency: 20,
    minInstances: 0,
    timeoutSeconds: 30,
    maxInstances: 3,
    needs: { ...TRADING, secrets: [...TRADING.secrets, 'OPS_API_TOKENS'], vertexAi: true, training: true },
  },
  {
    name: 'training-kickoff',
    entryPoint: 'trainingKickoff',
    triggers: [
      { kind: 'schedule', name: 'check', schedule: '*/10 * * * *', attemptDeadlineSeconds: 600, body: { action: 'check' } },
      { kind: 'schedule', name: 'train', schedule: '0 3 * * 1', attemptDeadlineSeconds: 1_200, perAgent: { staggerMinutes: 20 } },
    ],
    // A month of candles and decisions per dataset is built in memory.
    memoryMb: 1_024,
    cpu: 1,
    concurrency: 1,
    minInstances: 0,
    timeoutSeconds: 1_200,
    maxInstances: 2,
    needs: { ...NONE, firestore: true, publishes: [TOPICS.alerts], vertexAi: true, training: true },
  },
  {
    name: 'reconciler',
    entryPoint: 'reconciler',
    triggers: [{ kind: 'schedule', schedule: '* * * * *', attemptDeadlineSeconds: 120 }],
    memoryMb: 512,
    cpu: 1,
    concurrency: 1,
    minInstances: 0,
    timeoutSeconds: 120,
    maxInstances: 1,
    needs: TRADING,
  },
];

/** Pull subscriptions that keep messages nobody consumes yet, so none are lost. */
export const HOLDING_SUBSCRIPTIONS: readonly { readonly topic: TopicName; readonly subscription: string }[] = [
  { topic: TOPICS.signalsDeadLetter, subscription: 'signals-dead-letter-hold' },
  { topic: TOPICS.ordersDeadLetter, subscription: 'orders-dead-letter-hold' },
  { topic: TOPICS.orderUpdatesDeadLetter, subscription: 'order-updates-dead-letter-hold' },
  { topic: TOPICS.alertsDeadLetter, subscription: 'alerts-dead-letter-hold' },
  { topic: TOPICS.monitoringIncidentsDeadLetter, subscription: 'monitoring-incidents-dead-letter-hold' },
  { topic: TOPICS.riskEvents, subscription: 'risk-events-hold' },
];

/** One line saying how a function is triggered, for banners and docs. */
export function describeTrigger(spec: FunctionSpec): string {
  return spec.triggers
    .map((trigger) => {
      switch (trigger.kind) {
        case 'http':
          return trigger.routes.join(', ');
        case 'pubsub-push':
          return `push from topic ${trigger.topic}`;
        case 'schedule':
          return `Cloud Scheduler, cron "${trigger.schedule}"${trigger.perAgent ? ` per agent, ${trigger.perAgent.staggerMinutes} min apart` : ''}${trigger.name ? ` (${trigger.name})` : ''}`;
      }
    })
    .join('; ');
}

export function pushTriggers(spec: FunctionSpec): PushTrigger[] {
  return spec.triggers.filter((t): t is PushTrigger => t.kind === 'pubsub-push');
}
