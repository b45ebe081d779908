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
  /** Deliver one message at a time per ordering key (the agentId on `signals`). */
  readonly messageOrdering: boolean;
  readonly ackDeadlineSeconds: number;
  readonly retry: { readonly minimumBackoffSeconds: number; readonly maximumBackoffSeconds: number };
  readonly deadLetter: { readonly topic: TopicName; readonly maxDeliveryAttempts: number };
}

/** Cloud Scheduler calls the function over HTTP (OIDC-authenticated) on a cron schedule. */
export interface ScheduleTrigger {
  readonly kind: 'schedule';
  /** Cron, in UTC. */
  readonly schedule: string;
  readonly attemptDeadlineSeconds: number;
}

export interface FunctionSpec {
  /** Folder under functions/ and the deployed function's name. */
  readonly name: string;
  /** The name the function registers with functions-framework. */
  readonly entryPoint: string;
  readonly trigger: HttpTrigger | PushTrigger | ScheduleTrigger;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  readonly maxInstances: number;
}

export const FUNCTIONS: readonly FunctionSpec[] = [
  {
    name: 'signal-intake',
    entryPoint: 'signalIntake',
    trigger: { kind: 'http', routes: ['POST /signals', 'POST /tradingview'] },
    memoryMb: 256,
    timeoutSeconds: 10,
    maxInstances: 20,
  },
  {
    name: 'margin-reservation',
    entryPoint: 'marginReservation',
    trigger: {
      kind: 'pubsub-push',
      topic: TOPICS.signals,
      subscription: 'margin-reservation',
      messageOrdering: true,
      ackDeadlineSeconds: 30,
      retry: { minimumBackoffSeconds: 1, maximumBackoffSeconds: 60 },
      deadLetter: { topic: TOPICS.signalsDeadLetter, maxDeliveryAttempts: 10 },
    },
    memoryMb: 512,
    timeoutSeconds: 30,
    maxInstances: 10,
  },
  {
    name: 'order-router',
    entryPoint: 'orderRouter',
    trigger: {
      kind: 'pubsub-push',
      topic: TOPICS.orders,
      subscription: 'order-router',
      messageOrdering: true,
      ackDeadlineSeconds: 60,
      retry: { minimumBackoffSeconds: 2, maximumBackoffSeconds: 120 },
      deadLetter: { topic: TOPICS.ordersDeadLetter, maxDeliveryAttempts: 10 },
    },
    memoryMb: 512,
    timeoutSeconds: 60,
    maxInstances: 10,
  },
  {
    name: 'broker-webhook',
    entryPoint: 'brokerWebhook',
    trigger: {
      kind: 'http',
      routes: ['POST /brokers/{broker}/order-updates', 'POST /brokers/{broker}/binance', 'POST /brokers/{broker}/aster'],
    },
    memoryMb: 256,
    timeoutSeconds: 30,
    maxInstances: 20,
  },
  {
    name: 'reconciler',
    entryPoint: 'reconciler',
    trigger: { kind: 'schedule', schedule: '* * * * *', attemptDeadlineSeconds: 120 },
    memoryMb: 512,
    timeoutSeconds: 120,
    maxInstances: 1,
  },
];

/** Pull subscriptions that keep messages nobody consumes yet, so none are lost. */
export const HOLDING_SUBSCRIPTIONS: readonly { readonly topic: TopicName; readonly subscription: string }[] = [
  { topic: TOPICS.signalsDeadLetter, subscription: 'signals-dead-letter-hold' },
  { topic: TOPICS.ordersDeadLetter, subscription: 'orders-dead-letter-hold' },
  { topic: TOPICS.orderUpdates, subscription: 'order-updates-hold' },
  { topic: TOPICS.riskEvents, subscription: 'risk-events-hold' },
];

export function functionSpec(name: string): FunctionSpec {
  const spec = FUNCTIONS.find((f) => f.name === name);
  if (!spec) throw new Error(`no function named ${name} in triggers/manifest.ts`);
  return spec;
}

/** One line saying how a function is triggered, for banners and docs. */
export function describeTrigger(spec: FunctionSpec): string {
  switch (spec.trigger.kind) {
    case 'http':
      return spec.trigger.routes.join(', ');
    case 'pubsub-push':
      return `push from topic ${spec.trigger.topic}`;
    case 'schedule':
      return `Cloud Scheduler, cron "${spec.trigger.schedule}"`;
  }
}
