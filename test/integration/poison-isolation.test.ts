import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AGENTS } from '../../shared/domain/agents.js';
import { applyLedgerEvent } from '../../shared/domain/ledger.js';
import { ReservationRecord } from '../../shared/domain/margin.js';
import { seedAgentProfiles } from '../../shared/firestore/agent-profiles.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { COLLECTIONS } from '../../shared/firestore/collections.js';
import { LedgerRepository } from '../../shared/firestore/ledger-repository.js';
import { StagedWriteConflict } from '../../shared/firestore/staged-transaction.js';
import { pubsubFor } from '../../shared/pubsub/client.js';
import { JsonPublisher } from '../../shared/pubsub/publisher.js';
import { TOPICS } from '../../triggers/manifest.js';
import type { LocalPushDelivery } from '../../scripts/lib/provision.js';
import { deadLettersFrom } from '../support/dead-letters.js';
import { bearer, postJson } from '../support/http.js';
import { makeSignal } from '../support/signals.js';
import { type ServedFunction, closeInOrder, deliverPushTo, isolatedProject, serveFunction, waitUntil } from '../support/stack.js';
import { USD } from '../../shared/domain/money.js';

/**
 * A message that fails keeps failing alone: the signal that once stopped its agent is refused at
 * intake and, published past intake, dead-lettered while the agent's other signals are decided;
 * inside one coalesced ledger transaction, a job that throws fails alone and the rest commit.
 */

const projectId = isolatedProject('poison');
const TOKEN = 'poison-intake-token-0123456789';
process.env.SIGNAL_INTAKE_TOKENS = TOKEN;
const db = firestoreFor(projectId);
const pubsub = pubsubFor(projectId);
const publisher = new JsonPublisher(pubsub);
/** Passed intake validation once, then made margin-reservation throw on every delivery. */
const POISON_SIZE = { type: 'quantity', quantity: '100000000000', priceMicros: 9007199254740991 } as const;
let intake: ServedFunction;
let reservation: ServedFunction;
let delivery: LocalPushDelivery | undefined;

beforeAll(async () => {
  await seedAgentProfiles(db, DEFAULT_AGENTS);
  intake = await serveFunction(() => import('../../functions/signal-intake/index.js'), 'signalIntake');
  reservation = await serveFunction(() => import('../../functions/margin-reservation/index.js'), 'marginReservation');
  delivery = await deliverPushTo(pubsub, { 'margin-reservation': reservation });
});

afterAll(async () => {
  await closeInOrder(delivery, intake, reservation);
});

describe('poison isolation', () => {
  it('refuses the poisoned size at intake with 400 naming the field', async () => {
    const body = { ...makeSignal({ agentId: 'qwen-7b' }), size: POISON_SIZE };
    const response = await postJson(`${intake.url}/signals`, body, bearer(TOKEN));
    expect(response.status).toBe(400);
    const problem = (await response.json()) as { fields?: { field: string }[] };
    expect(problem.fields?.map((f) => f.field)).toEqual(['size.quantity']);
  });

  it('published past intake, the poisoned signal is dead-lettered once and the agent’s other signals are decided', async () => {
    const poison = { ...makeSignal({ agentId: 'qwen-7b', signalId: 'poison-1' }), size: POISON_SIZE };
    const ordinary = Array.from({ length: 5 }, (_, i) => makeSignal({ agentId: 'qwen-7b', signalId: `after-poison-${i}`, size: { type: 'notional', notionalMicros: 100 * USD } }));
    await publisher.publish(TOPICS.signals, poison);
    await Promise.all(ordinary.map((s) => publisher.publish(TOPICS.signals, s)));

    await waitUntil('every ordinary signal decided', async () => {
      const snaps = await Promise.all(ordinary.map((s) => db.collection(COLLECTIONS.reservations).doc(s.signalId).get()));
      return snaps.every((snap) => snap.exists);
    }, 10_000);
    for (const s of ordinary) {
      const record = ReservationRecord.parse((await db.collection(COLLECTIONS.reservations).doc(s.signalId).get()).data());
      expect(record.status).toBe('reserved');
    }
    await waitUntil('the dead letter', async () => (await deadLettersFrom(db, 'margin-reservation')).length > 0, 10_000);
    const letters = await deadLettersFrom(db, 'margin-reservation');
    expect(letters).toHaveLength(1);
    expect(String(letters[0]?.reason)).toMatch(/size\.quantity/);
    expect((await db.collection(COLLECTIONS.reservations).doc('poison-1').get()).exists).toBe(false);
    expect(delivery?.stats).toMatchObject({ failures: 0 }); // acknowledged at once, never retried
  });

  it('in one coalesced transaction, a job that throws fails alone and the others commit', async () => {
    // A pace (however generous) makes the first job wait a tick, so all five share one batch.
    const ledgers = new LedgerRepository(db, { maxBatch: 50, pace: { burst: 100, ratePerSecond: 100 } });
    const agentId = 'batch-agent';
    const marker = (name: string) => db.collection('batchMarkers').doc(name);
    const reserve = (name: string, margin: number) =>
      ledgers.submit(agentId, {
        reads: [marker(name)],
        run: async (stage, ledger) => {
          await stage.create(marker(name), { name });
          return { value: applyLedgerEvent(ledger, { kind: 'reserve', symbol: 'BTCUSDT', marginMicros: margin, allocationMicros: 1_000 * USD }), result: name };
        },
      });
    const failing = ledgers.submit(agentId, {
      reads: [],
      run: async () => {
        throw new RangeError('notional is too large');
      },
    });
    const results = await Promise.allSettled([reserve('a', 10 * USD), failing, reserve('b', 20 * USD), reserve('a', 30 * USD), reserve('c', 2_000 * USD)]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).name))).toEqual(['a', 'RangeError', 'b', StagedWriteConflict.name, 'LedgerError']);
    expect(ledgers.transactionStats.commits).toBe(1);
    expect(await ledgers.ledgerOf(agentId)).toMatchObject({ reservedMicros: 30 * USD, openSymbols: { BTCUSDT: 2 } });
    expect((await marker('a').get()).exists && (await marker('b').get()).exists).toBe(true);
    expect((await marker('c').get()).exists).toBe(false);
  });

  it('paces ledger writes: a burst of 300 jobs writes the ledger document at most 10 times in any second', async () => {
    const ledgers = new LedgerRepository(db, { maxBatch: 99, pace: { burst: 4, ratePerSecond: 6 } });
    const agentId = 'paced-agent';
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        ledgers.submit(agentId, {
          reads: [],
          run: async (_stage, ledger) => ({ value: applyLedgerEvent(ledger, { kind: 'reserve', symbol: 'BTCUSDT', marginMicros: USD, allocationMicros: 1_000 * USD }), result: i }),
        }),
      ),
    );
    expect(await ledgers.ledgerOf(agentId)).toMatchObject({ reservedMicros: 300 * USD, openSymbols: { BTCUSDT: 300 } });
    expect(ledgers.writeStats.writes).toBeGreaterThanOrEqual(Math.ceil(300 / 99));
    expect(ledgers.writeStats.maxWritesPerSecond).toBeLessThanOrEqual(10);
  });
});
