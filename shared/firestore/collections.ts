/** Firestore collection names, in one place. */
export const COLLECTIONS = {
  /** agents/{agentId}: the agent's profile (AgentProfile). */
  agents: 'agents',
  /** marginLedgers/{agentId}: reserved and in-use margin, held symbols, breach counters. */
  marginLedgers: 'marginLedgers',
  /** tradingStates/{agentId | 'portfolio'}: active or halted. */
  tradingStates: 'tradingStates',
  /** reservations/{signalId}: the one outcome of each signal. */
  reservations: 'reservations',
  /** riskCounters/{name}: breach counters that belong to no agent (unknown agents). */
  riskCounters: 'riskCounters',
  /** deadLetters/{source}:{messageId}: messages that could not be understood. */
  deadLetters: 'deadLetters',
} as const;

export const PORTFOLIO_SCOPE = 'portfolio';
