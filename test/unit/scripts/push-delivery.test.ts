import { describe, expect, it } from 'vitest';
import { deadLetterAttributes, isPushAck, pushBackoffMs, pushEnvelope } from '../../../scripts/lib/push-delivery.js';

const policy = { minimumBackoffSeconds: 1, maximumBackoffSeconds: 60 };
const message = { id: '42', data: Buffer.from('{"a":1}'), attributes: { agentId: 'qwen-7b' }, publishTime: new Date('2026-01-02T03:04:05.678Z') };

describe('push delivery rules', () => {
  it('acknowledges on the status codes Cloud Pub/Sub push treats as success, and only those', () => {
    expect([102, 200, 201, 202, 204].every(isPushAck)).toBe(true);
    expect([203, 301, 400, 404, 429, 500, 503].some(isPushAck)).toBe(false);
  });

  it('backs off exponentially from the minimum, capped at the maximum', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => pushBackoffMs(policy, n))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
    expect(pushBackoffMs(policy, 1_000)).toBe(60_000);
    expect(() => pushBackoffMs(policy, 0)).toThrow(RangeError);
  });

  it('builds the push body with both spellings of id and time and the attempt number', () => {
    expect(pushEnvelope('projects/p/subscriptions/s', message, 3)).toEqual({
      subscription: 'projects/p/subscriptions/s',
      message: {
        attributes: { agentId: 'qwen-7b' },
        data: Buffer.from('{"a":1}').toString('base64'),
        messageId: '42',
        message_id: '42',
        publishTime: '2026-01-02T03:04:05.678Z',
        publish_time: '2026-01-02T03:04:05.678Z',
      },
      deliveryAttempt: 3,
    });
  });

  it('adds Cloud Pub/Sub’s source attributes to a dead letter, keeping the message’s own', () => {
    expect(deadLetterAttributes(message, 'projects/p/subscriptions/margin-reservation', 10)).toEqual({
      agentId: 'qwen-7b',
      CloudPubSubDeadLetterSourceSubscription: 'margin-reservation',
      CloudPubSubDeadLetterSourceSubscriptionProject: 'p',
      CloudPubSubDeadLetterSourceDeliveryCount: '10',
      CloudPubSubDeadLetterSourceTopicPublishTime: '2026-01-02T03:04:05.678Z',
    });
  });
});
