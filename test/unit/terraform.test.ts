import { spawnSync } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { describe, expect, it } from 'vitest';
import { terraformManifest } from '../../scripts/build.js';
import { loadConfig } from '../../shared/config.js';

/** Terraform cannot download its providers here: its HCL is checked by parsing it. */

const DIR = join(process.cwd(), 'terraform');

type Hcl = { resource: Record<string, Record<string, Record<string, unknown>[]>>; locals: Record<string, unknown>[] };

async function hcl(): Promise<Hcl> {
  const merged: Hcl = { resource: {}, locals: [] };
  for (const file of (await readdir(DIR)).filter((f) => f.endsWith('.tf'))) {
    const parsed = (await parse(file, await readFile(join(DIR, file), 'utf8'))) as Partial<Hcl>;
    for (const [type, byName] of Object.entries(parsed.resource ?? {})) merged.resource[type] = { ...merged.resource[type], ...byName };
    merged.locals.push(...(parsed.locals ?? []));
  }
  return merged;
}

describe('terraform/', () => {
  it('reads the trigger manifest that triggers/manifest.ts makes (npm run build writes it)', async () => {
    expect(await readFile(join(DIR, 'triggers.json'), 'utf8')).toBe(terraformManifest());
  });

  it('is formatted (terraform fmt)', () => {
    const run = spawnSync('terraform', ['fmt', '-check', '-recursive', DIR], { encoding: 'utf8' });
    if (run.error) {
      process.stdout.write('terraform is not installed: formatting not checked\n');
      return;
    }
    expect(run.stdout).toBe('');
    expect(run.status).toBe(0);
  });

  it('deploys every function, topic, push subscription and schedule from the manifest', async () => {
    const { resource } = await hcl();
    for (const type of [
      'google_cloudfunctions2_function',
      'google_pubsub_topic',
      'google_pubsub_subscription',
      'google_cloud_scheduler_job',
      'google_secret_manager_secret',
      'google_monitoring_alert_policy',
      'google_firestore_database',
    ]) {
      expect(resource[type], type).toBeDefined();
    }
    const fn = resource.google_cloudfunctions2_function?.fn?.[0] as { for_each: string };
    expect(fn.for_each).toContain('local.functions');
    const push = resource.google_pubsub_subscription?.push?.[0] as { push_config: { oidc_token: unknown[] }[]; dead_letter_policy: unknown[]; retry_policy: unknown[] };
    // Push subscriptions carry OIDC tokens, a retry policy and a dead-letter topic.
    expect(push.push_config[0]?.oidc_token).toHaveLength(1);
    expect(push.dead_letter_policy).toHaveLength(1);
    expect(push.retry_policy).toHaveLength(1);
  });

  it('provisions training: the image registry, a versioned bucket with lifecycle rules, an endpoint per agent, a trainer account and staggered per-agent schedules', async () => {
    const { resource } = await hcl();
    for (const type of ['google_artifact_registry_repository', 'google_vertex_ai_endpoint', 'google_storage_bucket_iam_member', 'google_service_account_iam_member']) {
      expect(resource[type], type).toBeDefined();
    }
    const bucket = resource.google_storage_bucket?.training?.[0] as { uniform_bucket_level_access: boolean; versioning: { enabled: boolean }[]; lifecycle_rule: unknown[] };
    expect(bucket.uniform_bucket_level_access).toBe(true);
    expect(bucket.versioning[0]?.enabled).toBe(true);
    expect(bucket.lifecycle_rule).toHaveLength(2);
    expect(resource.google_service_account?.trainer).toBeDefined();
    const jobs = resource.google_cloud_scheduler_job?.schedule?.[0] as { for_each: string };
    expect(jobs.for_each).toContain('local.scheduled_jobs');
    const { locals } = await hcl();
    expect(JSON.stringify(locals.find((l) => 'per_agent_schedules' in l))).toContain('staggerMinutes');
  });

  it('gives every secret-bearing variable of the configuration a Secret Manager secret', async () => {
    const { locals } = await hcl();
    const secretEnv = JSON.stringify(locals.find((l) => 'secret_env' in l));
    for (const name of ['SIGNAL_INTAKE_TOKENS', 'TRADINGVIEW_SOURCE_SECRETS', 'BROKER_WEBHOOK_SECRETS', 'OPS_API_TOKENS', 'ALERT_DESTINATIONS', 'MONITORING_WEBHOOK_TOKEN', 'EXCHANGE_API_KEY', 'EXCHANGE_API_SECRET', 'EXCHANGE_ACCOUNTS']) {
      expect(secretEnv).toContain(name);
    }
    // and every plain variable Terraform sets is one the configuration knows.
    const known = Object.keys(loadConfig({ GOOGLE_CLOUD_PROJECT: 'sapphire-test' }));
    for (const name of ['GOOGLE_CLOUD_PROJECT', 'ENABLE_PAPER_TRADING', 'ENABLE_VERTEX_AI', 'VERTEX_LOCATION', 'VERTEX_ENDPOINTS']) expect(known).toContain(name);
    const trainingEnv = JSON.stringify(locals.find((l) => 'training_env' in l));
    const withTraining = Object.keys(loadConfig({ GOOGLE_CLOUD_PROJECT: 'sapphire-test', TRAINING_BUCKET: 'b-training', TRAINER_SERVICE_ACCOUNT: 't@sapphire-test.iam.gserviceaccount.com' }));
    for (const name of ['TRAINING_BUCKET', 'TRAINING_LOCATION', 'TRAINER_IMAGE_URI', 'LLM_SERVING_IMAGE_URI', 'LAGLLAMA_SERVING_IMAGE_URI', 'TRAINER_SERVICE_ACCOUNT']) {
      expect(trainingEnv).toContain(name);
      expect(withTraining).toContain(name);
    }
  });

  it('watches the guardrails themselves: evaluator silence, dead letters, 5xx and error logs, venue errors, failed training', async () => {
    const { resource } = await hcl();
    const policies = resource.google_monitoring_alert_policy ?? {};
    for (const name of ['evaluator_silent', 'dead_letters', 'function_errors', 'venue_errors', 'training_failed']) {
      const policy = policies[name]?.[0] as { notification_channels: string } | undefined;
      expect(policy, name).toBeDefined();
      // Routed where the drawdown and margin policies go.
      expect(policy?.notification_channels).toBe('${local.channels}');
    }
    const silent = policies.evaluator_silent?.[0] as { conditions: { condition_absent: { duration: string; filter: string }[] }[] };
    expect(silent.conditions[0]?.condition_absent[0]).toMatchObject({ duration: '180s', filter: expect.stringContaining('custom.googleapis.com/portfolio_drawdown_pct') });
  });

  it('builds its log-based metrics from lines and fields the code writes', async () => {
    const { locals } = await hcl();
    const metrics = locals.find((l) => 'latency_metrics' in l) as {
      latency_metrics: Record<string, { message: string; field: string }>;
      event_metrics: Record<string, { filter: string }>;
    };
    const sources = await sourcesUnder(['shared', 'functions']);
    for (const [name, { message, field }] of Object.entries(metrics.latency_metrics)) {
      // The message is logged somewhere, and that call (or what it spreads) carries the field.
      const call = sources.find((text) => text.includes(`'${message}'`));
      expect(call, `${name}: no line logs '${message}'`).toBeDefined();
      expect(sources.some((text) => text.includes(`'${message}'`) && new RegExp(`\\b${field}\\b`).test(text)), `${name}: ${field}`).toBe(true);
    }
    for (const [name, { filter }] of Object.entries(metrics.event_metrics)) {
      const messages = [...filter.matchAll(/"([^"]+)"/g)].map((m) => m[1] as string);
      expect(messages.length, name).toBeGreaterThan(0);
      for (const message of messages) expect(sources.some((text) => text.includes(`'${message}'`)), `${name}: '${message}'`).toBe(true);
    }
  });
});

async function sourcesUnder(dirs: readonly string[]): Promise<string[]> {
  const texts: string[] = [];
  for (const dir of dirs) {
    for (const entry of await readdir(join(process.cwd(), dir), { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith('.ts')) texts.push(await readFile(join(entry.parentPath, entry.name), 'utf8'));
    }
  }
  return texts;
}
