import { join } from 'node:path';
import type { Exchange } from '../../shared/domain/exchange.js';
import { type MarketStandIn, startMarketStandIn } from '../../scripts/lib/market-standin.js';

/** The real BTCUSDT one-minute candles beside the repository (../shared/data/market/). */
export const MARKET_CSV = join(process.cwd(), '..', 'shared', 'data', 'market', 'BTCUSDT-1m-20230301-20230321.csv');

/** The stand-in venue replaying BTCUSDT, its clock stopped at `startIso` (tests move it). */
export function startReplayAt(startIso: string, credentials: { apiKey: string; apiSecret: string; moreAccounts?: Record<string, string> } = { apiKey: 'unused', apiSecret: 'unused' }): Promise<MarketStandIn> {
  return startMarketStandIn({ csvFiles: { BTCUSDT: MARKET_CSV }, ...credentials, start: Date.parse(startIso), speed: 0 });
}

/**
 * Places a market BUY of 0.01 BTCUSDT that the stand-in holds open instead of filling, as a venue
 * without liquidity would; the test then fills or cancels it with `venue.fill` and `venue.cancel`.
 */
export async function placeHeldOrder(venue: MarketStandIn, exchange: Exchange, clientOrderId: string): Promise<void> {
  venue.holdOrders(true);
  try {
    await exchange.placeOrder({ clientOrderId, symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quantity: '0.01', reduceOnly: false, leverage: 5 });
  } finally {
    venue.holdOrders(false);
  }
}
