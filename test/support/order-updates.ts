/** The order the sample broker update is about: Sapphire's client order id and the venue's id. */
export const SAMPLE_ORDER_ID = 'sph-0123456789abcdef0123456789abcdef';
export const SAMPLE_EXCHANGE_ORDER_ID = '8886774';

/**
 * A broker's order update as it arrives, before validation: the venue accepted a BTCUSDT buy of
 * 0.010. Override what the test is about (a status, a fill, a malformed field).
 */
export function rawOrderUpdate(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventId: 'evt-1',
    venue: 'my-broker',
    orderId: SAMPLE_ORDER_ID,
    exchangeOrderId: SAMPLE_EXCHANGE_ORDER_ID,
    symbol: 'BTCUSDT',
    side: 'BUY',
    status: 'ACCEPTED',
    orderQuantity: '0.010',
    cumulativeFilledQuantity: '0',
    eventTime: '2026-01-02T03:04:05.678Z',
    ...overrides,
  };
}

/** A fill as an update reports it: 0.004 at 67,012.30 USD, fee 0.10722 USD. */
export const SAMPLE_UPDATE_FILL = { tradeId: 't-1', quantity: '0.004', priceMicros: 67_012_300_000, feeMicros: 107_220 };
