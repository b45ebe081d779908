import type { Config } from '../config.js';
import { ledgersFromConfig } from '../firestore/ledger-repository.js';
import { MarginLedger } from '../firestore/margin-ledger.js';
import { TradeLedger } from '../firestore/trade-ledger.js';
import { type RuntimeIo, cloudIo } from '../runtime-io.js';
import { modelRegistry } from './registry.js';
import type { InferenceDeps } from './run-agents.js';

/** What agent-inference works with, from its configuration. */
export function inferenceDepsFromConfig(config: Config, io: RuntimeIo = cloudIo(config)): InferenceDeps {
  const ledgers = ledgersFromConfig(config, io.db);
  return {
    db: io.db,
    market: io.market,
    margins: new MarginLedger(io.db, { maxSymbolsPerAgent: config.MAX_SYMBOLS_PER_AGENT, ledgers }),
    trades: new TradeLedger(io.db, undefined, ledgers),
    publisher: io.publisher,
    topics: config.topics,
    modelFor: modelRegistry(config),
    maxSymbolsPerAgent: config.MAX_SYMBOLS_PER_AGENT,
    minConfidence: config.MIN_SIGNAL_CONFIDENCE,
    signalTtlSeconds: config.SIGNAL_TTL_SECONDS,
    candles: config.AGENT_CANDLES,
  };
}
