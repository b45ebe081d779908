import type { Config } from '../config.js';
import type { VenueAccounts } from '../exchange/accounts.js';
import type { MarginLedger } from '../firestore/margin-ledger.js';
import type { TradeLedger } from '../firestore/trade-ledger.js';
import type { MessagePublisher } from '../pubsub/publisher.js';

/** What order routing, webhooks and reconciliation work with. */
export interface TradingDeps {
  /** Each agent's venue account. */
  readonly accounts: VenueAccounts;
  readonly trades: TradeLedger;
  readonly margins: MarginLedger;
  readonly publisher: MessagePublisher;
  readonly topics: Config['topics'];
  readonly clock?: () => Date;
  /**
   * How long one delivery holds an order's placement (default PLACEMENT_LEASE_MS): longer than a
   * placement with its retries and the asking after an unknown answer take.
   */
  readonly placementLeaseMs?: number;
}

export function now(deps: TradingDeps): Date {
  return deps.clock ? deps.clock() : new Date();
}
