import type { Config } from '../config.js';
import { outcomeMessage } from '../domain/outcomes.js';
import { type TradeSignal, signalTermsDigest } from '../domain/messages.js';
import type { MarginLedger, ReserveOutcome } from '../firestore/margin-ledger.js';
import type { MarketData } from '../domain/exchange.js';
import type { MessagePublisher } from '../pubsub/publisher.js';
import { RetryLater } from '../pubsub/push-handler.js';
import { log } from '../log.js';

export interface ReservationDeps {
  readonly ledger: MarginLedger;
  /** Where a quantity-sized signal's mark price comes from: the venue's, or a replay's. */
  readonly market: Pick<MarketData, 'markPrice'>;
  readonly publisher: MessagePublisher;
  readonly topics: Config['topics'];
  /**
   * How long an unpublished outcome belongs to the delivery that decided it. A redelivery that
   * finds one younger than this is deferred; older, the first delivery died after its commit
   * and the redelivery publishes in its place.
   */
  readonly redriveAfterMs: number;
  readonly clock?: () => Date;
}

/**
 * The mark a quantity-sized signal that takes margin is valued at: a sender's price is never
 * trusted for margin. Without one the decision waits (redelivered), rather than guess.
 */
async function markForSizing(deps: ReservationDeps, signal: TradeSignal): Promise<number | undefined> {
  if (signal.size.type !== 'quantity' || signal.reduceOnly) return undefined;
  try {
    return (await deps.market.markPrice(signal.symbol)).priceMicros;
  } catch (error) {
    throw new RetryLater(`no mark price for ${signal.symbol} to value ${signal.signalId} at: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Decides a signal (reserve or reject, once per signalId) and publishes what follows from it:
 * an OrderRequest to `orders` or a RiskEvent to `risk-events`, each exactly once in normal
 * operation and at least once if an instance dies between commit and publish.
 */
export async function reserveAndPublish(deps: ReservationDeps, signal: TradeSignal): Promise<ReserveOutcome & { readonly conflict?: true }> {
  const outcome = await deps.ledger.reserveMargin(signal, await markForSizing(deps, signal));
  const { record } = outcome;
  const received = signalTermsDigest(signal);
  if (!outcome.decidedNow && record.termsDigest !== received) {
    // The id was decided on other terms: this delivery is refused and changes nothing.
    log.warn('signal conflict', { signalId: signal.signalId, agentId: signal.agentId, reason: 'signal_conflict', decidedDigest: record.termsDigest, receivedDigest: received, source: signal.source });
    return { ...outcome, conflict: true };
  }
  if (record.publishedAt) return outcome;
  const now = (deps.clock ?? (() => new Date()))();
  if (!outcome.decidedNow && now.getTime() - Date.parse(record.decidedAt) < deps.redriveAfterMs) {
    throw new RetryLater(`outcome of ${signal.signalId} is being published by the delivery that decided it`);
  }
  const next = outcomeMessage(record);
  if (next.topic !== 'none') {
    await deps.publisher.publish(deps.topics[next.topic], next.message, {
      attributes: { signalId: signal.signalId, agentId: signal.agentId },
    });
  }
  await deps.ledger.markPublished(signal.signalId);
  return outcome;
}
