/**
 * npm run test:containers [-- pytest args] — the Python tests of containers/ (the Vertex AI
 * training and serving images), on CPU, in one virtual environment: containers/.venv.
 *
 * ensurePythonEnv() makes sure the environment exists and holds containers/requirements-test.txt:
 * it creates it with `python3 -m venv` when missing (SAPPHIRE_PYTHON names another interpreter,
 * 3.11 or later), and runs pip only when the requirements changed since the last install (a
 * sha256 of requirements-test.txt and every file it includes with -r, stamped inside the venv).
 * The first install downloads about 3 GB (torch from PyPI brings its CUDA libraries). A lock
 * directory keeps two processes (vitest workers, two terminals) from installing at once. It also
 * puts the images' package folders on the environment's path, so that
 * `containers/.venv/bin/python -m sapphire_lagllama_serving` works from any directory.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CONTAINERS = join(ROOT, 'containers');
const VENV = join(CONTAINERS, '.venv');
const REQUIREMENTS = join(CONTAINERS, 'requirements-test.txt');
const STAMP = join(VENV, '.sapphire-requirements.sha256');
const LOCK = join(CONTAINERS, '.venv.lock');
/** The folders holding the images' Python packages (see containers/README.md). */
const PACKAGE_DIRS = ['common', 'trainer', 'lagllama-serving', 'llm-serving'];
const LOCK_TIMEOUT_MS = 30 * 60_000;

/** The virtual environment's interpreter. */
export const VENV_PYTHON = join(VENV, 'bin', 'python');

const log = (text: string) => process.stderr.write(`[python-env] ${text}\n`);

function run(command: string, args: readonly string[], cwd: string): Promise<number> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { cwd, stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code, signal) => resolveRun(code ?? (signal ? 128 : 1)));
  });
}

function capture(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolveCapture, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolveCapture(output.trim()) : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`)),
    );
  });
}

/** sha256 over a requirements file and, in order, every file it includes with -r or -c. */
export async function requirementsDigest(file: string = REQUIREMENTS): Promise<string> {
  const hash = createHash('sha256');
  const visit = async (path: string, seen: Set<string>): Promise<void> => {
    if (seen.has(path)) return;
    seen.add(path);
    const text = await readFile(path, 'utf8');
    hash.update(`${relative(CONTAINERS, path)}\0${text}\0`);
    for (const line of text.split('\n')) {
      const include = /^\s*-[rc]\s+(\S+)/.exec(line)?.[1] ?? /^\s*--(?:requirement|constraint)[=\s]+(\S+)/.exec(line)?.[1];
      if (include) await visit(resolve(dirname(path), include), seen);
    }
  };
  await visit(file, new Set());
  return hash.digest('hex');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs `work` while holding containers/.venv.lock (a directory: mkdir is atomic). */
async function withLock<T>(work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  let announced = false;
  for (;;) {
    try {
      await mkdir(LOCK);
      await writeFile(join(LOCK, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(await readFile(join(LOCK, 'pid'), 'utf8').catch(() => ''));
      if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
        await rm(LOCK, { recursive: true, force: true }); // left by a process that died
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${LOCK} is still held after ${LOCK_TIMEOUT_MS / 60_000} minutes`);
      if (!announced) log('another process is preparing containers/.venv; waiting for it');
      announced = true;
      await new Promise((wait) => setTimeout(wait, 1_000));
    }
  }
  try {
    return await work();
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
}

async function prepare(): Promise<string> {
  if (!existsSync(VENV_PYTHON)) {
    const python = process.env.SAPPHIRE_PYTHON ?? 'python3';
    const version = await capture(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])']);
    const [major = 0, minor = 0] = version.split('.').map(Number);
    if (major < 3 || (major === 3 && minor < 11))
      throw new Error(`${python} is Python ${version}; containers/ needs 3.11 or later (set SAPPHIRE_PYTHON)`);
    log(`creating containers/.venv with ${python} (Python ${version})`);
    const code = await run(python, ['-m', 'venv', VENV], ROOT);
    if (code !== 0) throw new Error(`${python} -m venv exited with ${code}`);
  }
  const digest = await requirementsDigest();
  const stamped = (await readFile(STAMP, 'utf8').catch(() => '')).trim();
  if (stamped !== digest) {
    log(
      stamped
        ? 'containers/requirements changed: reinstalling'
        : 'installing containers/requirements-test.txt (the first time downloads ~3 GB)',
    );
    const started = Date.now();
    await rm(STAMP, { force: true });
    const code = await run(VENV_PYTHON, ['-m', 'pip', 'install', '--disable-pip-version-check', '-r', REQUIREMENTS], CONTAINERS);
    if (code !== 0) throw new Error(`pip install exited with ${code}`);
    await writeFile(STAMP, `${digest}\n`);
    log(`installed in ${Math.round((Date.now() - started) / 1000)} s`);
  }
  const sitePackages = await capture(VENV_PYTHON, ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])']);
  await writeFile(join(sitePackages, 'sapphire-containers.pth'), PACKAGE_DIRS.map((dir) => join(CONTAINERS, dir)).join('\n') + '\n');
  return VENV_PYTHON;
}

let ready: Promise<string> | undefined;

/** Makes containers/.venv ready (see the top of this file); resolves to its python. */
export function ensurePythonEnv(): Promise<string> {
  ready ??= withLock(prepare).catch((error: unknown) => {
    ready = undefined;
    throw error;
  });
  return ready;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const python = await ensurePythonEnv();
    log(`${relative(ROOT, python)} -m pytest -q containers ${process.argv.slice(2).join(' ')}`.trimEnd());
    process.exit(await run(python, ['-m', 'pytest', '-q', 'containers', ...process.argv.slice(2)], ROOT));
  } catch (error) {
    log((error as Error).message);
    process.exit(1);
  }
}
