import { describe, expect, it } from 'vitest';
import { OrderUpdate } from '../../../shared/domain/order-updates.js';
import { SAMPLE_UPDATE_FILL as FILL, rawOrderUpdate as update } from '../../support/order-updates.js';

function issues(input: unknown): string[] {
  const result = OrderUpdate.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('OrderUpdate', () => {
  it('accepts each status in its consistent form', () => {
    expect(issues(update())).toEqual([]);
    expect(issues(update({ status: 'PARTIALLY_FILLED', cumulativeFilledQuantity: '0.004', fill: FILL }))).toEqual([]);
    expect(issues(update({ status: 'FILLED', cumulativeFilledQuantity: '0.01', fill: { ...FILL, quantity: '0.006' } }))).toEqual([]);
    expect(issues(update({ status: 'FILLED', cumulativeFilledQuantity: '0.0100' }))).toEqual([]);
    expect(issues(update({ status: 'CANCELED', cumulativeFilledQuantity: '0.004' }))).toEqual([]);
    expect(issues(update({ status: 'EXPIRED', cumulativeFilledQuantity: '0.004', fill: FILL }))).toEqual([]);
    expect(issues(update({ status: 'REJECTED', reason: 'Margin is insufficient.' }))).toEqual([]);
    expect(issues(update({ eventTime: '2026-01-02T04:04:05+01:00' }))).toEqual([]);
  });

  it('requires a fill and a partial quantity for PARTIALLY_FILLED', () => {
    expect(issues(update({ status: 'PARTIALLY_FILLED', cumulativeFilledQuantity: '0.004' }))).toContain(
      'fill: a PARTIALLY_FILLED update reports its fill',
    );
    expect(issues(update({ status: 'PARTIALLY_FILLED', cumulativeFilledQuantity: '0.01', fill: FILL })).join()).toMatch(
      /cumulativeFilledQuantity: PARTIALLY_FILLED needs/,
    );
    expect(issues(update({ status: 'PARTIALLY_FILLED', cumulativeFilledQuantity: '0', fill: FILL })).join()).toMatch(/PARTIALLY_FILLED needs/);
  });

  it('requires FILLED to fill the whole order', () => {
    expect(issues(update({ status: 'FILLED', cumulativeFilledQuantity: '0.009' }))).toContain(
      'cumulativeFilledQuantity: FILLED needs cumulativeFilledQuantity = orderQuantity',
    );
  });

  it('keeps quantities consistent', () => {
    expect(issues(update({ status: 'CANCELED', cumulativeFilledQuantity: '0.011' }))).toContain(
      'cumulativeFilledQuantity: must not exceed orderQuantity',
    );
    expect(issues(update({ status: 'PARTIALLY_FILLED', cumulativeFilledQuantity: '0.003', fill: FILL }))).toContain(
      'fill.quantity: must not exceed cumulativeFilledQuantity',
    );
    expect(issues(update({ orderQuantity: '0' }))).toContain('orderQuantity: must be above zero');
    expect(issues(update({ status: 'FILLED', cumulativeFilledQuantity: '0.004', fill: { ...FILL, quantity: '0' } })).join()).toMatch(
      /fill.quantity: must be above zero/,
    );
    expect(issues(update({ fill: FILL, cumulativeFilledQuantity: '0.004' }))).toContain('fill: an ACCEPTED update carries no fill');
    expect(issues(update({ status: 'REJECTED', cumulativeFilledQuantity: '0.004' }))).toContain(
      'cumulativeFilledQuantity: a REJECTED order filled nothing',
    );
  });

  it('reports quantities it cannot hold as issues instead of throwing', () => {
    expect(issues(update({ orderQuantity: '0.000000001' })).join()).toMatch(/orderQuantity: quantity has more than 8 decimals/);
    expect(issues(update({ orderQuantity: '99999999999' })).join()).toMatch(/orderQuantity: quantity is too large/);
    expect(issues(update({ cumulativeFilledQuantity: '-1' })).join()).toMatch(/cumulativeFilledQuantity/);
    expect(issues(update({ orderQuantity: '1e3' })).join()).toMatch(/orderQuantity/);
  });

  it('is strict about fields, ids and times', () => {
    expect(issues(update({ extra: 1 })).join()).toMatch(/Unrecognized key/);
    expect(issues(update({ fill: { ...FILL, extra: 1 }, status: 'FILLED', cumulativeFilledQuantity: '0.01' })).join()).toMatch(/Unrecognized key/);
    expect(issues(update({ eventId: 'has space' })).join()).toMatch(/eventId/);
    expect(issues(update({ orderId: '' })).join()).toMatch(/orderId/);
    expect(issues(update({ symbol: 'btc-usdt' })).join()).toMatch(/symbol/);
    expect(issues(update({ eventTime: '2026-01-02 03:04:05' })).join()).toMatch(/eventTime/);
    expect(issues(update({ reason: 'x'.repeat(201) })).join()).toMatch(/reason/);
    expect(issues(update({ venue: '' })).join()).toMatch(/venue/);
    const missing = update();
    delete missing.exchangeOrderId;
    expect(issues(missing).join()).toMatch(/exchangeOrderId/);
    expect(issues(update({ status: 'FILLED', cumulativeFilledQuantity: '0.01', fill: { ...FILL, priceMicros: 0 } })).join()).toMatch(
      /fill.priceMicros/,
    );
    expect(issues(update({ status: 'FILLED', cumulativeFilledQuantity: '0.01', fill: { ...FILL, feeMicros: -1 } })).join()).toMatch(
      /fill.feeMicros/,
    );
  });
});
