import type { Firestore } from '@google-cloud/firestore';
import type { Config } from './config.js';
import type { MarketData } from './domain/exchange.js';
import { BinanceFuturesClient } from './exchange/binance-futures/client.js';
import { firestoreFor } from './firestore/client.js';
import { pubsubOnFirstUse } from './pubsub/lazy-client.js';
import { JsonPublisher, type MessagePublisher } from './pubsub/publisher.js';

/**
 * What a function's work reaches outside itself: its documents, where it publishes, and the
 * market. Deployed, these are Firestore, Pub/Sub and the venue's public market data; a replay
 * hands the same code an in-process store, queue and candle file instead.
 */
export interface RuntimeIo {
  readonly db: Firestore;
  readonly publisher: MessagePublisher;
  readonly market: MarketData;
}

/** The deployed (or emulated) services, from configuration; every client is built on first use. */
export function cloudIo(config: Config): RuntimeIo {
  return {
    db: firestoreFor(config.GOOGLE_CLOUD_PROJECT),
    publisher: new JsonPublisher(pubsubOnFirstUse(config.GOOGLE_CLOUD_PROJECT)),
    market: new BinanceFuturesClient({ baseUrl: config.MARKET_DATA_URL }),
  };
}
