import { join } from 'node:path';

/** The real BTCUSDT one-minute candles beside the repository (../shared/data/market/). */
export const MARKET_CSV = join(process.cwd(), '..', 'shared', 'data', 'market', 'BTCUSDT-1m-20230301-20230321.csv');
