import { join } from 'node:path';
import { type MarketStandIn, startMarketStandIn } from '../../scripts/lib/market-standin.js';

/** The real BTCUSDT one-minute candles beside the repository (../shared/data/market/). */
export const MARKET_CSV = join(process.cwd(), '..', 'shared', 'data', 'market', 'BTCUSDT-1m-20230301-20230321.csv');

/** The stand-in venue replaying BTCUSDT, its clock stopped at `startIso` (tests move it). */
export function startReplayAt(startIso: string, credentials = { apiKey: 'unused', apiSecret: 'unused' }): Promise<MarketStandIn> {
  return startMarketStandIn({ csvFiles: { BTCUSDT: MARKET_CSV }, ...credentials, start: Date.parse(startIso), speed: 0 });
}
