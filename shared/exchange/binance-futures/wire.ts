import { z } from 'zod';
import { venueUsdToMicros } from '../../domain/money.js';
import { Side, signedDecimalString } from '../../domain/vocabulary.js';

/** The JSON a Binance-compatible USDⓈ-M futures venue answers with, validated at the edge. */

const Decimal = signedDecimalString();
const Id = z.union([z.number().int(), z.string().regex(/^\d+$/)]).transform(String);

export const ServerTime = z.object({ serverTime: z.number().int() });

export const ExchangeInfo = z.object({
  symbols: z.array(
    z.object({
      symbol: z.string(),
      filters: z.array(z.object({ filterType: z.string() }).catchall(z.unknown())),
    }),
  ),
});

export const TickerPrice = z.object({ symbol: z.string(), price: Decimal, time: z.number().int().optional() });

export const PremiumIndex = z.object({ symbol: z.string(), markPrice: Decimal, time: z.number().int().optional() });

export const KlineRow = z.tuple([z.number().int(), Decimal, Decimal, Decimal, Decimal, Decimal, z.number().int()]).rest(z.unknown());

export const VenueOrder = z.object({
  orderId: Id,
  clientOrderId: z.string(),
  symbol: z.string(),
  side: Side,
  type: z.string(),
  status: z.string(),
  origQty: Decimal,
  executedQty: Decimal,
  avgPrice: Decimal.optional(),
  reduceOnly: z.boolean().optional(),
  updateTime: z.number().int(),
});
export type VenueOrder = z.infer<typeof VenueOrder>;

export const UserTrade = z.object({
  id: Id,
  orderId: Id,
  symbol: z.string(),
  side: Side,
  price: Decimal,
  qty: Decimal,
  commission: Decimal,
  commissionAsset: z.string().optional(),
  time: z.number().int(),
});

export const Income = z.object({
  symbol: z.string(),
  incomeType: z.string(),
  income: Decimal,
  asset: z.string(),
  time: z.number().int(),
  tranId: Id,
});

export const PositionRisk = z.object({ symbol: z.string(), positionAmt: Decimal, leverage: z.string().regex(/^\d+$/).optional(), marginType: z.string().optional() });

export const VenueError = z.object({ code: z.number().int(), msg: z.string() });

/** An Algo Service order (New Algo Order, Current All Algo Open Orders): what Sapphire reads of one. */
export const AlgoOrder = z.object({ clientAlgoId: z.string(), symbol: z.string(), side: z.enum(['BUY', 'SELL']), algoStatus: z.string(), triggerPrice: Decimal });

/** A venue price as micro-USD; prices finer than a micro are rounded to the nearest. */
export function priceMicros(decimal: string): number {
  return venueUsdToMicros(decimal.startsWith('-') ? '0' : decimal);
}

