/**
 * A separate OS process that reserves margin for a list of signals, all at once, through its
 * own MarginLedger (its own group commit). Reads the signals as JSON on argv[2]; prints a
 * summary as JSON on stdout.
 */
import { TradeSignal } from '../../shared/domain/messages.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { MarginLedger } from '../../shared/firestore/margin-ledger.js';

const signals = TradeSignal.array().parse(JSON.parse(process.argv[2] ?? '[]'));
const ledger = new MarginLedger(firestoreFor(process.env.GOOGLE_CLOUD_PROJECT as string), {
  maxSymbolsPerAgent: 50,
});
// Start together with the sibling process: both wait for the same wall-clock instant.
const startAt = Number(process.env.START_AT ?? Date.now());
await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
const outcomes = await Promise.all(signals.map((s) => ledger.reserveMargin(s)));
process.stdout.write(
  `${JSON.stringify({
    decidedHere: outcomes.filter((o) => o.decidedNow).map((o) => o.record.signalId),
    reserved: outcomes.filter((o) => o.record.status === 'reserved').length,
  })}\n`,
);
process.exit(0);
