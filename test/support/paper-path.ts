import { DEFAULT_AGENTS } from '../../shared/domain/agents.js';
import { seedAgentProfiles } from '../../shared/firestore/agent-profiles.js';
import { firestoreFor } from '../../shared/firestore/client.js';
import { MarginLedger } from '../../shared/firestore/margin-ledger.js';
import { TradeLedger } from '../../shared/firestore/trade-ledger.js';
import { pubsubFor } from '../../shared/pubsub/client.js';
import { JsonPublisher } from '../../shared/pubsub/publisher.js';
import type { MarketStandIn } from '../../scripts/lib/market-standin.js';
import { startReplayAt } from './market.js';
import { closeInOrder, deliverPushTo, isolatedProject, serveFunction } from './stack.js';

/**
 * The paper trading path for a test file: its own project, the four agents seeded, the BTCUSDT
 * replay stopped at `replayAt`, margin-reservation and order-router served and fed by push
 * delivery, and the ledgers to read back. With `venue: 'standin'`, orders go to the strict
 * Binance stand-in instead, one account per agent (its key: `venueKeyOf(agentId)`).
 */
export interface PaperPath {
  readonly db: ReturnType<typeof firestoreFor>;
  readonly pubsub: ReturnType<typeof pubsubFor>;
  readonly publisher: JsonPublisher;
  readonly margins: MarginLedger;
  readonly trades: TradeLedger;
  readonly venue: MarketStandIn;
  stop(): Promise<void>;
}

/** Call at the top of the file (it picks the project), then `await path.start()` in beforeAll. */
/** The stand-in account key of an agent on a `venue: 'standin'` path. */
export const venueKeyOf = (agentId: string) => `path-${agentId}`;

export function paperPath(label: string, replayAt: string, options: { readonly venue?: 'paper' | 'standin' } = {}): { readonly projectId: string; start(): Promise<PaperPath> } {
  const projectId = isolatedProject(label);
  return {
    projectId,
    async start() {
      const db = firestoreFor(projectId);
      const pubsub = pubsubFor(projectId);
      const keys = Object.fromEntries(DEFAULT_AGENTS.map((a) => [a.agentId, { apiKey: venueKeyOf(a.agentId), apiSecret: `secret-${venueKeyOf(a.agentId)}` }]));
      const venue = await startReplayAt(replayAt, { apiKey: 'unused', apiSecret: 'unused', moreAccounts: Object.fromEntries(Object.values(keys).map((k) => [k.apiKey, k.apiSecret])) });
      Object.assign(process.env, { MARKET_DATA_URL: venue.url, ENABLE_PAPER_TRADING: 'true', PAPER_SLIPPAGE_BPS: '5', PAPER_TAKER_FEE_PPM: '500' });
      if (options.venue === 'standin') Object.assign(process.env, { ENABLE_PAPER_TRADING: 'false', EXCHANGE_BASE_URL: venue.url, EXCHANGE_ACCOUNTS: JSON.stringify(keys) });
      await seedAgentProfiles(db, DEFAULT_AGENTS);
      const reservation = await serveFunction(() => import('../../functions/margin-reservation/index.js'), 'marginReservation');
      const router = await serveFunction(() => import('../../functions/order-router/index.js'), 'orderRouter');
      const delivery = await deliverPushTo(pubsub, { 'margin-reservation': reservation, 'order-router': router });
      return {
        db,
        pubsub,
        publisher: new JsonPublisher(pubsub),
        margins: new MarginLedger(db, { maxSymbolsPerAgent: 50 }),
        trades: new TradeLedger(db),
        venue,
        stop: () => closeInOrder(delivery, reservation, router, venue),
      };
    },
  };
}
