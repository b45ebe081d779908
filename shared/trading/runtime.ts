import type { Config } from '../config.js';
import { venueAccountsFor } from '../exchange/accounts.js';
import { ledgersFromConfig } from '../firestore/ledger-repository.js';
import { MarginLedger } from '../firestore/margin-ledger.js';
import { TradeLedger } from '../firestore/trade-ledger.js';
import { type RuntimeIo, cloudIo } from '../runtime-io.js';
import type { TradingDeps } from './deps.js';
import type { ReconcileOptions } from './reconcile.js';

/** The trading dependencies a function builds once, at start, from its configuration. */
export function tradingDepsFromConfig(config: Config, io: RuntimeIo = cloudIo(config)): TradingDeps {
  const ledgers = ledgersFromConfig(config, io.db);
  return {
    accounts: venueAccountsFor(config, io.db, io.market),
    trades: new TradeLedger(io.db, undefined, ledgers),
    margins: new MarginLedger(io.db, { maxSymbolsPerAgent: config.MAX_SYMBOLS_PER_AGENT, ledgers }),
    publisher: io.publisher,
    topics: config.topics,
    placementLeaseMs: config.ORDER_PLACEMENT_LEASE_SECONDS * 1000,
  };
}

/** How long the reconciler lets reservations, placements and open orders be before it acts. */
export function reconcileOptionsFromConfig(config: Config): ReconcileOptions {
  return {
    reservationTtlMs: config.RESERVATION_TTL_SECONDS * 1000,
    placingGraceMs: 120_000,
    openOrderTtlMs: config.ORDER_TTL_SECONDS * 1000,
    flattenPolicy: { retryFirstMs: config.FLATTEN_RETRY_SECONDS * 1000, alertAfterMs: config.FLATTEN_ALERT_AFTER_SECONDS * 1000 },
    stopLossFraction: config.RISK_AGENT_DRAWDOWN_HALT_FRACTION,
  };
}
