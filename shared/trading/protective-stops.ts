import type { AgentProfile } from '../domain/agents.js';
import { hasVenueStops } from '../domain/exchange.js';
import type { OrderRecord } from '../domain/orders.js';
import { PROTECTIVE_STOP_ID, stopChanges, wantedStop } from '../domain/protective-stop.js';
import { log } from '../log.js';
import type { TradingDeps } from './deps.js';
import { isolated } from './isolated.js';

/**
 * Keeps a protective stop resting at the venue for every open position of each agent on its own
 * account (protective-stop.ts): placed when a position opens, replaced when it changes, cancelled
 * when it closes — never left behind. A symbol with an order in flight at the run's start
 * (`open`) waits for the next run. A shared account gets none: a stop closing the position would
 * close the other agents' too.
 */
export async function keepProtectiveStops(deps: TradingDeps, profiles: readonly AgentProfile[], open: readonly OrderRecord[], lossFraction: number, failures: string[]): Promise<{ placed: number; cancelled: number }> {
  const inFlight = new Set(open.map((o) => `${o.agentId}|${o.symbol}`));
  const positions = await deps.trades.openPositionsOf(profiles.map((p) => p.agentId));
  let placed = 0;
  let cancelled = 0;
  for (const profile of profiles) {
    const account = deps.accounts.accountFor(profile.agentId);
    const exchange = account.exchange;
    if (account.shared || !hasVenueStops(exchange)) continue;
    await isolated(failures, `protective stops of ${profile.agentId}`, { agentId: profile.agentId }, async () => {
      const held = positions.filter((p) => p.agentId === profile.agentId);
      const resting = await exchange.restingStops();
      const ours = resting.filter((s) => PROTECTIVE_STOP_ID.test(s.clientAlgoId));
      const symbols = [...new Set([...held.map((p) => p.symbol), ...ours.map((s) => s.symbol)])].filter((symbol) => !inFlight.has(`${profile.agentId}|${symbol}`));
      const budget = Math.floor(profile.marginAllocationMicros * lossFraction);
      for (const symbol of symbols) {
        const position = held.some((p) => p.symbol === symbol) ? await deps.trades.position(profile.agentId, symbol) : undefined;
        const tick = (await exchange.symbolFilters(symbol)).tickSizeMicros;
        const changes = stopChanges(position && wantedStop(profile.agentId, symbol, position, budget, tick), ours.filter((s) => s.symbol === symbol));
        // The old stop goes first: two closePosition stops would both fire on one crossing.
        for (const clientAlgoId of changes.cancel) if (await exchange.cancelStop(symbol, clientAlgoId)) cancelled += 1;
        if (changes.place) {
          await exchange.placeStop(changes.place);
          placed += 1;
          log.info('protective stop placed', { agentId: profile.agentId, symbol, clientAlgoId: changes.place.clientAlgoId, side: changes.place.side, triggerMicros: changes.place.triggerMicros });
        }
      }
    });
  }
  return { placed, cancelled };
}
