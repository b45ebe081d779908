/**
 * npm run deploy [-- --plan] [-- --project <id>]: builds the functions and runs Terraform on a
 * Google Cloud project. Before anything, it checks what a deploy needs — terraform, a project,
 * credentials, the secrets the deployment cannot run without — and when something is missing
 * stops with one message that names all of it.
 *
 * Secret values come from terraform/terraform.tfvars.json (`{"secret_values": {…}}`, ignored by
 * git) or TF_VAR_secret_values; never from this repository.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REQUIRED_SECRETS } from '../triggers/manifest.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..');
const TERRAFORM = join(ROOT, 'terraform');
const SECRETS_FILE = join(TERRAFORM, 'terraform.tfvars.json');

export interface DeployCheck {
  readonly missing: string[];
  readonly project: string | undefined;
}

function argValue(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function secretNamesGiven(env: NodeJS.ProcessEnv): string[] {
  const sources = [env.TF_VAR_secret_values, existsSync(SECRETS_FILE) ? (JSON.parse(readFileSync(SECRETS_FILE, 'utf8')) as { secret_values?: unknown }).secret_values : undefined];
  return sources.flatMap((source) => {
    const values = typeof source === 'string' ? (JSON.parse(source) as unknown) : source;
    return values && typeof values === 'object' ? Object.keys(values) : [];
  });
}

function hasCredentials(env: NodeJS.ProcessEnv): boolean {
  if (env.GOOGLE_OAUTH_ACCESS_TOKEN) return true;
  if (env.GOOGLE_APPLICATION_CREDENTIALS) return existsSync(env.GOOGLE_APPLICATION_CREDENTIALS);
  const configDir = env.CLOUDSDK_CONFIG ?? join(env.HOME ?? homedir(), '.config', 'gcloud');
  return existsSync(join(configDir, 'application_default_credentials.json'));
}

/** Everything a deploy needs that is not there, in the order a newcomer would fix it. */
export function checkDeploy(args: readonly string[], env: NodeJS.ProcessEnv): DeployCheck {
  const missing: string[] = [];
  if (spawnSync('terraform', ['version'], { stdio: 'ignore' }).error) missing.push('terraform is not installed (https://developer.hashicorp.com/terraform/install, 1.9 or later)');
  const project = argValue(args, '--project') ?? env.GOOGLE_CLOUD_PROJECT;
  if (!project) missing.push('no project: pass --project <id> or set GOOGLE_CLOUD_PROJECT');
  if (!hasCredentials(env)) missing.push('no Google Cloud credentials: run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a key file');
  const given = secretNamesGiven(env);
  const absent = REQUIRED_SECRETS.filter((name) => !given.includes(name));
  if (absent.length > 0) missing.push(`no value for the secrets ${absent.join(', ')}: put them in terraform/terraform.tfvars.json as {"secret_values": {"${absent[0]}": "…"}} (ignored by git) or in TF_VAR_secret_values`);
  return { missing, project };
}

function run(command: string, args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, stdio: 'inherit' });
    child.on('exit', (code) => (code === 0 ? resolvePromise() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const { missing, project } = checkDeploy(args, process.env);
  if (missing.length > 0) {
    process.stderr.write(`npm run deploy cannot start:\n${missing.map((m) => `  - ${m}`).join('\n')}\n`);
    process.exit(2);
  }
  process.stderr.write('[1/3] building the functions…\n');
  await run(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'build.ts')], ROOT);
  process.stderr.write('[2/3] terraform init…\n');
  await run('terraform', ['init', '-input=false'], TERRAFORM);
  const plan = args.includes('--plan');
  process.stderr.write(`[3/3] terraform ${plan ? 'plan' : 'apply'} on ${project}…\n`);
  await run('terraform', [plan ? 'plan' : 'apply', '-input=false', `-var=project_id=${project}`], TERRAFORM);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
}
