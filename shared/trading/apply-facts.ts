import type { OrderUpdateApplied } from '../domain/messages.js';
import type { OrderRecord, VenueFacts } from '../domain/orders.js';
import { atomsToQuantity } from '../domain/quantity.js';
import type { ApplyResult } from '../firestore/trade-ledger.js';
import { log } from '../log.js';
import { type TradingDeps, now } from './deps.js';

/**
 * Applies venue facts to the ledgers and tells `order-updates` about each one that changed
 * something. A duplicate changes nothing and publishes nothing.
 */
export async function applyAndPublish(deps: TradingDeps, facts: VenueFacts, eventKey?: string, known?: OrderRecord): Promise<ApplyResult> {
  const result = await deps.trades.applyVenueFacts(facts, eventKey, known);
  if (result.outcome === 'refused') {
    // Never booked; an error, which the guardrail policies alert on.
    log.error('venue fact refused', { orderId: facts.orderId, tradeId: facts.fill?.tradeId, refusal: result.refusal });
  }
  if (result.lateExecution && result.order) {
    log.error('late execution adopted', { orderId: result.order.orderId, agentId: result.order.agentId, symbol: result.order.symbol, tradeId: facts.fill?.tradeId });
  }
  if (result.outcome === 'applied' && result.order && result.position) {
    const { order, position } = result;
    const message: OrderUpdateApplied = {
      orderId: order.orderId,
      agentId: order.agentId,
      symbol: order.symbol,
      status: order.status,
      filledQuantity: atomsToQuantity(order.filledAtoms),
      ...(facts.fill ? { tradeId: facts.fill.tradeId } : {}),
      positionQuantity: `${position.quantityAtoms < 0 ? '-' : ''}${atomsToQuantity(Math.abs(position.quantityAtoms))}`,
      occurredAt: now(deps).toISOString(),
    };
    await deps.publisher.publish(deps.topics.orderUpdates, message, { attributes: { orderId: order.orderId, agentId: order.agentId } });
    if (facts.fill) {
      const { tradeId, quantityAtoms, priceMicros, feeMicros } = facts.fill;
      const { fillLatencyMs } = result;
      log.info('fill applied', { orderId: order.orderId, signalId: order.signalId, agentId: order.agentId, symbol: order.symbol, tradeId, quantity: atomsToQuantity(quantityAtoms), priceMicros, feeMicros, status: order.status, fillLatencyMs });
    } else if (facts.terminal) {
      log.info('order ended', { orderId: order.orderId, signalId: order.signalId, agentId: order.agentId, status: order.status, reason: facts.terminal.reason });
    }
  }
  return result;
}

/** Applies a venue's facts about one order (`known`: its record) in order: its id, its fills, its end. */
export async function applyAllAndPublish(deps: TradingDeps, facts: readonly VenueFacts[], known: OrderRecord): Promise<number> {
  let applied = 0;
  for (const fact of facts) {
    if ((await applyAndPublish(deps, fact, undefined, known)).outcome === 'applied') applied += 1;
  }
  return applied;
}
