/**
 * The first step of `npm test`: check the machine (scripts/lib/preflight.ts), then fetch what the
 * tests run besides it — fake-gcs-server and promtool from the Go module proxy, Chromium from its
 * npm package — into .cache/, once. A missing piece is one block and exit 1 before any test starts.
 */
import { preflight } from './lib/preflight.js';
import { ensureTestTools } from './lib/tools.js';

await preflight('test');
try {
  await ensureTestTools((line) => process.stderr.write(`[tools] ${line}\n`));
} catch (error) {
  process.stderr.write(`[tools] ${(error as Error).message}\n`);
  process.exit(1);
}
