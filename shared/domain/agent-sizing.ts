import type { AgentDecision } from './agent-decision.js';
import type { AgentProfile } from './agents.js';
import type { TradeSignalInput } from './messages.js';
import { microsToUsd } from './money.js';
import type { Side } from './vocabulary.js';

export interface SizingInput {
  readonly decision: Extract<AgentDecision, { action: Side }>;
  readonly agent: AgentProfile;
  readonly freeMarginMicros: number;
  /** The minute the decision was made for (market time); the signal id is derived from it. */
  readonly decidedFor: Date;
  readonly now: Date;
  readonly minConfidence: number;
  readonly ttlSeconds: number;
}

export type SizedSignal = { readonly ok: true; readonly signal: TradeSignalInput } | { readonly ok: false; readonly reason: string };

/**
 * A decision becomes a signal sized from the agent's limits and free margin: margin =
 * free margin × size fraction, notional = margin × leverage, capped at the agent's maximum
 * position. Too little confidence or too small a position: no signal. One tick, one id, so a
 * scheduler firing twice reserves once.
 */
export function sizeSignal(input: SizingInput): SizedSignal {
  const { decision, agent } = input;
  if (decision.confidence < input.minConfidence) {
    return { ok: false, reason: `confidence ${decision.confidence.toFixed(2)} below the minimum ${input.minConfidence}` };
  }
  const leverage = Math.min(decision.leverage, agent.maxLeverage);
  const margin = Math.floor(input.freeMarginMicros * Math.min(1, decision.sizeFraction));
  const notional = Math.min(margin * leverage, agent.maxPositionNotionalMicros);
  if (notional < agent.minPositionNotionalMicros) {
    return { ok: false, reason: `position of ${microsToUsd(notional)} USD is below the agent's minimum ${microsToUsd(agent.minPositionNotionalMicros)} USD` };
  }
  const minute = new Date(Math.floor(input.decidedFor.getTime() / 60_000) * 60_000).toISOString();
  return {
    ok: true,
    signal: {
      signalId: `${agent.agentId}:${decision.symbol}:${minute}`,
      agentId: agent.agentId,
      symbol: decision.symbol,
      side: decision.action,
      size: { type: 'notional', notionalMicros: notional },
      leverage,
      confidence: decision.confidence,
      source: `agent:${agent.agentId}`,
      createdAt: input.now.toISOString(),
      expiresAt: new Date(input.now.getTime() + input.ttlSeconds * 1000).toISOString(),
    },
  };
}
