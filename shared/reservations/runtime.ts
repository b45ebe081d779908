import type { Config } from '../config.js';
import { ledgersFromConfig } from '../firestore/ledger-repository.js';
import { MarginLedger } from '../firestore/margin-ledger.js';
import { type RuntimeIo, cloudIo } from '../runtime-io.js';
import type { ReservationDeps } from './reserve-and-publish.js';

/** What margin-reservation works with, from its configuration. */
export function reservationDepsFromConfig(config: Config, io: RuntimeIo = cloudIo(config)): ReservationDeps {
  return {
    ledger: new MarginLedger(io.db, { maxSymbolsPerAgent: config.MAX_SYMBOLS_PER_AGENT, ledgers: ledgersFromConfig(config, io.db) }),
    market: io.market,
    publisher: io.publisher,
    topics: config.topics,
    redriveAfterMs: config.REDRIVE_AFTER_SECONDS * 1000,
  };
}
