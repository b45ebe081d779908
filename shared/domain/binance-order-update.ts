import { z } from 'zod';
import { type CommissionMicros, USD, USD_STABLE_ASSETS, commissionMicros, venueUsdToMicros } from './money.js';
import { OrderUpdate, type OrderUpdateStatus } from './order-updates.js';
import { Side, decimalString, signedDecimalString } from './vocabulary.js';

/**
 * Binance and Aster DEX USDⓈ-M futures user-data-stream `ORDER_TRADE_UPDATE` events, as a
 * bridge relays them (the raw event JSON), mapped to Sapphire's OrderUpdate. Only the fields
 * used are validated; unknown ones are dropped because the venues keep adding fields.
 */

export type BinanceVenue = 'binance' | 'aster';

export interface FieldIssue {
  readonly field: string;
  readonly message: string;
}

export type BinanceOrderUpdateResult = { ok: true; update: OrderUpdate } | { ok: false; fields: FieldIssue[] };

const Decimal = decimalString('a non-negative decimal string such as "0.010"');
/** Commission: Binance writes it unsigned, some venues sign a rebate. */
const SignedDecimal = signedDecimalString('a decimal string such as "0.01548949"');
/** Ids are JSON numbers at Binance; a bridge that keeps 64-bit ids exact may send digits. */
const NumericId = z.union([z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d{1,20}$/)]);
const EpochMs = z.number().int().positive().max(8.64e15);

const BinanceOrderTradeUpdate = z.object({
  e: z.literal('ORDER_TRADE_UPDATE'),
  E: EpochMs,
  o: z.object({
    s: z.string(),
    c: z.string(),
    S: Side,
    q: Decimal,
    x: z.enum(['NEW', 'CANCELED', 'CALCULATED', 'EXPIRED', 'TRADE', 'AMENDMENT']),
    X: z.enum(['NEW', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'EXPIRED', 'EXPIRED_IN_MATCH']),
    i: NumericId,
    l: Decimal,
    z: Decimal,
    L: Decimal,
    /** Both left out when there is no commission. */
    N: z.string().max(20).optional(),
    n: SignedDecimal.optional(),
    t: NumericId.optional(),
  }),
});
type BinanceOrderTradeUpdate = z.infer<typeof BinanceOrderTradeUpdate>;

/** Where each OrderUpdate field came from, so a bridge operator sees the venue's field. */
const SOURCE_FIELD: Record<string, string> = {
  orderId: 'o.c',
  exchangeOrderId: 'o.i',
  eventId: 'o.i',
  symbol: 'o.s',
  side: 'o.S',
  orderQuantity: 'o.q',
  cumulativeFilledQuantity: 'o.z',
  'fill.tradeId': 'o.t',
  'fill.quantity': 'o.l',
  'fill.priceMicros': 'o.L',
  'fill.feeMicros': 'o.n',
  fill: 'o.x',
  eventTime: 'E',
};

function isZero(decimal: string): boolean {
  return !/[1-9]/.test(decimal);
}

/** The order status as Sapphire reads it; a fill-less change of a live order is just "accepted". */
function statusOf(X: BinanceOrderTradeUpdate['o']['X'], hasFill: boolean): OrderUpdateStatus {
  switch (X) {
    case 'NEW':
      return 'ACCEPTED';
    case 'PARTIALLY_FILLED':
      // e.g. an AMENDMENT of a partly filled order: nothing traded in this event.
      return hasFill ? 'PARTIALLY_FILLED' : 'ACCEPTED';
    case 'FILLED':
      return 'FILLED';
    case 'CANCELED':
      return 'CANCELED';
    case 'EXPIRED':
    case 'EXPIRED_IN_MATCH':
      return 'EXPIRED';
  }
}

function reasonOf(o: BinanceOrderTradeUpdate['o']): string | undefined {
  if (o.X === 'EXPIRED_IN_MATCH') return 'expired in match (self-trade prevention)';
  if (o.x === 'CALCULATED') return 'liquidation';
  return undefined;
}

type FillOrIssues = { fill?: NonNullable<OrderUpdate['fill']> } | { issues: FieldIssue[] };

function fillOf(o: BinanceOrderTradeUpdate['o']): FillOrIssues {
  // TRADE always reports a trade; a liquidation (CALCULATED) does when it executed a quantity.
  const traded = o.x === 'TRADE' || (o.x === 'CALCULATED' && !isZero(o.l));
  if (!traded) return {};
  const issues: FieldIssue[] = [];
  if (isZero(o.l)) issues.push({ field: 'o.l', message: 'a TRADE event fills a quantity above zero' });
  if (o.t === undefined || isZero(String(o.t))) issues.push({ field: 'o.t', message: 'a trade event carries its trade id' });

  let priceMicros = 0;
  try {
    priceMicros = venueUsdToMicros(o.L);
  } catch (error) {
    issues.push({ field: 'o.L', message: error instanceof Error ? error.message : 'not a price' });
  }

  let commission: CommissionMicros = { feeMicros: 0, rebateMicros: 0 };
  if (o.n !== undefined && !isZero(o.n)) {
    if (o.N === undefined || !USD_STABLE_ASSETS.has(o.N)) {
      // Valuing BNB (or any non-USD asset) needs the venue's price at the trade's time, which the
      // reconciler's read of the trade (userTrades) looks up; here it is refused, naming the asset.
      issues.push({
        field: 'o.N',
        message: `commission in ${o.N ?? 'an unnamed asset'} cannot be valued in USD here; expected one of ${[...USD_STABLE_ASSETS].join(', ')}`,
      });
    } else {
      try {
        commission = commissionMicros(o.n, USD);
      } catch (error) {
        issues.push({ field: 'o.n', message: error instanceof Error ? error.message : 'not a commission' });
      }
    }
  }
  if (issues.length > 0) return { issues };
  const { feeMicros, rebateMicros } = commission;
  return { fill: { tradeId: String(o.t), quantity: o.l, priceMicros, feeMicros, ...(rebateMicros > 0 ? { rebateMicros } : {}) } };
}

function issuesOf(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({ field: issue.path.map(String).join('.') || '(body)', message: issue.message }));
}

/** A relayed ORDER_TRADE_UPDATE event → an OrderUpdate, or the fields that prevent it. Never throws. */
export function parseBinanceOrderTradeUpdate(json: unknown, venue: BinanceVenue): BinanceOrderUpdateResult {
  const raw = BinanceOrderTradeUpdate.safeParse(json);
  if (!raw.success) return { ok: false, fields: issuesOf(raw.error) };
  const { E, o } = raw.data;

  const fillResult = fillOf(o);
  if ('issues' in fillResult) return { ok: false, fields: fillResult.issues };
  const { fill } = fillResult;

  const exchangeOrderId = String(o.i);
  const reason = reasonOf(o);
  const candidate = {
    // One id per venue event: a trade by its trade id, any other change by its event time.
    eventId: `${venue}:${exchangeOrderId}:${o.x}:${fill ? fill.tradeId : E}`,
    venue,
    orderId: o.c,
    exchangeOrderId,
    symbol: o.s,
    side: o.S,
    status: statusOf(o.X, fill !== undefined),
    orderQuantity: o.q,
    cumulativeFilledQuantity: o.z,
    ...(fill ? { fill } : {}),
    ...(reason ? { reason } : {}),
    eventTime: new Date(E).toISOString(),
  };
  const parsed = OrderUpdate.safeParse(candidate);
  if (!parsed.success) {
    return {
      ok: false,
      fields: parsed.error.issues.map((issue) => {
        const path = issue.path.map(String).join('.');
        return { field: SOURCE_FIELD[path] ?? (path || '(body)'), message: issue.message };
      }),
    };
  }
  return { ok: true, update: parsed.data };
}

