/**
 * The single source of truth for how each function is triggered. Local dev, the build and
 * Terraform all read this file; nothing else names a topic.
 */

export const TOPICS = {
  signals: 'signals',
  signalsDeadLetter: 'signals-dead-letter',
  orders: 'orders',
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

export interface FunctionSpec {
  /** Folder under functions/ and the deployed function's name. */
  readonly name: string;
  /** The name the function registers with functions-framework. */
  readonly entryPoint: string;
  readonly trigger: HttpTrigger | PushTrigger;
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
];

/** Pull subscriptions that keep messages nobody consumes yet, so none are lost. */
export const HOLDING_SUBSCRIPTIONS: readonly { readonly topic: TopicName; readonly subscription: string }[] = [
  { topic: TOPICS.signalsDeadLetter, subscription: 'signals-dead-letter-hold' },
  { topic: TOPICS.orders, subscription: 'orders-hold' },
  { topic: TOPICS.riskEvents, subscription: 'risk-events-hold' },
];

export function functionSpec(name: string): FunctionSpec {
  const spec = FUNCTIONS.find((f) => f.name === name);
  if (!spec) throw new Error(`no function named ${name} in triggers/manifest.ts`);
  return spec;
}
