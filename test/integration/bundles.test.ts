import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../triggers/manifest.js';
import { type BuiltFunction, buildFunctions } from '../../scripts/build.js';
import { freePort } from '../../scripts/lib/ports.js';
import { isolatedProject, waitUntil } from '../support/stack.js';

/** `npm run build` output, started the way Cloud Functions starts it: functions-framework on the bundle folder. */

const OUT = join(process.cwd(), 'dist', `.test-${process.pid}`);
const FRAMEWORK = join(process.cwd(), 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');
isolatedProject('bundles');
let built: BuiltFunction[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  built = await buildFunctions(OUT);
}, 120_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await rm(OUT, { recursive: true, force: true });
});

async function start(fn: BuiltFunction, env: Record<string, string> = {}): Promise<string> {
  const port = await freePort();
  const child = spawn(process.execPath, [FRAMEWORK, `--source=${fn.folder}`, `--target=${fn.entryPoint}`, `--port=${port}`], {
    env: { ...process.env, SIGNAL_INTAKE_TOKENS: 'bundle-test-token-0123456789', ...env },
    stdio: 'ignore',
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(`${fn.name} listening`, async () => {
    if (child.exitCode !== null) throw new Error(`${fn.name} exited with ${child.exitCode}`);
    return fetch(url, { method: 'OPTIONS' }).then(() => true, () => false);
  });
  return url;
}

describe('npm run build', () => {
  it('makes one bundle per function, with a content-hashed zip and the externals listed', async () => {
    expect(built.map((b) => b.name)).toEqual(FUNCTIONS.map((f) => f.name));
    for (const fn of built) {
      expect(fn.zip).toMatch(new RegExp(`${fn.name}-[0-9a-f]{12}\\.zip$`));
      expect(existsSync(fn.zip)).toBe(true);
      const pkg = JSON.parse(await readFile(join(fn.folder, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; type: string };
      expect(pkg.type).toBe('module');
      expect(Object.keys(pkg.dependencies)).toContain('@google-cloud/functions-framework');
      const code = await readFile(join(fn.folder, 'index.js'), 'utf8');
      // The client libraries are imported, not inlined.
      expect(code).not.toMatch(/google-gax\/build|@grpc\/grpc-js\/build/);
    }
  });

  it('builds the same zip from the same code', async () => {
    const again = await buildFunctions(OUT);
    expect(again.map((b) => b.zip)).toEqual(built.map((b) => b.zip));
  }, 60_000);

  it('starts each bundle with functions-framework and gets an answer', async () => {
    for (const fn of built) {
      const url = await start(fn);
      const trigger = FUNCTIONS.find((f) => f.name === fn.name)?.triggers[0];
      // A request each function must refuse cleanly: unauthenticated, malformed, or the wrong method.
      const probe =
        trigger?.kind === 'http'
          ? fetch(`${url}${(trigger.routes.find((r) => r.startsWith('POST')) as string).split(' ')[1]?.replace(/\{\w+\}/, 'nobody')}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
          : trigger?.kind === 'schedule'
            ? fetch(url, { method: 'GET' })
            : fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      const response = await probe;
      const expected = trigger?.kind === 'http' ? 401 : trigger?.kind === 'schedule' ? 405 : 400;
      expect({ name: fn.name, status: response.status }).toEqual({ name: fn.name, status: expected });
    }
  }, 60_000);

  it('deployed (INVOKER_SERVICE_ACCOUNT set), a push function refuses a call without the invoker OIDC token', async () => {
    const fn = built.find((b) => b.name === 'margin-reservation') as BuiltFunction;
    const url = await start(fn, { INVOKER_SERVICE_ACCOUNT: 'sapphire-invoker@sapphire-prod.iam.gserviceaccount.com' });
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(401);
  }, 30_000);
});
