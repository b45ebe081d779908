import { startEmulators, type EmulatorPair } from '../../scripts/lib/emulators.js';
import { ensureTestTools } from '../../scripts/lib/tools.js';
import { ensurePythonEnv } from '../../scripts/python-env.js';

/**
 * Vitest global setup: one Firestore and one Pub/Sub emulator for the whole run. Test files
 * isolate themselves by project id, which both emulators keep apart.
 */
let emulators: EmulatorPair | undefined;

export async function setup(): Promise<void> {
  const started = Date.now();
  // Fetched once (npm test's preflight and test:containers already did), before any test's hooks time them.
  await ensureTestTools((line) => process.stdout.write(`${line}\n`));
  await ensurePythonEnv();
  emulators = await startEmulators({ projectId: 'sapphire-test' });
  Object.assign(process.env, emulators.env, {
    // No metadata server here: stop the client libraries from looking for one.
    METADATA_SERVER_DETECTION: 'none',
    SAPPHIRE_QUIET_LOGS: 'true',
  });
  process.stdout.write(
    `emulators ready in ${Date.now() - started} ms: firestore ${emulators.firestore.host}, pubsub ${emulators.pubsub.host}\n`,
  );
}

export async function teardown(): Promise<void> {
  await emulators?.stop();
}
