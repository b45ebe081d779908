/** Firestore collection names, in one place. */
export const COLLECTIONS = {
  /** agents/{agentId}: the agent's profile (AgentProfile). */
  agents: 'agents',
  /** marginLedgers/{agentId}: reserved and in-use margin, held symbols, breach counters. */
  marginLedgers: 'marginLedgers',
  /** tradingStates/{agentId | PORTFOLIO_SCOPE}: active or halted. */
  tradingStates: 'tradingStates',
  /** reservations/{signalId}: the one outcome of each signal. */
  reservations: 'reservations',
  /** riskCounters/{name}: breach counters that belong to no agent (unknown agents). */
  riskCounters: 'riskCounters',
  /** orders/{orderId}: Sapphire's record of each order (OrderRecord). */
  orders: 'orders',
  /** positions/{agentId}__{symbol}: an agent's position in a symbol (PositionState). */
  positions: 'positions',
  /** fills/{orderId}:{tradeId}: every applied fill, the facts positions are folded from. */
  fills: 'fills',
  /** brokerEvents/{broker}:{eventId}: webhook events already applied; a replay is refused. */
  brokerEvents: 'brokerEvents',
  /** paperOrders/{clientOrderId}, paperFills/{tradeId}, paperAccount/{accountId}:{symbol}: the paper venue. */
  paperOrders: 'paperOrders',
  paperFills: 'paperFills',
  paperAccount: 'paperAccount',
  /** paperStops/{accountId, clientAlgoId}: stops resting on the paper venue (protective-stop.ts). */
  paperStops: 'paperStops',
  /** riskState/memory: peaks and day starts per scope; riskSnapshots/{evaluatedAt}: each evaluation. */
  riskState: 'riskState',
  riskSnapshots: 'riskSnapshots',
  /** alertEpisodes/{episodeId}; alertOutbox/{episodeId}:{transition}: transitions to publish. */
  alertEpisodes: 'alertEpisodes',
  alertOutbox: 'alertOutbox',
  /** alertDeliveries/{episodeId}:{transition}:{destination}: one notification each. */
  alertDeliveries: 'alertDeliveries',
  /** tradingStateChanges/{auto}: every halt and resume, who and why. */
  tradingStateChanges: 'tradingStateChanges',
  /** incidents/{incidentId}:{state}: Cloud Monitoring incidents received. */
  incidents: 'incidents',
  /** agentDecisions/{agentId}:{minute}: each inference tick's decision, reason, latency, source. */
  agentDecisions: 'agentDecisions',
  /** deadLetters/{source}:{messageId}: messages that could not be understood. */
  deadLetters: 'deadLetters',
  /** venueIncome/{accountId}:{tranId}: funding booked to an agent's ledger, once per venue transaction. */
  venueIncome: 'venueIncome',
  /** incomeCursors/{accountId}: how far each account's income history has been read. */
  incomeCursors: 'incomeCursors',
  /**
   * accountSymbolLocks/{accountId, symbol}: which delivery decides and places an order on a venue
   * account in a symbol now (its leverage, and on the shared account its netting), until when.
   */
  accountSymbolLocks: 'accountSymbolLocks',
  /** agentProfileChanges/{auto}: every change of a profile, who, when, why, before and after. */
  agentProfileChanges: 'agentProfileChanges',
  /** flattens/{flattenId}: a flatten command, its plan and who asked why. */
  flattens: 'flattens',
  /** trainingRuns/{runId}: one fine-tuning run per agent and data window (TrainingRun). */
  trainingRuns: 'trainingRuns',
  /** modelDeployments/{agentId}: the model serving on the agent's endpoint and the ones before it. */
  modelDeployments: 'modelDeployments',
  /** modelDeploymentChanges/{auto}: every promotion and rollback, who and why. */
  modelDeploymentChanges: 'modelDeploymentChanges',
} as const;
