import type { TradeSignal, TradeSignalInput } from '../../shared/domain/messages.js';
import { TradeSignal as TradeSignalSchema } from '../../shared/domain/messages.js';
import { USD } from '../../shared/domain/money.js';

let counter = 0;

/** A valid signal with sensible defaults; override what the test is about. */
export function makeSignal(overrides: Partial<TradeSignalInput> = {}): TradeSignal {
  const now = Date.now();
  counter += 1;
  return TradeSignalSchema.parse({
    signalId: `sig-${process.pid}-${now}-${counter}`,
    agentId: 'deepseek-v3',
    symbol: 'BTCUSDT',
    side: 'BUY',
    size: { type: 'notional', notionalMicros: 100 * USD },
    leverage: 2,
    confidence: 0.8,
    source: 'test',
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + 10 * 60_000).toISOString(),
    ...overrides,
  });
}
