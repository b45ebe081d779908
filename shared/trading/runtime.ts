import type { Config } from '../config.js';
import { venueFor } from '../exchange/venue.js';
import { firestoreFor } from '../firestore/client.js';
import { MarginLedger } from '../firestore/margin-ledger.js';
import { TradeLedger } from '../firestore/trade-ledger.js';
import { pubsubFor } from '../pubsub/client.js';
import { JsonPublisher } from '../pubsub/publisher.js';
import type { TradingDeps } from './deps.js';

/** The trading dependencies a function builds once, at start, from its configuration. */
export function tradingDepsFromConfig(config: Config): TradingDeps {
  const db = firestoreFor(config.GOOGLE_CLOUD_PROJECT);
  return {
    exchange: venueFor(config, db),
    trades: new TradeLedger(db),
    margins: new MarginLedger(db, { maxSymbolsPerAgent: config.MAX_SYMBOLS_PER_AGENT, maxBatch: config.GROUP_COMMIT_MAX_BATCH }),
    publisher: new JsonPublisher(pubsubFor(config.GOOGLE_CLOUD_PROJECT)),
    topics: config.topics,
  };
}
