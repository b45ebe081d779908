import { createHash } from 'node:crypto';
import { log } from '../log.js';
import { changeTradingState, tradingStateOf } from '../firestore/trading-states.js';
import { applyAndPublish } from './apply-facts.js';
import { type TradingDeps, now } from './deps.js';

/**
 * An operator's answer to a position mismatch: make Sapphire's position in `symbol` what the
 * agent's own venue account holds (a trade made by hand, an update lost), booked as a fill of
 * an order the venue made, at the market's mark price (no reservation stands behind it, so it
 * holds no margin in the ledger: the venue holds it). The agent trades again if the mismatch
 * was what held it.
 */

/** One adoption per position state and difference: a retried command adopts once. */
const adoptionId = (agentId: string, symbol: string, lastFillKey: string, difference: number) =>
  `adopt-${createHash('sha256').update(`${agentId}|${symbol}|${lastFillKey}|${difference}`).digest('hex').slice(0, 28)}`;

export type AdoptResult =
  | { readonly outcome: 'adopted'; readonly orderId: string; readonly quantityAtoms: number; readonly priceMicros: number }
  | { readonly outcome: 'nothing_to_adopt' }
  | { readonly outcome: 'shared_account' };

export async function adoptVenuePosition(deps: TradingDeps, agentId: string, symbol: string, audit: { readonly by: string; readonly reason: string }): Promise<AdoptResult> {
  const account = deps.accounts.accountFor(agentId);
  if (account.shared) return { outcome: 'shared_account' };
  const [venue, ours, mark] = await Promise.all([account.exchange.positions(), deps.trades.position(agentId, symbol), account.exchange.markPrice(symbol)]);
  const difference = (venue.find((p) => p.symbol === symbol)?.quantityAtoms ?? 0) - ours.quantityAtoms;
  if (difference !== 0) {
    const orderId = adoptionId(agentId, symbol, ours.lastFillKey, difference);
    const quantityAtoms = Math.abs(difference);
    const { order } = await deps.trades.adoptVenueOrder({ orderId, agentId, symbol, side: difference > 0 ? 'BUY' : 'SELL', quantityAtoms, venue: deps.accounts.venue });
    await applyAndPublish(
      deps,
      {
        orderId,
        exchangeOrderId: orderId,
        fill: { tradeId: orderId, quantityAtoms, priceMicros: mark.priceMicros, feeMicros: 0, time: mark.time },
        terminal: { status: 'filled', finalFilledAtoms: quantityAtoms },
      },
      undefined,
      order,
    );
    log.warn('venue position adopted', { agentId, symbol, quantityAtoms: difference, priceMicros: mark.priceMicros, by: audit.by, reason: audit.reason });
  }
  const state = await tradingStateOf(deps.trades.db, agentId);
  if (state?.state === 'reducing' && state.changedBy === 'reconciler') {
    await changeTradingState(deps.trades.db, { scope: agentId, state: 'active', reason: `position adopted: ${audit.reason}`, changedBy: audit.by, at: now(deps) });
  }
  return difference === 0 ? { outcome: 'nothing_to_adopt' } : { outcome: 'adopted', orderId: adoptionId(agentId, symbol, ours.lastFillKey, difference), quantityAtoms: difference, priceMicros: mark.priceMicros };
}
