/**
 * npm run ledgers — each agent's margin as Firestore holds it: allocation, reserved, in use,
 * free, and the latest reservation outcomes.
 */
import { listAgentProfiles } from '../shared/firestore/agent-profiles.js';
import { firestoreFor } from '../shared/firestore/client.js';
import { COLLECTIONS } from '../shared/firestore/collections.js';
import { MarginLedger } from '../shared/firestore/margin-ledger.js';
import { committedMicros, freeMarginMicros, heldSymbols } from '../shared/domain/ledger.js';
import { microsToUsd } from '../shared/domain/money.js';
import { PositionState, averageEntryMicros } from '../shared/domain/positions.js';
import { atomsToQuantity } from '../shared/domain/quantity.js';
import { useLocalEnv } from './lib/local-env.js';

if (!process.env.GOOGLE_CLOUD_PROJECT || !process.env.FIRESTORE_EMULATOR_HOST) await useLocalEnv();
const db = firestoreFor(process.env.GOOGLE_CLOUD_PROJECT as string);
const ledgers = new MarginLedger(db, { maxSymbolsPerAgent: 50 });

const usd = (micros: number) => microsToUsd(micros).padStart(14);
process.stdout.write(`${'agent'.padEnd(16)}${'allocation'.padStart(14)}${'reserved'.padStart(14)}${'in use'.padStart(14)}${'free'.padStart(14)}${'realized PnL'.padStart(14)}  symbols\n`);
for (const agent of await listAgentProfiles(db)) {
  const ledger = await ledgers.ledgerOf(agent.agentId);
  process.stdout.write(
    `${agent.agentId.padEnd(16)}${usd(agent.marginAllocationMicros)}${usd(ledger.reservedMicros)}${usd(ledger.inUseMicros)}${usd(freeMarginMicros(ledger, agent.marginAllocationMicros))}${usd(ledger.realizedPnlMicros)}  ${[...heldSymbols(ledger)].join(',') || '-'}${committedMicros(ledger) > agent.marginAllocationMicros ? '  OVER-ALLOCATED' : ''}\n`,
  );
}
const positions = await db.collection(COLLECTIONS.positions).where('quantityAtoms', '!=', 0).get();
if (!positions.empty) {
  process.stdout.write('\nopen positions:\n');
  for (const doc of positions.docs) {
    const position = PositionState.parse(doc.data());
    const side = position.quantityAtoms > 0 ? 'long ' : 'short';
    process.stdout.write(
      `  ${String(doc.get('agentId')).padEnd(16)} ${String(doc.get('symbol')).padEnd(9)} ${side} ${atomsToQuantity(Math.abs(position.quantityAtoms)).padStart(10)}  entry ${microsToUsd(averageEntryMicros(position))}  margin ${microsToUsd(position.marginInUseMicros)} USD\n`,
    );
  }
}
const recent = await db.collection(COLLECTIONS.reservations).orderBy('decidedAt', 'desc').limit(10).get();
if (!recent.empty) {
  process.stdout.write('\nlatest outcomes:\n');
  for (const doc of recent.docs) {
    const r = doc.data();
    process.stdout.write(`  ${r.decidedAt}  ${String(r.agentId).padEnd(16)} ${String(r.symbol).padEnd(9)} ${String(r.status).padEnd(9)} ${r.status === 'rejected' ? r.reason : `margin ${microsToUsd(r.marginMicros)} USD, order ${r.orderId}`}\n`);
  }
}
process.exit(0);
