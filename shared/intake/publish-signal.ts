import type { Config } from '../config.js';
import type { TradeSignal } from '../domain/messages.js';
import type { MessagePublisher } from '../pubsub/publisher.js';

export class PublishTimeout extends Error {
  override readonly name = 'PublishTimeout';
}

/**
 * Publishes a validated signal to `signals`, stamped with when it was received, and resolves once Pub/Sub has
 * stored it. Past `timeoutMs` it rejects with PublishTimeout so an HTTP caller still gets an
 * answer in time; the signalId makes a later duplicate harmless.
 */
export async function publishSignal(
  publisher: MessagePublisher,
  topics: Config['topics'],
  signal: TradeSignal,
  timeoutMs: number,
): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PublishTimeout(`publish not confirmed within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([
      // Stamped here, whatever the producer wrote: the decision's latency counts from intake.
      publisher.publish(topics.signals, { ...signal, receivedAt: new Date().toISOString() }, {
        attributes: { signalId: signal.signalId, agentId: signal.agentId },
      }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
