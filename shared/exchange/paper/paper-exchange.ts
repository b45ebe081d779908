import type { DocumentData, Firestore } from '@google-cloud/firestore';
import { z } from 'zod';
import {
  type Exchange,
  ExchangeError,
  type ExchangeFill,
  type ExchangeOrder,
  ExchangeOrderStatus,
  type MarketData,
  type PlaceOrderRequest,
  VENUE_MADE_ORDER,
  type VenueIncome,
  type SymbolSetup,
  type VenuePosition,
  type VenueStops,
} from '../../domain/exchange.js';
import { type StopOrder, stopReached } from '../../domain/protective-stop.js';
import { ceilDiv, feeMicros } from '../../domain/money.js';
import { atomsToQuantity, notionalOfAtoms, quantityToAtoms } from '../../domain/quantity.js';
import { Atoms, MicroUsd, PositiveMicroUsd, Side } from '../../domain/vocabulary.js';
import { CoalescedDocument, MAX_JOBS_PER_COMMIT } from '../../firestore/coalesced-document.js';
import { COLLECTIONS } from '../../firestore/collections.js';
import { documentId } from '../../firestore/document-id.js';
import type { StagedTransaction } from '../../firestore/staged-transaction.js';

/**
 * The paper exchange: a venue that fills against real (live or replayed) market prices and keeps
 * its book in Firestore. Market orders fill at once at the current price moved against the
 * trader by the slippage, in the transaction that places them, so nothing ever rests; reduce-only
 * orders may only shrink the account's position. Its answers have the
 * same shapes a real venue's have, so everything downstream runs unchanged.
 */

export interface PaperExchangeOptions {
  /** Market orders fill this many basis points worse than the current price. */
  readonly slippageBps: number;
  /** Fees in parts per million of notional (500 = 0.05%, Binance futures taker). */
  readonly takerFeePpm: number;
}

const PaperOrder = z.object({
  clientOrderId: z.string(),
  exchangeOrderId: z.string(),
  /** Whose book it was placed on. */
  accountId: z.string().optional(),
  symbol: z.string(),
  side: Side,
  type: z.literal('MARKET'),
  status: ExchangeOrderStatus,
  quantityAtoms: Atoms.positive(),
  executedAtoms: Atoms,
  avgPriceMicros: PositiveMicroUsd.optional(),
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
  side: Side,
  quantityAtoms: Atoms.positive(),
  priceMicros: PositiveMicroUsd,
  feeMicros: MicroUsd,
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
export function slippedPrice(priceMicros: number, side: Side, bps: number, tickMicros: number): number {
  if (side === 'BUY') {
    const raw = ceilDiv(priceMicros * (10_000 + bps), 10_000);
    return ceilDiv(raw, tickMicros) * tickMicros;
  }
  const raw = Math.floor((priceMicros * (10_000 - bps)) / 10_000);
  return Math.floor(raw / tickMicros) * tickMicros;
}

const paperTradeId = (exchangeOrderId: string) => `${exchangeOrderId}-1`;
/** The venue's own id of a paper order. */
const paperExchangeOrderId = (clientOrderId: string) => `paper-${clientOrderId}`;

function signedAtoms(order: PaperOrder): number {
  return order.side === 'BUY' ? order.executedAtoms : -order.executedAtoms;
}

/** The account's signed position in one symbol, in atoms. */
const heldAtoms = (data: DocumentData | undefined): number => (typeof data?.quantityAtoms === 'number' ? data.quantityAtoms : 0);

const PaperStop = z.object({ accountId: z.string(), clientAlgoId: z.string(), symbol: z.string(), side: Side, triggerMicros: PositiveMicroUsd, status: z.enum(['NEW', 'CANCELED', 'FINISHED', 'EXPIRED']) });

export class PaperExchange implements Exchange, VenueStops {
  readonly venue = 'paper' as const;
  /**
   * The account's position per symbol: every order of the symbol changes it, so placements that
   * arrive together share one transaction instead of fighting over the document.
   */
  private readonly accounts: CoalescedDocument<number>;

  /** `accountId`: whose book this is (one per agent: positions never net across agents). */
  constructor(
    private readonly db: Firestore,
    private readonly market: MarketData,
    private readonly options: PaperExchangeOptions,
    private readonly accountId = 'paper',
  ) {
    this.accounts = new CoalescedDocument<number>(db, {
      ref: (symbol) => this.accountRef(symbol),
      parse: heldAtoms,
      serialize: (symbol, quantityAtoms) => ({ accountId: this.accountId, symbol, quantityAtoms }),
      maxBatch: MAX_JOBS_PER_COMMIT,
    });
  }

  // Market data is the market's: the paper exchange only keeps the book.
  ticker: MarketData['ticker'] = (symbol) => this.market.ticker(symbol);
  markPrice: MarketData['markPrice'] = (symbol) => this.market.markPrice(symbol);
  klines: MarketData['klines'] = (symbol, limit, endTime) => this.market.klines(symbol, limit, endTime);
  symbolFilters: MarketData['symbolFilters'] = (symbol) => this.market.symbolFilters(symbol);

  async placeOrder(request: PlaceOrderRequest): Promise<ExchangeOrder> {
    // An order placed before is answered from inside the transaction, which reads it anyway.
    const [ticker, filters] = await Promise.all([this.market.ticker(request.symbol), this.market.symbolFilters(request.symbol)]);
    const quantityAtoms = quantityToAtoms(request.quantity);
    if (quantityAtoms <= 0) throw new ExchangeError('invalid_quantity', 'quantity must be positive', false);
    const orderRef = this.orderRef(request.clientOrderId);
    return this.accounts.submit(request.symbol, {
      // The fill is created in the same transaction: read with the rest, not in a second trip.
      reads: [orderRef, this.fillRef(request.clientOrderId)],
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
          exchangeOrderId: paperExchangeOrderId(request.clientOrderId),
          accountId: this.accountId,
          symbol: request.symbol,
          side: request.side,
          type: request.type,
          status: 'NEW',
          quantityAtoms,
          executedAtoms: 0,
          reduceOnly: request.reduceOnly,
          placedAt: ticker.time,
          updateTime: ticker.time,
        };
        const price = slippedPrice(ticker.priceMicros, request.side, this.options.slippageBps, filters.tickSizeMicros);
        const filled = await this.fill(stage, base, price, this.options.takerFeePpm, ticker.time);
        return { value: held + signedAtoms(filled), result: toExchangeOrder(filled) };
      },
    });
  }

  /**
   * The venue's liquidation of the account's whole position in `symbol` (see liquidation.ts):
   * a reduce-only order filled at the bankruptcy price, with the taker fee, under the client id
   * `clientOrderId` (venues name them autoclose-…). Answers the order already made for that id.
   */
  liquidate(symbol: string, clientOrderId: string, bankruptcyPriceMicros: number): Promise<ExchangeOrder> {
    return this.closeWholePosition(symbol, clientOrderId, () => bankruptcyPriceMicros);
  }

  /** A stop closing the whole position (closePosition), resting until the mark reaches it; one already resting under its id counts as placed. */
  async placeStop(stop: StopOrder): Promise<void> {
    if (stopReached(stop, (await this.market.markPrice(stop.symbol)).priceMicros)) {
      throw new ExchangeError('rejected', `a ${stop.side} stop at ${stop.triggerMicros} would trigger at once`, false, -2021);
    }
    const ref = this.stopRef(stop.clientAlgoId);
    await this.db.runTransaction(async (tx) => {
      if ((await tx.get(ref)).exists) return;
      tx.create(ref, { accountId: this.accountId, ...stop, status: 'NEW' });
    });
  }

  async restingStops(): Promise<StopOrder[]> {
    const snap = await this.db.collection(COLLECTIONS.paperStops).where('accountId', '==', this.accountId).where('status', '==', 'NEW').get();
    return snap.docs.map((d) => PaperStop.parse(d.data())).map(({ clientAlgoId, symbol, side, triggerMicros }) => ({ clientAlgoId, symbol, side, triggerMicros }));
  }

  cancelStop(_symbol: string, clientAlgoId: string): Promise<boolean> {
    return this.endStop(clientAlgoId, 'CANCELED');
  }

  /**
   * What the venue does by itself between two looks: each resting stop of `symbol` the mark
   * (`markMicros`) has reached closes the whole position at the mark, moved against the trader by
   * the slippage, under the stop's id — or expires when there is nothing to close. Returns the
   * stops fired.
   */
  async fireStops(symbol: string, markMicros: number): Promise<number> {
    const reached = (await this.restingStops()).filter((s) => s.symbol === symbol && stopReached(s, markMicros));
    if (reached.length === 0) return 0;
    const { tickSizeMicros } = await this.market.symbolFilters(symbol);
    let fired = 0;
    for (const stop of reached) {
      if ((await this.positionAtoms(symbol)) === 0) {
        await this.endStop(stop.clientAlgoId, 'EXPIRED');
        continue;
      }
      await this.closeWholePosition(symbol, stop.clientAlgoId, (side) => slippedPrice(markMicros, side, this.options.slippageBps, tickSizeMicros));
      await this.endStop(stop.clientAlgoId, 'FINISHED');
      fired += 1;
    }
    return fired;
  }

  private endStop(clientAlgoId: string, status: 'CANCELED' | 'FINISHED' | 'EXPIRED'): Promise<boolean> {
    const ref = this.stopRef(clientAlgoId);
    return this.db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      if (snap.get('status') !== 'NEW') return false;
      tx.update(ref, { status });
      return true;
    });
  }

  private stopRef(clientAlgoId: string) {
    return this.db.collection(COLLECTIONS.paperStops).doc(documentId(this.accountId, clientAlgoId));
  }

  /** A reduce-only order for the whole position, filled at `priceOf(its side)`, with the taker fee; answers the order already made for that id. */
  private async closeWholePosition(symbol: string, clientOrderId: string, priceOf: (side: Side) => number): Promise<ExchangeOrder> {
    const orderRef = this.orderRef(clientOrderId);
    const ticker = await this.market.markPrice(symbol);
    return this.accounts.submit(symbol, {
      reads: [orderRef, this.fillRef(clientOrderId)],
      run: async (stage, held) => {
        const stored = await stage.get(orderRef);
        if (stored) return { value: held, result: toExchangeOrder(PaperOrder.parse(stored)) };
        if (held === 0) throw new ExchangeError('reduce_only_rejected', `nothing held in ${symbol} to close`, false, -2022);
        const base: PaperOrder = {
          clientOrderId,
          exchangeOrderId: paperExchangeOrderId(clientOrderId),
          accountId: this.accountId,
          symbol,
          side: held > 0 ? 'SELL' : 'BUY',
          type: 'MARKET',
          status: 'NEW',
          quantityAtoms: Math.abs(held),
          executedAtoms: 0,
          reduceOnly: true,
          placedAt: ticker.time,
          updateTime: ticker.time,
        };
        const filled = await this.fill(stage, base, priceOf(base.side), this.options.takerFeePpm, ticker.time);
        return { value: held + signedAtoms(filled), result: toExchangeOrder(filled) };
      },
    });
  }

  /** Nothing rests on the paper exchange, so a cancel is answered as a venue answers one for an ended order. */
  async cancelOrder(_symbol: string, clientOrderId: string): Promise<ExchangeOrder> {
    const order = await this.readOrder(clientOrderId);
    throw new ExchangeError('order_not_found', order ? `order ${clientOrderId} is ${order.status}` : `no order ${clientOrderId}`, false, -2011);
  }

  async getOrder(_symbol: string, clientOrderId: string): Promise<ExchangeOrder | undefined> {
    const order = await this.readOrder(clientOrderId);
    return order && toExchangeOrder(order);
  }

  async venueMadeOrders(symbol: string): Promise<ExchangeOrder[]> {
    const snap = await this.db.collection(COLLECTIONS.paperOrders).where('accountId', '==', this.accountId).where('symbol', '==', symbol).get();
    return snap.docs.map((d) => PaperOrder.parse(d.data())).filter((o) => VENUE_MADE_ORDER.test(o.clientOrderId)).map(toExchangeOrder);
  }

  async positions(): Promise<VenuePosition[]> {
    const snap = await this.db.collection(COLLECTIONS.paperAccount).where('accountId', '==', this.accountId).get();
    return snap.docs.map((d) => ({ symbol: String(d.get('symbol')), quantityAtoms: heldAtoms(d.data()) })).filter((p) => p.quantityAtoms !== 0);
  }

  /** The paper venue charges no funding. */
  async fundingSince(_startTime?: number): Promise<VenueIncome[]> {
    return [];
  }

  /** The account's signed position in `symbol`, in atoms (what a venue's position risk reports). */
  async positionAtoms(symbol: string): Promise<number> {
    return heldAtoms((await this.accountRef(symbol).get()).data());
  }

  /** The paper venue keeps no leverage setting: every order trades at its own. */
  async symbolSetup(symbol: string): Promise<SymbolSetup> {
    return { quantityAtoms: await this.positionAtoms(symbol) };
  }

  /** A paper order fills whole, once, in the trade `<exchangeOrderId>-1`. */
  async orderFills(order: ExchangeOrder): Promise<ExchangeFill[]> {
    const snap = await this.db.collection(COLLECTIONS.paperFills).doc(paperTradeId(order.exchangeOrderId)).get();
    return snap.exists ? [toExchangeFill(PaperFill.parse(snap.data()))] : [];
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
    await stage.create(this.fillRef(order.clientOrderId), trade);
    return filled;
  }

  private async readOrder(clientOrderId: string): Promise<PaperOrder | undefined> {
    const snap = await this.orderRef(clientOrderId).get();
    return snap.exists ? PaperOrder.parse(snap.data()) : undefined;
  }

  private orderRef(clientOrderId: string) {
    return this.db.collection(COLLECTIONS.paperOrders).doc(clientOrderId);
  }

  /** The one trade a paper order fills in. */
  private fillRef(clientOrderId: string) {
    return this.db.collection(COLLECTIONS.paperFills).doc(paperTradeId(paperExchangeOrderId(clientOrderId)));
  }

  private accountRef(symbol: string) {
    return this.db.collection(COLLECTIONS.paperAccount).doc(documentId(this.accountId, symbol));
  }
}
