import { describe, expect, it } from 'vitest';
import { exposureBySymbol, nettingCounterparty } from '../../../shared/domain/netting.js';

const everyone = () => true;

describe('netting on a shared venue account', () => {
  it("counts each agent's orders in flight (their unfilled part) with its position, leaving out the order being decided", () => {
    const held = exposureBySymbol(
      'BTCUSDT',
      [{ agentId: 'a', quantityAtoms: 2_000_000 }],
      [
        { orderId: 'o1', agentId: 'b', symbol: 'BTCUSDT', side: 'SELL', quantityAtoms: 1_000_000, filledAtoms: 400_000 },
        { orderId: 'o2', agentId: 'a', symbol: 'BTCUSDT', side: 'BUY', quantityAtoms: 1_000_000, filledAtoms: 0 },
        { orderId: 'o3', agentId: 'b', symbol: 'ETHUSDT', side: 'BUY', quantityAtoms: 9_000_000, filledAtoms: 0 },
      ],
      'o2',
    );
    expect([...held]).toEqual([
      ['a', 2_000_000],
      ['b', -600_000],
    ]);
  });

  it('refuses an order that would leave an agent opposite another, and never one that shrinks its own exposure', () => {
    const inFlightBuy = new Map([['a', 1_000_000]]);
    expect(nettingCounterparty(inFlightBuy, 'b', 'SELL', 1_000_000, everyone)).toBe('a');
    expect(nettingCounterparty(inFlightBuy, 'b', 'BUY', 1_000_000, everyone)).toBeUndefined();
    expect(nettingCounterparty(new Map([['a', 1_000_000], ['b', -500_000]]), 'b', 'BUY', 500_000, everyone)).toBeUndefined();
    // Flipping one's own position past zero is opening the other way.
    expect(nettingCounterparty(new Map([['a', 1_000_000], ['b', 500_000]]), 'b', 'SELL', 2_000_000, everyone)).toBe('a');
    // An agent on its own account is no counterparty.
    expect(nettingCounterparty(inFlightBuy, 'b', 'SELL', 1_000_000, (other) => other !== 'a')).toBeUndefined();
  });
});
