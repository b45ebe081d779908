import type { Config } from '../config.js';
import type { Exchange } from '../domain/exchange.js';
import type { MarginLedger } from '../firestore/margin-ledger.js';
import type { TradeLedger } from '../firestore/trade-ledger.js';
import type { JsonPublisher } from '../pubsub/publisher.js';

/** What order routing, webhooks and reconciliation work with. */
export interface TradingDeps {
  readonly exchange: Exchange;
  readonly trades: TradeLedger;
  readonly margins: MarginLedger;
  readonly publisher: JsonPublisher;
  readonly topics: Config['topics'];
  readonly clock?: () => Date;
}

export function now(deps: TradingDeps): Date {
  return deps.clock ? deps.clock() : new Date();
}
