import type { Config } from '../config.js';
import { BinanceFuturesClient } from '../exchange/binance-futures/client.js';
import { firestoreFor } from '../firestore/client.js';
import { TrainingRuns } from '../firestore/training-runs.js';
import { pubsubOnFirstUse } from '../pubsub/lazy-client.js';
import { JsonPublisher } from '../pubsub/publisher.js';
import { ObjectStore } from '../storage/objects.js';
import { VertexControlPlane } from '../vertex/control-plane.js';
import { type TrainingDeps, trainingSettingsFrom } from './deps.js';

/** The training dependencies a function builds once from its configuration; undefined when training is off (no TRAINING_BUCKET). */
export function trainingDepsFromConfig(config: Config, authClient?: unknown): TrainingDeps | undefined {
  const settings = trainingSettingsFrom(config);
  if (!settings) return undefined;
  const db = firestoreFor(config.GOOGLE_CLOUD_PROJECT);
  return {
    db,
    runs: new TrainingRuns(db),
    objects: new ObjectStore(config.GOOGLE_CLOUD_PROJECT, config.GCS_API_ENDPOINT),
    vertex: new VertexControlPlane({
      project: config.GOOGLE_CLOUD_PROJECT,
      location: config.TRAINING_LOCATION,
      ...(config.VERTEX_API_ENDPOINT ? { apiEndpoint: config.VERTEX_API_ENDPOINT } : {}),
      ...(authClient ? { authClient } : {}),
    }),
    market: new BinanceFuturesClient({ baseUrl: config.MARKET_DATA_URL }),
    publisher: new JsonPublisher(pubsubOnFirstUse(config.GOOGLE_CLOUD_PROJECT)),
    topics: config.topics,
    settings,
  };
}
