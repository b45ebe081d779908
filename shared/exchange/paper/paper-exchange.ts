import type { DocumentData, Firestore } from '@google-cloud/firestore';
import { z } from 'zod';
import {
  type Exchange,
  ExchangeError,
  type ExchangeFill,
  type ExchangeOrder,
  ExchangeOrderStatus,
  type Kline,
  type MarketData,
  type PlaceOrderRequest,
  type SymbolFilters,
  type Ticker,
} from '../../domain/exchange.js';
import { ceilDiv } from '../../domain/money.js';
import { atomsToQuantity, notionalOfAtoms, quantityToAtoms } from '../../domain/quantity.js';
import { CoalescedDocument, MAX_JOBS_PER_COMMIT } from '../../firestore/coalesced-document.js';
import { COLLECTIONS } from '../../firestore/collections.js';
import type { StagedTransaction } from '../../firestore/staged-transaction.js';
import { runTransaction } from '../../firestore/transactions.js';

/**
 * The paper exchange: a venue that fills against real (live or replayed) market prices and keeps
 * its book in Firestore. Market orders fill at once at the current price moved against the
 * trader by the slippage; limit orders rest and fill at their price once a later candle trades
 * through it; reduce-only orders may only shrink the account's position. Its answers have the
 * same shapes a real venue's have, so everything downstream runs unchanged.
 */

export interface PaperExchangeOptions {
  /** Market orders fill this many basis points worse than the current price. */
  readonly slippageBps: number;
  /** Fees in parts per million of notional (500 = 0.05%, Binance futures taker). */
  readonly takerFeePpm: number;
  readonly makerFeePpm: number;
}

const PaperOrder = z.object({
  clientOrderId: z.string(),
  exchangeOrderId: z.string(),
  symbol: z.string(),
  side: z.enum(['BUY', 'SELL']),
  type: z.enum(['MARKET', 'LIMIT']),
  status: ExchangeOrderStatus,
  quantityAtoms: z.number().int().positive(),
  executedAtoms: z.number().int().nonnegative(),
  priceMicros: z.number().int().positive().optional(),
  avgPriceMicros: z.number().int().positive().optional(),
  reduceOnly: z.boolean(),
  placedAt: z.number().int(),
  updateTime: z.number().int(),
});
type PaperOrder = z.infer<typeof PaperOrder>;

const PaperFill = z.object({
  tradeId: z.string(),
  clientOrderId: z.string(),
  exchangeOrderId: z.string(),
  symbol: z.string(),
  side: z.enum(['BUY', 'SELL']),
  quantityAtoms: z.number().int().positive(),
  priceMicros: z.number().int().positive(),
  feeMicros: z.number().int().nonnegative(),
  time: z.number().int(),
});
type PaperFill = z.infer<typeof PaperFill>;

function toExchangeOrder(order: PaperOrder): ExchangeOrder {
  return {
    clientOrderId: order.clientOrderId,
    exchangeOrderId: order.exchangeOrderId,
    symbol: order.symbol,
    side: order.side,
    type: order.type,
    status: order.status,
    quantity: atomsToQuantity(order.quantityAtoms),
    executedQuantity: atomsToQuantity(order.executedAtoms),
    ...(order.priceMicros ? { priceMicros: order.priceMicros } : {}),
    ...(order.avgPriceMicros ? { avgPriceMicros: order.avgPriceMicros } : {}),
    reduceOnly: order.reduceOnly,
    updateTime: order.updateTime,
  };
}

function toExchangeFill(fill: PaperFill): ExchangeFill {
  const { quantityAtoms, ...rest } = fill;
  return { ...rest, quantity: atomsToQuantity(quantityAtoms) };
}

/** Moves a price against the trader by `bps` and onto the tick grid, still against the trader. */
export function slippedPrice(priceMicros: number, side: 'BUY' | 'SELL', bps: number, tickMicros: number): number {
  if (side === 'BUY') {
    const raw = ceilDiv(priceMicros * (10_000 + bps), 10_000);
    return ceilDiv(raw, tickMicros) * tickMicros;
  }
  const raw = Math.floor((priceMicros * (10_000 - bps)) / 10_000);
  return Math.floor(raw / tickMicros) * tickMicros;
}

const paperTradeId = (exchangeOrderId: string) => `${exchangeOrderId}-1`;

function signedAtoms(order: PaperOrder): number {
  return order.side === 'BUY' ? order.executedAtoms : -order.executedAtoms;
}

export function feeMicros(notional: number, ppm: number): number {
  return ceilDiv(notional * ppm, 1_000_000);
}

/** The account's signed position in one symbol, in atoms. */
const heldAtoms = (data: DocumentData | undefined): number => (typeof data?.quantityAtoms === 'number' ? data.quantityAtoms : 0);

export class PaperExchange implements Exchange {
  readonly venue = 'paper' as const;
  /**
   * The account's position per symbol: every order of the symbol changes it, so placements that
   * arrive together share one transaction instead of fighting over the document.
   */
  private readonly accounts: CoalescedDocument<number>;

  constructor(
    private readonly db: Firestore,
    private readonly market: MarketData,
    private readonly options: PaperExchangeOptions,
  ) {
    this.accounts = new CoalescedDocument<number>(db, {
      ref: (symbol) => this.accountRef(symbol),
      parse: heldAtoms,
      serialize: (symbol, quantityAtoms) => ({ symbol, quantityAtoms }),
      maxBatch: MAX_JOBS_PER_COMMIT,
    });
  }

  ticker(symbol: string): Promise<Ticker> {
    return this.market.ticker(symbol);
  }

  klines(symbol: string, limit: number, endTime?: number): Promise<Kline[]> {
    return this.market.klines(symbol, limit, endTime);
  }

  symbolFilters(symbol: string): Promise<SymbolFilters> {
    return this.market.symbolFilters(symbol);
  }

  async placeOrder(request: PlaceOrderRequest): Promise<ExchangeOrder> {
    const [existing, ticker, filters] = await Promise.all([
      this.readOrder(request.clientOrderId),
      this.market.ticker(request.symbol),
      this.market.symbolFilters(request.symbol),
    ]);
    if (existing) return toExchangeOrder(existing);
    const quantityAtoms = quantityToAtoms(request.quantity);
    if (quantityAtoms <= 0) throw new ExchangeError('invalid_quantity', 'quantity must be positive', false);
    const orderRef = this.orderRef(request.clientOrderId);
    return this.accounts.submit(request.symbol, {
      reads: [orderRef],
      run: async (stage, held) => {
        const stored = await stage.get(orderRef);
        if (stored) return { value: held, result: toExchangeOrder(PaperOrder.parse(stored)) };
        if (request.reduceOnly) {
          const reduces = (request.side === 'SELL' && held > 0) || (request.side === 'BUY' && held < 0);
          if (!reduces || quantityAtoms > Math.abs(held)) {
            throw new ExchangeError('reduce_only_rejected', 'reduce-only order would not reduce the position', false, -2022);
          }
        }
        const base: PaperOrder = {
          clientOrderId: request.clientOrderId,
          exchangeOrderId: `paper-${request.clientOrderId}`,
          symbol: request.symbol,
          side: request.side,
          type: request.type,
          status: 'NEW',
          quantityAtoms,
          executedAtoms: 0,
          ...(request.priceMicros ? { priceMicros: request.priceMicros } : {}),
          reduceOnly: request.reduceOnly,
          placedAt: ticker.time,
          updateTime: ticker.time,
        };
        if (request.type === 'LIMIT') {
          await stage.create(orderRef, base);
          return { value: held, result: toExchangeOrder(base) };
        }
        const price = slippedPrice(ticker.priceMicros, request.side, this.options.slippageBps, filters.tickSizeMicros);
        const filled = await this.fill(stage, base, price, this.options.takerFeePpm, ticker.time);
        return { value: held + signedAtoms(filled), result: toExchangeOrder(filled) };
      },
    });
  }

  async cancelOrder(symbol: string, clientOrderId: string): Promise<ExchangeOrder> {
    await this.matchRestingOrders(symbol);
    return runTransaction(this.db, async (tx) => {
      const snap = await tx.get(this.orderRef(clientOrderId));
      if (!snap.exists) throw new ExchangeError('order_not_found', `no order ${clientOrderId}`, false, -2011);
      const order = PaperOrder.parse(snap.data());
      if (order.status !== 'NEW' && order.status !== 'PARTIALLY_FILLED') {
        throw new ExchangeError('order_not_found', `order ${clientOrderId} is ${order.status}`, false, -2011);
      }
      const canceled: PaperOrder = { ...order, status: 'CANCELED', updateTime: Math.max(order.updateTime, Date.now()) };
      tx.set(this.orderRef(clientOrderId), canceled);
      return toExchangeOrder(canceled);
    });
  }

  async getOrder(symbol: string, clientOrderId: string): Promise<ExchangeOrder | undefined> {
    await this.matchRestingOrders(symbol);
    const order = await this.readOrder(clientOrderId);
    return order && toExchangeOrder(order);
  }

  /** A paper order fills whole, once, in the trade `<exchangeOrderId>-1` (getOrder matches resting ones). */
  async orderFills(order: ExchangeOrder): Promise<ExchangeFill[]> {
    const snap = await this.db.collection(COLLECTIONS.paperFills).doc(paperTradeId(order.exchangeOrderId)).get();
    return snap.exists ? [toExchangeFill(PaperFill.parse(snap.data()))] : [];
  }

  /** Fills resting limit orders whose price a candle since their placement traded through. */
  async matchRestingOrders(symbol: string): Promise<void> {
    const resting = await this.db
      .collection(COLLECTIONS.paperOrders)
      .where('symbol', '==', symbol)
      .where('status', '==', 'NEW')
      .get();
    if (resting.empty) return;
    const candles = await this.market.klines(symbol, 1_000);
    for (const doc of resting.docs) {
      const order = PaperOrder.parse(doc.data());
      const limit = order.priceMicros as number;
      const crossing = candles.find(
        (k) => k.closeTime >= order.placedAt && (order.side === 'BUY' ? k.lowMicros <= limit : k.highMicros >= limit),
      );
      if (!crossing) continue;
      const orderRef = this.orderRef(order.clientOrderId);
      await this.accounts.submit(symbol, {
        reads: [orderRef],
        run: async (stage, held) => {
          const current = PaperOrder.parse(await stage.get(orderRef));
          if (current.status !== 'NEW') return { value: held, result: undefined };
          const filled = await this.fill(stage, current, limit, this.options.makerFeePpm, Math.max(crossing.openTime, order.placedAt));
          return { value: held + signedAtoms(filled), result: undefined };
        },
      });
    }
  }

  /** Fills the whole order at one price: stages the trade and the filled order; the caller moves the account. */
  private async fill(stage: StagedTransaction, order: PaperOrder, priceMicros: number, ppm: number, time: number): Promise<PaperOrder> {
    const notional = notionalOfAtoms(order.quantityAtoms, priceMicros);
    const filled: PaperOrder = {
      ...order,
      status: 'FILLED',
      executedAtoms: order.quantityAtoms,
      avgPriceMicros: priceMicros,
      updateTime: time,
    };
    const trade: PaperFill = {
      tradeId: paperTradeId(order.exchangeOrderId),
      clientOrderId: order.clientOrderId,
      exchangeOrderId: order.exchangeOrderId,
      symbol: order.symbol,
      side: order.side,
      quantityAtoms: order.quantityAtoms,
      priceMicros,
      feeMicros: feeMicros(notional, ppm),
      time,
    };
    stage.set(this.orderRef(order.clientOrderId), filled);
    await stage.create(this.db.collection(COLLECTIONS.paperFills).doc(trade.tradeId), trade);
    return filled;
  }

  private async readOrder(clientOrderId: string): Promise<PaperOrder | undefined> {
    const snap = await this.orderRef(clientOrderId).get();
    return snap.exists ? PaperOrder.parse(snap.data()) : undefined;
  }

  private orderRef(clientOrderId: string) {
    return this.db.collection(COLLECTIONS.paperOrders).doc(clientOrderId);
  }

  private accountRef(symbol: string) {
    return this.db.collection(COLLECTIONS.paperAccount).doc(symbol);
  }
}
