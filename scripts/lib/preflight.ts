import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAKE_GCS_SERVER, type GoTool, PROMTOOL, goToolPath } from './tools.js';

/**
 * What `npm test` and `npm start` need from the machine before they start anything, checked in
 * a few seconds and reported in one block: each missing piece with the command that installs it.
 * Everything else (the npm packages, the Go tools, Chromium, the containers' venv) the commands
 * fetch themselves from the registries.
 */

export type PreflightFor = 'test' | 'start';

/** What the machine answered, gathered by `probeMachine` (or made up by a test). */
export interface MachineFacts {
  readonly node: string;
  /** `java -version`'s output, `go version`'s, `python3 --version`'s; undefined when the command is missing. */
  readonly java?: string;
  readonly go?: string;
  readonly python?: string;
  /** `gcloud version --format=json`: component → version; undefined when gcloud is missing. */
  readonly gcloudComponents?: Readonly<Record<string, string>>;
  /** Free bytes where containers/.venv goes. */
  readonly freeBytes: number;
  /** Whether containers/.venv exists (then the disk space is not needed again). */
  readonly venvReady: boolean;
  /** The Go tools already built into .cache/bin (Go is needed only to build the others). */
  readonly builtGoTools: readonly string[];
  readonly nodeModulesReady: boolean;
}

export interface Missing {
  readonly what: string;
  readonly install: string;
}

/** The first "major.minor" in a tool's version text (Java 17 prints "17.0.15", Go "go1.26.8"). */
export function versionIn(text: string | undefined, pattern: RegExp): [number, number] | undefined {
  const match = text === undefined ? null : pattern.exec(text);
  return match ? [Number(match[1]), Number(match[2] ?? 0)] : undefined;
}

function atLeast(version: [number, number] | undefined, major: number, minor = 0): boolean {
  return version !== undefined && (version[0] > major || (version[0] === major && version[1] >= minor));
}

/** The venv's first install: torch and its CUDA libraries, with room to unpack them. */
export const VENV_BYTES = 5 * 1024 ** 3;

/** The Go programs each command runs: the Cloud Storage emulator, and promtool for the tests. */
export function goToolsFor(kind: PreflightFor): readonly GoTool[] {
  return kind === 'test' ? [FAKE_GCS_SERVER, PROMTOOL] : [FAKE_GCS_SERVER];
}

/** Every prerequisite `kind` needs that the facts show missing, in the README's order. */
export function missingPrerequisites(facts: MachineFacts, kind: PreflightFor): Missing[] {
  const missing: Missing[] = [];
  const need = (ok: boolean, what: string, install: string) => {
    if (!ok) missing.push({ what, install });
  };
  need(atLeast(versionIn(facts.node, /^v?(\d+)\.(\d+)/), 20), `Node.js 20 or later (this is ${facts.node})`, 'install Node.js 20 LTS (https://nodejs.org or your distribution)');
  need(facts.nodeModulesReady, 'the npm packages', 'npm ci');
  need(
    atLeast(versionIn(facts.java, /version "(\d+)(?:\.(\d+))?/), 17),
    facts.java === undefined ? 'Java 17 or later (the emulators run on it)' : `Java 17 or later (found ${facts.java.split('\n')[0]})`,
    'apt-get install openjdk-17-jre-headless',
  );
  const components = facts.gcloudComponents;
  need(components !== undefined, 'the gcloud CLI', 'install the Google Cloud CLI: https://cloud.google.com/sdk/docs/install');
  if (components) {
    for (const [component, debianPackage] of [
      ['cloud-firestore-emulator', 'google-cloud-cli-firestore-emulator'],
      ['pubsub-emulator', 'google-cloud-cli-pubsub-emulator'],
      ['beta', 'google-cloud-cli'],
    ] as const) {
      need(component in components, `gcloud's ${component} component`, `gcloud components install ${component} (or apt-get install ${debianPackage})`);
    }
  }
  const unbuilt = goToolsFor(kind).filter((tool) => !facts.builtGoTools.includes(tool.name));
  if (unbuilt.length > 0) {
    need(
      atLeast(versionIn(facts.go, /go(\d+)\.(\d+)/), 1, 22),
      `Go 1.22 or later (builds ${unbuilt.map((tool) => tool.name).join(' and ')} once, from the Go module proxy)`,
      'install Go 1.22+ (https://go.dev/doc/install)',
    );
  }
  if (kind === 'test') {
    need(
      atLeast(versionIn(facts.python, /Python (\d+)\.(\d+)/), 3, 11),
      'Python 3.11 or later (the containers\' tests; SAPPHIRE_PYTHON names another interpreter)',
      'apt-get install python3 python3-venv',
    );
    need(
      facts.venvReady || facts.freeBytes >= VENV_BYTES,
      `${(VENV_BYTES / 1024 ** 3).toFixed(0)} GB free for containers/.venv (${(facts.freeBytes / 1024 ** 3).toFixed(1)} GB free)`,
      'free disk space where the repository lives',
    );
  }
  return missing;
}

/** The one block printed when something is missing. */
export function preflightReport(missing: readonly Missing[], kind: PreflightFor): string {
  const lines = [`npm ${kind} cannot run on this machine yet; missing:`];
  for (const { what, install } of missing) lines.push(`  - ${what}`, `      ${install}`);
  lines.push('See README, "Two commands".');
  return lines.join('\n');
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A command's output (stdout and stderr), or undefined when it is missing or fails. */
function output(command: string, args: readonly string[]): Promise<string | undefined> {
  return new Promise((resolveOutput) => {
    let text = '';
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' } });
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.on('error', () => resolveOutput(undefined));
    child.on('close', (code) => resolveOutput(code === 0 ? text.trim() : undefined));
  });
}

export async function probeMachine(): Promise<MachineFacts> {
  const [java, go, python, gcloud, disk] = await Promise.all([
    output('java', ['-version']),
    output('go', ['version']),
    output(process.env.SAPPHIRE_PYTHON ?? 'python3', ['--version']),
    output('gcloud', ['version', '--format=json']),
    statfs(ROOT),
  ]);
  let gcloudComponents: Record<string, string> | undefined;
  try {
    gcloudComponents = gcloud === undefined ? undefined : (JSON.parse(gcloud.slice(gcloud.indexOf('{'))) as Record<string, string>);
  } catch {
    gcloudComponents = undefined;
  }
  return {
    node: process.version,
    java,
    go,
    python,
    gcloudComponents,
    freeBytes: Number(disk.bavail) * Number(disk.bsize),
    venvReady: existsSync(join(ROOT, 'containers', '.venv', '.sapphire-requirements.sha256')),
    builtGoTools: [FAKE_GCS_SERVER, PROMTOOL].filter((tool) => existsSync(goToolPath(tool))).map((tool) => tool.name),
    nodeModulesReady: existsSync(join(ROOT, 'node_modules', '.package-lock.json')),
  };
}

/** Checks the machine for `kind`; prints the block and exits 1 when something is missing. */
export async function preflight(kind: PreflightFor): Promise<void> {
  const missing = missingPrerequisites(await probeMachine(), kind);
  if (missing.length === 0) return;
  process.stderr.write(`${preflightReport(missing, kind)}\n`);
  process.exit(1);
}
