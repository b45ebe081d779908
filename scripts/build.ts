/**
 * npm run build — one deployable bundle per function in triggers/manifest.ts:
 *   dist/functions/<name>/index.js + package.json   (the deployable folder)
 *   dist/<name>-<content hash>.zip                  (the same, zipped for upload)
 * functions-framework and the Google client libraries stay external (bundling them breaks
 * their protos and native bits) and are listed in each bundle's generated package.json.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isBuiltin } from 'node:module';
import { build, type Metafile } from 'esbuild';
import { zipSync } from 'fflate';
import { FUNCTIONS, type FunctionSpec, HOLDING_SUBSCRIPTIONS, REQUIRED_SECRETS, SECRETS, TOPICS, projectRolesFor } from '../triggers/manifest.js';
import { loadConfig } from '../shared/config.js';
import { monitoredMetricDescriptors } from '../shared/ops/metrics.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// prom-client too: only ops-api's /metrics loads it, on demand, so its code stays out of every
// bundle a cold start parses.
const EXTERNAL = ['@google-cloud/*', 'google-gax', '@grpc/*', 'protobufjs', 'google-auth-library', 'express', 'prom-client'];
// Zip entries carry this date so the same code always gives the same bytes and hash.
const FIXED_MTIME = new Date('2020-01-01T00:00:00Z');

export interface BuiltFunction {
  readonly name: string;
  readonly entryPoint: string;
  readonly folder: string;
  readonly zip: string;
  readonly bytes: number;
  readonly dependencies: Record<string, string>;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

async function installedVersion(pkg: string, declared: Record<string, string>): Promise<string> {
  const fromRoot = declared[pkg];
  if (fromRoot) return fromRoot;
  const manifest = JSON.parse(await readFile(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

async function externalImports(metafile: Metafile): Promise<string[]> {
  const names = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) {
      // Node's own modules (`cluster`, `node:fs`) are no packages to install.
      if (imported.external && !isBuiltin(imported.path)) names.add(packageName(imported.path));
    }
  }
  return [...names].sort();
}

async function buildOne(spec: FunctionSpec, outDir: string, declared: Record<string, string>): Promise<BuiltFunction> {
  const folder = join(outDir, 'functions', spec.name);
  await rm(folder, { recursive: true, force: true });
  const result = await build({
    entryPoints: [join(ROOT, 'functions', spec.name, 'index.ts')],
    outfile: join(folder, 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNAL,
    metafile: true,
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    // zod is most of each bundle; minified, cold starts parse less. Names stay for stack traces.
    minify: true,
    keepNames: true,
    logLevel: 'warning',
    // Bundled CommonJS code may call require(); give ESM output one.
    banner: { js: "import { createRequire as __sapphireRequire } from 'node:module'; const require = __sapphireRequire(import.meta.url);" },
  });
  const dependencies: Record<string, string> = {};
  for (const pkg of await externalImports(result.metafile)) dependencies[pkg] = await installedVersion(pkg, declared);
  dependencies['@google-cloud/functions-framework'] = await installedVersion('@google-cloud/functions-framework', declared);
  const packageJson = {
    name: `sapphire-${spec.name}`,
    version: '1.0.0',
    private: true,
    type: 'module',
    main: 'index.js',
    engines: { node: '>=20' },
    scripts: { start: `functions-framework --target=${spec.entryPoint}` },
    dependencies: Object.fromEntries(Object.entries(dependencies).sort()),
  };
  await writeFile(join(folder, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);

  const files: Record<string, [Uint8Array, { mtime: Date }]> = {};
  for (const file of (await readdir(folder)).sort()) files[file] = [await readFile(join(folder, file)), { mtime: FIXED_MTIME }];
  const zip = zipSync(files, { level: 9 });
  const hash = createHash('sha256').update(zip).digest('hex').slice(0, 12);
  for (const old of await readdir(outDir)) {
    if (old.startsWith(`${spec.name}-`) && old.endsWith('.zip')) await rm(join(outDir, old));
  }
  const zipPath = join(outDir, `${spec.name}-${hash}.zip`);
  await writeFile(zipPath, zip);
  return { name: spec.name, entryPoint: spec.entryPoint, folder, zip: zipPath, bytes: zip.length, dependencies };
}

/** What Terraform reads of triggers/manifest.ts: terraform/triggers.json, committed, kept in sync by a test. */
/** The guardrails' thresholds as the functions apply them by default: the alert policies watch the same. */
function riskThresholds(): { portfolioDrawdownPct: number; utilizationRatio: number } {
  const defaults = loadConfig({ GOOGLE_CLOUD_PROJECT: 'sapphire-build' });
  return { portfolioDrawdownPct: defaults.RISK_PORTFOLIO_DRAWDOWN_HALT_FRACTION * 100, utilizationRatio: defaults.RISK_UTILIZATION_WARN_FRACTION };
}

export function terraformManifest(): string {
  return `${JSON.stringify(
    {
      topics: Object.values(TOPICS),
      // Each function with the project roles its needs give: Terraform grants exactly these.
      functions: FUNCTIONS.map((f) => ({ ...f, projectRoles: projectRolesFor(f.needs) })),
      holdingSubscriptions: HOLDING_SUBSCRIPTIONS,
      secrets: SECRETS,
      requiredSecrets: REQUIRED_SECRETS,
      customMetrics: monitoredMetricDescriptors(),
      riskThresholds: riskThresholds(),
    },
    null,
    2,
  )}\n`;
}

export async function buildFunctions(outDir = join(ROOT, 'dist')): Promise<BuiltFunction[]> {
  await mkdir(outDir, { recursive: true });
  const root = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const built: BuiltFunction[] = [];
  for (const spec of FUNCTIONS) built.push(await buildOne(spec, outDir, root.dependencies));
  return built;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  await writeFile(join(ROOT, 'terraform', 'triggers.json'), terraformManifest());
  for (const fn of await buildFunctions()) {
    process.stdout.write(
      `built ${fn.name.padEnd(20)} ${relative(ROOT, fn.zip).padEnd(44)} ${(fn.bytes / 1024).toFixed(0).padStart(5)} KiB  externals: ${Object.keys(fn.dependencies).join(', ')}\n`,
    );
  }
  process.stdout.write(`wrote terraform/triggers.json; done in ${Date.now() - started} ms\n`);
}
