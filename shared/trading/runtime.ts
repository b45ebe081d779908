import type { Config } from '../config.js';
import { venueAccountsFor } from '../exchange/accounts.js';
import { firestoreFor } from '../firestore/client.js';
import { ledgersFromConfig } from '../firestore/ledger-repository.js';
import { MarginLedger } from '../firestore/margin-ledger.js';
import { TradeLedger } from '../firestore/trade-ledger.js';
import { pubsubOnFirstUse } from '../pubsub/lazy-client.js';
import { JsonPublisher } from '../pubsub/publisher.js';
import type { TradingDeps } from './deps.js';

/** The trading dependencies a function builds once, at start, from its configuration. */
export function tradingDepsFromConfig(config: Config): TradingDeps {
  const db = firestoreFor(config.GOOGLE_CLOUD_PROJECT);
  const ledgers = ledgersFromConfig(config);
  return {
    accounts: venueAccountsFor(config, db),
    trades: new TradeLedger(db, undefined, ledgers),
    margins: new MarginLedger(db, { maxSymbolsPerAgent: config.MAX_SYMBOLS_PER_AGENT, ledgers }),
    publisher: new JsonPublisher(pubsubOnFirstUse(config.GOOGLE_CLOUD_PROJECT)),
    topics: config.topics,
  };
}
