import type { ReservationRecord } from './margin.js';
import type { OrderRequest, RiskEvent, TradeSignal } from './messages.js';

/** What a recorded reservation outcome tells the rest of the system. */
export type OutcomeMessage =
  | { readonly topic: 'orders'; readonly message: OrderRequest }
  | { readonly topic: 'riskEvents'; readonly message: RiskEvent }
  | { readonly topic: 'none' };

export function outcomeMessage(signal: TradeSignal, record: ReservationRecord): OutcomeMessage {
  switch (record.status) {
    case 'reserved':
      return {
        topic: 'orders',
        message: {
          orderId: record.orderId as string,
          signalId: signal.signalId,
          agentId: signal.agentId,
          symbol: signal.symbol,
          side: signal.side,
          type: 'MARKET',
          size: signal.size,
          leverage: signal.leverage,
          reduceOnly: signal.reduceOnly,
          notionalMicros: record.notionalMicros,
          marginMicros: record.marginMicros,
          createdAt: record.decidedAt,
        },
      };
    case 'rejected':
      return {
        topic: 'riskEvents',
        message: {
          type: 'signal_rejected',
          eventId: `rejected:${signal.signalId}`.slice(0, 128),
          signalId: signal.signalId,
          agentId: signal.agentId,
          symbol: signal.symbol,
          reason: record.reason ?? 'unknown_agent',
          detail: record.detail ?? '',
          occurredAt: record.decidedAt,
        },
      };
    case 'released':
    case 'ordered':
      // Released before its order went out, or already handed to its order: nothing to send.
      return { topic: 'none' };
  }
}
