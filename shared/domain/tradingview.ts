import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type TradeSignalInput } from './messages.js';
import { usdToMicros } from './money.js';
import { AgentId, IsoTime, Leverage, Side, decimalString } from './vocabulary.js';

/**
 * TradingView alert webhooks. TradingView cannot set headers and signs nothing, so the alert's
 * message carries its source and that source's secret; the README gives the template.
 * Placeholders such as {{ticker}} arrive already filled in.
 */

const Decimal = decimalString('a decimal number such as "0.015"');

export const TradingViewAlert = z
  .object({
    source: z.string().regex(/^[a-z0-9-]{1,40}$/, 'the source name configured in TRADINGVIEW_SOURCE_SECRETS'),
    secret: z.string().min(1),
    agentId: AgentId,
    /** {{ticker}}: "BTCUSDT", "BTCUSDT.P" or "BINANCE:BTCUSDT.P". */
    ticker: z.string().min(2).max(40),
    /** {{strategy.order.action}}. */
    action: z.string().transform((a) => a.trim().toUpperCase()).pipe(Side),
    /** {{strategy.order.contracts}}, with `price`; or give `notionalUsd` instead. */
    contracts: Decimal.optional(),
    /** {{close}} or {{strategy.order.price}}. */
    price: Decimal.optional(),
    notionalUsd: Decimal.optional(),
    leverage: z.coerce.number().pipe(Leverage).default(1),
    confidence: z.coerce.number().min(0).max(1).default(1),
    reduceOnly: z.boolean().default(false),
    /** {{timenow}}: when the alert fired. */
    time: IsoTime,
    /** An id for this alert; with `time` it keys idempotency. {{strategy.order.id}} works well. */
    alertId: z.string().max(100).default(''),
  })
  .strict()
  .refine((a) => (a.notionalUsd !== undefined) !== (a.contracts !== undefined && a.price !== undefined), {
    message: 'give either notionalUsd, or both contracts and price',
    path: ['notionalUsd'],
  });
export type TradingViewAlert = z.infer<typeof TradingViewAlert>;

/** "BINANCE:BTCUSDT.P" → "BTCUSDT": drop the exchange prefix and the perpetual suffix. */
export function normalizeTicker(ticker: string): string {
  const withoutExchange = ticker.slice(ticker.indexOf(':') + 1);
  return withoutExchange.replace(/\.P$/i, '').toUpperCase();
}

/**
 * The same alert always maps to the same signalId, so TradingView firing twice (or a person
 * replaying it) reserves once.
 */
export function tradingViewSignalId(alert: TradingViewAlert): string {
  const key = [alert.source, alert.agentId, alert.ticker, alert.action, alert.time, alert.alertId].join('|');
  return `tv-${createHash('sha256').update(key).digest('hex').slice(0, 40)}`;
}

export function tradingViewSignal(alert: TradingViewAlert, ttlSeconds: number): TradeSignalInput {
  const createdAt = new Date(Date.parse(alert.time));
  return {
    signalId: tradingViewSignalId(alert),
    agentId: alert.agentId,
    symbol: normalizeTicker(alert.ticker),
    side: alert.action,
    size:
      alert.notionalUsd !== undefined
        ? { type: 'notional', notionalMicros: usdToMicros(alert.notionalUsd) }
        : { type: 'quantity', quantity: alert.contracts as string, priceMicros: usdToMicros(alert.price as string) },
    leverage: alert.leverage,
    confidence: alert.confidence,
    source: `tradingview:${alert.source}`,
    reduceOnly: alert.reduceOnly,
    createdAt: createdAt.toISOString(),
    expiresAt: new Date(createdAt.getTime() + ttlSeconds * 1000).toISOString(),
  };
}
