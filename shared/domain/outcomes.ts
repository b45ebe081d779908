import type { ReservationRecord } from './margin.js';
import type { OrderRequest, RiskEvent } from './messages.js';

/** What a recorded reservation outcome tells the rest of the system. */
export type OutcomeMessage =
  | { readonly topic: 'orders'; readonly message: OrderRequest }
  | { readonly topic: 'riskEvents'; readonly message: RiskEvent }
  | { readonly topic: 'none' };

/** Built from the stored outcome alone: a redelivery of the signal never changes what its order is. */
export function outcomeMessage(record: ReservationRecord): OutcomeMessage {
  switch (record.status) {
    case 'reserved':
      return {
        topic: 'orders',
        message: {
          orderId: record.orderId as string,
          signalId: record.signalId,
          agentId: record.agentId,
          symbol: record.symbol,
          side: record.side,
          type: 'MARKET',
          size: record.size,
          leverage: record.leverage,
          reduceOnly: record.reduceOnly,
          notionalMicros: record.notionalMicros,
          marginMicros: record.marginMicros,
          createdAt: record.decidedAt,
          expiresAt: record.expiresAt,
        },
      };
    case 'rejected':
      return {
        topic: 'riskEvents',
        message: {
          type: 'signal_rejected',
          eventId: `rejected:${record.signalId}`.slice(0, 128),
          signalId: record.signalId,
          agentId: record.agentId,
          symbol: record.symbol,
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
