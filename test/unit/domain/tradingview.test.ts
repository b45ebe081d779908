import { describe, expect, it } from 'vitest';
import { TradeSignal } from '../../../shared/domain/messages.js';
import { TradingViewAlert, normalizeTicker, tradingViewSignal } from '../../../shared/domain/tradingview.js';

const alert = {
  source: 'tv-main',
  secret: 'x'.repeat(20),
  agentId: 'deepseek-v3',
  ticker: 'BINANCE:BTCUSDT.P',
  action: 'buy',
  contracts: '0.015',
  price: '23142.31',
  leverage: '3',
  time: '2023-03-08T14:05:00Z',
  alertId: 'long-1',
};

describe('TradingView alerts', () => {
  it('normalizes tickers', () => {
    expect(normalizeTicker('BINANCE:BTCUSDT.P')).toBe('BTCUSDT');
    expect(normalizeTicker('ethusdt')).toBe('ETHUSDT');
  });

  it('maps the documented template onto a valid TradeSignal', () => {
    const signal = TradeSignal.parse(tradingViewSignal(TradingViewAlert.parse(alert), 60));
    expect(signal).toMatchObject({
      agentId: 'deepseek-v3',
      symbol: 'BTCUSDT',
      side: 'BUY',
      size: { type: 'quantity', quantity: '0.015', priceMicros: 23_142_310_000 },
      leverage: 3,
      confidence: 1,
      source: 'tradingview:tv-main',
      createdAt: '2023-03-08T14:05:00.000Z',
      expiresAt: '2023-03-08T14:06:00.000Z',
    });
  });

  it('gives the same alert the same signalId, and another alert another', () => {
    const id = (a: object) => tradingViewSignal(TradingViewAlert.parse(a), 60).signalId;
    expect(id(alert)).toBe(id({ ...alert }));
    expect(id(alert)).not.toBe(id({ ...alert, time: '2023-03-08T14:06:00Z' }));
  });

  it('accepts a notional instead of contracts and price, but not both or neither', () => {
    const { contracts: _c, price: _p, ...bare } = alert;
    expect(tradingViewSignal(TradingViewAlert.parse({ ...bare, notionalUsd: '250' }), 60).size).toEqual({
      type: 'notional',
      notionalMicros: 250_000_000,
    });
    expect(TradingViewAlert.safeParse(bare).success).toBe(false);
    expect(TradingViewAlert.safeParse({ ...alert, notionalUsd: '250' }).success).toBe(false);
  });

  it('refuses unknown fields and a bad action', () => {
    expect(TradingViewAlert.safeParse({ ...alert, extra: 1 }).success).toBe(false);
    expect(TradingViewAlert.safeParse({ ...alert, action: 'hold' }).success).toBe(false);
  });
});
