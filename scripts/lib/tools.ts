import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliDecompress } from 'node:zlib';

/**
 * The programs the tests and the local stack need besides the machine's toolchains, fetched from
 * the registries on first use into .cache/ (ignored by git) and reused after that:
 *  - Go programs built from the Go module proxy with `go install`: fake-gcs-server (the Cloud
 *    Storage emulator) and Prometheus's promtool (the rules' checks and unit tests);
 *  - Chromium for the browser tests, from the npm package @sparticuz/chromium, which ships a
 *    headless build as one brotli file (no download at run time; playwright-core drives it).
 * Each lands under a versioned name, written to a temporary name first and renamed, so a
 * process that dies half-way leaves nothing a later run would mistake for the program.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CACHE_DIR = join(ROOT, '.cache');
const BIN_DIR = join(CACHE_DIR, 'bin');

export type Progress = (line: string) => void;

export interface GoTool {
  /** The command's name: the last element of the package path. */
  readonly name: string;
  /** The package `go install` builds, without the version. */
  readonly goPackage: string;
  readonly version: string;
  /** What a first build costs on two cores, for the progress line. */
  readonly firstBuild: string;
  /** Build tags: what the tests never use need not be downloaded and compiled. */
  readonly buildTags?: readonly string[];
}

export const FAKE_GCS_SERVER: GoTool = { name: 'fake-gcs-server', goPackage: 'github.com/fsouza/fake-gcs-server', version: 'v1.56.1', firstBuild: 'about 90 s' };
/**
 * Prometheus 3.x's module versions are v0.3xx.y (Prometheus v3.y.z has no Go-module tag of its
 * own). remove_all_sd leaves out the service discoveries (Kubernetes, the clouds' SDKs), which
 * checking and testing rules never use: the first build drops from about 8 minutes to 3.
 */
export const PROMTOOL: GoTool = {
  name: 'promtool',
  goPackage: 'github.com/prometheus/prometheus/cmd/promtool',
  version: 'v0.316.0',
  firstBuild: 'about 3 minutes',
  buildTags: ['remove_all_sd'],
};

export function goToolPath(tool: GoTool): string {
  return join(BIN_DIR, `${tool.name}-${tool.version}`);
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolveRun, reject) => {
    // Go's own progress goes to this process's stderr: a first build is minutes, and says so.
    const child = spawn(command, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => resolveRun(code ?? 1));
  });
}

const building = new Map<string, Promise<string>>();

/** The tool's binary, built with `go install` from the Go module proxy on first use. */
export function ensureGoTool(tool: GoTool, progress: Progress = () => undefined): Promise<string> {
  const binary = goToolPath(tool);
  if (existsSync(binary)) return Promise.resolve(binary);
  let pending = building.get(binary);
  if (!pending) {
    pending = (async () => {
      await mkdir(BIN_DIR, { recursive: true });
      progress(`building ${tool.name} ${tool.version} from the Go module proxy into .cache/bin (once; ${tool.firstBuild})…`);
      const staging = await mkdtemp(join(BIN_DIR, `.${tool.name}-`));
      try {
        const tags = tool.buildTags?.length ? ['-tags', tool.buildTags.join(',')] : [];
        const code = await run('go', ['install', ...tags, `${tool.goPackage}@${tool.version}`], { ...process.env, GOBIN: staging, GOFLAGS: '-mod=mod' }).catch(
          (error: NodeJS.ErrnoException) => {
            throw new Error(`go install ${tool.name} could not start (${error.code ?? error.message}): Go 1.22+ is needed`);
          },
        );
        if (code !== 0) throw new Error(`go install ${tool.goPackage}@${tool.version} failed (exit ${code}); Go 1.22+ and the Go module proxy are needed`);
        await rename(join(staging, tool.name), binary);
        return binary;
      } finally {
        await rm(staging, { recursive: true, force: true });
        building.delete(binary);
      }
    })();
    building.set(binary, pending);
  }
  return pending;
}

const CHROMIUM_PACKAGE = '@sparticuz/chromium';

/** The npm package's version and its brotli-compressed binary, or undefined when `npm ci` has not installed it. */
async function chromiumPackage(): Promise<{ version: string; compressed: string } | undefined> {
  // Its "exports" hide package.json from require.resolve: read it where npm puts it.
  const dir = join(ROOT, 'node_modules', ...CHROMIUM_PACKAGE.split('/'));
  const manifest = await readFile(join(dir, 'package.json'), 'utf8').catch(() => undefined);
  if (manifest === undefined) return undefined;
  const { version } = JSON.parse(manifest) as { version: string };
  return { version, compressed: join(dir, 'bin', 'chromium.br') };
}

let chromium: Promise<string> | undefined;

/**
 * A headless Chromium for the browser tests: SAPPHIRE_CHROMIUM when set, otherwise the one
 * @sparticuz/chromium ships, unpacked once into .cache/chromium-<version>/ (about 2 s).
 */
export function ensureChromium(progress: Progress = () => undefined): Promise<string> {
  const chosen = process.env.SAPPHIRE_CHROMIUM;
  if (chosen) return Promise.resolve(chosen);
  chromium ??= (async () => {
    const found = await chromiumPackage();
    if (!found) throw new Error(`${CHROMIUM_PACKAGE} is not installed: run npm ci (or set SAPPHIRE_CHROMIUM to a Chromium binary)`);
    const dir = join(CACHE_DIR, `chromium-${found.version}`);
    const binary = join(dir, 'chromium');
    if (existsSync(binary)) return binary;
    progress(`unpacking Chromium from ${CHROMIUM_PACKAGE} ${found.version} into .cache (once)…`);
    await mkdir(dir, { recursive: true });
    const staging = join(dir, `.chromium-${process.pid}`);
    await writeFile(staging, await promisify(brotliDecompress)(await readFile(found.compressed)));
    await chmod(staging, 0o755);
    await rename(staging, binary);
    return binary;
  })().catch((error: unknown) => {
    chromium = undefined;
    throw error;
  });
  return chromium;
}

/** Everything `npm test` needs from the registries, in the order that keeps the two cores busy once. */
export async function ensureTestTools(progress: Progress): Promise<{ gcs: string; promtool: string; chromium: string }> {
  // The Go builds one after the other (each uses both cores); Chromium unpacks meanwhile.
  const goTools = ensureGoTool(FAKE_GCS_SERVER, progress).then(async (gcs) => ({ gcs, promtool: await ensureGoTool(PROMTOOL, progress) }));
  const [built, chromium] = await Promise.all([goTools, ensureChromium(progress)]);
  return { ...built, chromium };
}
