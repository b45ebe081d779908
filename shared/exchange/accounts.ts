import type { Firestore } from '@google-cloud/firestore';
import type { Config } from '../config.js';
import type { Exchange, MarketData } from '../domain/exchange.js';
import { BinanceFuturesClient } from './binance-futures/client.js';
import { log } from '../log.js';
import { PaperExchange } from './paper/paper-exchange.js';

/**
 * One venue account per agent: each agent's orders go to its own account (its own API key on a
 * Binance-compatible venue, its own book on the paper exchange), so positions never net across
 * agents and each ledger reconciles one to one with its account. Agents without their own key
 * share the deployment's key; routing then refuses any order that would net against another
 * agent's position there (see routeOrder).
 */

export interface VenueAccount {
  /** The agent's own account is named after the agent; the shared one is `shared`. */
  readonly accountId: string;
  readonly exchange: Exchange;
  /** Other agents trade on this account too. */
  readonly shared: boolean;
}

export interface VenueAccounts {
  readonly venue: Exchange['venue'];
  accountFor(agentId: string): VenueAccount;
  /** The agents trading on the shared account, besides the one asking (for the netting check). */
  sharesAccountWith(agentId: string): (otherAgentId: string) => boolean;
}

export const SHARED_ACCOUNT = 'shared';

/** Accounts over a factory of exchanges per account id; `hasOwn` says which agents have their own. */
export function venueAccounts(venue: Exchange['venue'], hasOwn: (agentId: string) => boolean, exchangeOf: (accountId: string) => Exchange): VenueAccounts {
  const cache = new Map<string, VenueAccount>();
  return {
    venue,
    accountFor(agentId) {
      const accountId = hasOwn(agentId) ? agentId : SHARED_ACCOUNT;
      let account = cache.get(accountId);
      if (!account) {
        account = { accountId, exchange: exchangeOf(accountId), shared: accountId === SHARED_ACCOUNT };
        cache.set(accountId, account);
      }
      return account;
    },
    sharesAccountWith(agentId) {
      return (other) => other !== agentId && !hasOwn(agentId) && !hasOwn(other);
    },
  };
}

/**
 * The venue orders go to: the paper exchange on `market`'s prices (ENABLE_PAPER_TRADING=true, the
 * default; every agent has its own paper book), or a Binance-compatible USDⓈ-M futures REST
 * venue with each agent's key from EXCHANGE_ACCOUNTS, else the shared EXCHANGE_API_KEY.
 */
export function venueAccountsFor(config: Config, db: Firestore, market: MarketData): VenueAccounts {
  if (config.ENABLE_PAPER_TRADING) {
    return venueAccounts('paper', () => true, (accountId) => new PaperExchange(db, market, { slippageBps: config.PAPER_SLIPPAGE_BPS, takerFeePpm: config.PAPER_TAKER_FEE_PPM }, accountId));
  }
  const keys = config.EXCHANGE_ACCOUNTS;
  // At start: a venue that cannot be reached from here is named once, with its cause.
  new BinanceFuturesClient({ baseUrl: config.EXCHANGE_BASE_URL, maxRetries: 1 }).checkVenue().then(
    (venue) => log.info('venue reachable', { baseUrl: config.EXCHANGE_BASE_URL, ...venue }),
    (error: unknown) => log.error('venue check failed: orders will fail until this is fixed', { baseUrl: config.EXCHANGE_BASE_URL, error }),
  );
  return venueAccounts('binance', (agentId) => agentId in keys, (accountId) => {
    const key = accountId === SHARED_ACCOUNT ? { apiKey: config.EXCHANGE_API_KEY, apiSecret: config.EXCHANGE_API_SECRET } : keys[accountId];
    if (!key?.apiKey || !key.apiSecret) throw new Error(`no venue key for account ${accountId}: set EXCHANGE_ACCOUNTS or EXCHANGE_API_KEY/EXCHANGE_API_SECRET`);
    return new BinanceFuturesClient({ baseUrl: config.EXCHANGE_BASE_URL, apiKey: key.apiKey, apiSecret: key.apiSecret });
  });
}
