import { describe, expect, it } from 'vitest';
import { type BusMessage, ReplayBus } from '../../../shared/replay/bus.js';

describe('ReplayBus', () => {
  it('delivers in publish order, breadth first, what deliveries publish included', async () => {
    const bus = new ReplayBus();
    const seen: string[] = [];
    bus.subscribe('signals', 'reservation', 1, async (m) => {
      seen.push(`signal ${String(m.data)}`);
      await bus.publish('orders', `order of ${String(m.data)}`);
    });
    bus.subscribe('orders', 'router', 1, async (m) => {
      seen.push(String(m.data));
    });
    await bus.publish('signals', 'a');
    await bus.publish('signals', 'b');
    await bus.drain();
    expect(seen).toEqual(['signal a', 'signal b', 'order of a', 'order of b']);
    expect(bus.published).toBe(4);
  });

  it('hands every subscriber a copy of the JSON, with attributes and an id', async () => {
    const bus = new ReplayBus();
    const got: BusMessage[] = [];
    bus.subscribe('t', 'one', 1, async (m) => void got.push(m));
    const message = { at: new Date(0), n: 1 };
    const id = await bus.publish('t', message, { attributes: { agentId: 'qwen-7b' } });
    message.n = 2;
    await bus.drain();
    expect(got).toEqual([{ messageId: id, topic: 't', data: { at: '1970-01-01T00:00:00.000Z', n: 1 }, attributes: { agentId: 'qwen-7b' } }]);
  });

  it('retries a failing subscriber up to its attempts, then keeps the message as a failed delivery; others go on', async () => {
    const bus = new ReplayBus();
    let attempts = 0;
    const other: unknown[] = [];
    bus.subscribe('t', 'flaky', 3, async () => {
      attempts += 1;
      throw new Error('boom');
    });
    bus.subscribe('t', 'steady', 1, async (m) => void other.push(m.data));
    await bus.publish('t', 1);
    await bus.publish('t', 2);
    await bus.drain();
    expect(attempts).toBe(6);
    expect(other).toEqual([1, 2]);
    expect(bus.failed.map((f) => [f.subscriber, f.message.data, f.error])).toEqual([
      ['flaky', 1, 'boom'],
      ['flaky', 2, 'boom'],
    ]);
  });

  it('succeeds on a retry without a failed delivery', async () => {
    const bus = new ReplayBus();
    let attempts = 0;
    bus.subscribe('t', 'second-time', 5, async () => {
      attempts += 1;
      if (attempts < 2) throw new Error('once');
    });
    await bus.publish('t', {});
    await bus.drain();
    expect([attempts, bus.failed]).toEqual([2, []]);
  });
});
