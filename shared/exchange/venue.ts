import type { Firestore } from '@google-cloud/firestore';
import type { Config } from '../config.js';
import type { Exchange } from '../domain/exchange.js';
import { BinanceFuturesClient } from './binance-futures/client.js';
import { PaperExchange } from './paper/paper-exchange.js';

/**
 * The venue orders go to: the paper exchange on market prices (ENABLE_PAPER_TRADING=true, the
 * default), or a Binance-compatible USDⓈ-M futures REST venue with the account's API key.
 */
export function venueFor(config: Config, db: Firestore): Exchange {
  if (config.ENABLE_PAPER_TRADING) {
    return new PaperExchange(db, new BinanceFuturesClient({ baseUrl: config.MARKET_DATA_URL }), {
      slippageBps: config.PAPER_SLIPPAGE_BPS,
      takerFeePpm: config.PAPER_TAKER_FEE_PPM,
    });
  }
  return new BinanceFuturesClient({
    baseUrl: config.EXCHANGE_BASE_URL,
    apiKey: config.EXCHANGE_API_KEY as string,
    apiSecret: config.EXCHANGE_API_SECRET as string,
  });
}
