import { spawnSync } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { describe, expect, it } from 'vitest';
import { terraformManifest } from '../../scripts/build.js';
import { FUNCTIONS, SECRETS, projectRolesFor } from '../../triggers/manifest.js';
import { MONITORED_METRIC_LABELS, monitoredMetricDescriptors } from '../../shared/ops/metrics.js';
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
    expect(JSON.stringify(locals.find((l) => 'secret_env' in l))).toContain('local.manifest.secrets');
    for (const name of ['SIGNAL_INTAKE_TOKENS', 'TRADINGVIEW_SOURCE_SECRETS', 'BROKER_WEBHOOK_SECRETS', 'OPS_API_TOKENS', 'ALERT_DESTINATIONS', 'MONITORING_WEBHOOK_TOKEN', 'EXCHANGE_API_KEY', 'EXCHANGE_API_SECRET', 'EXCHANGE_ACCOUNTS']) {
      expect(SECRETS).toContain(name);
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

/** Resource types and the API each needs: every one used must be in the enabled list. */
const API_OF: readonly [RegExp, string][] = [
  [/^google_cloudfunctions2_/, 'cloudfunctions.googleapis.com'],
  [/^google_cloud_run_/, 'run.googleapis.com'],
  [/^google_pubsub_/, 'pubsub.googleapis.com'],
  [/^google_firestore_/, 'firestore.googleapis.com'],
  [/^google_cloud_scheduler_/, 'cloudscheduler.googleapis.com'],
  [/^google_secret_manager_/, 'secretmanager.googleapis.com'],
  [/^google_vertex_ai_/, 'aiplatform.googleapis.com'],
  [/^google_monitoring_/, 'monitoring.googleapis.com'],
  [/^google_logging_/, 'logging.googleapis.com'],
  [/^google_storage_/, 'storage.googleapis.com'],
  [/^google_artifact_registry_/, 'artifactregistry.googleapis.com'],
  [/^google_service_account/, 'iam.googleapis.com'],
  [/^google_project_iam_/, 'cloudresourcemanager.googleapis.com'],
];

type Block = Record<string, unknown>;
const REFERENCE = /\b(google_[a-z0-9_]+)\.([a-z0-9_]+)\b|\blocal\.([a-z0-9_]+)\b/g;

describe('a first terraform apply on an empty project', () => {
  it('enables every API the resources use, and every resource waits for them', async () => {
    const { resource, locals } = await hcl();
    const apis = JSON.stringify(resource.google_project_service?.apis);
    for (const type of Object.keys(resource)) {
      const api = API_OF.find(([pattern]) => pattern.test(type))?.[1];
      if (type === 'google_project_service') continue;
      expect(api, `no API known for ${type}`).toBeDefined();
      expect(apis, `${type} needs ${api}`).toContain(api as string);
    }
    // Each resource reaches google_project_service.apis through depends_on or what it references.
    const localRefs = new Map<string, string>();
    for (const block of locals) for (const [name, value] of Object.entries(block)) localRefs.set(name, JSON.stringify(value));
    const refsOf = (text: string, seen = new Set<string>()): string[] =>
      [...text.matchAll(REFERENCE)].flatMap((m) => {
        if (m[3] === undefined) return [`${m[1]}.${m[2]}`];
        if (seen.has(m[3])) return [];
        seen.add(m[3]);
        return refsOf(localRefs.get(m[3]) ?? '', seen);
      });
    const waits = new Map<string, boolean>();
    const reaches = (address: string, path: Set<string>): boolean => {
      if (address === 'google_project_service.apis') return true;
      if (waits.has(address)) return waits.get(address) as boolean;
      const [type, name] = address.split('.') as [string, string];
      const block = resource[type]?.[name]?.[0];
      if (!block || path.has(address)) return false;
      path.add(address);
      const result = refsOf(JSON.stringify(block)).some((ref) => reaches(ref, path));
      waits.set(address, result);
      return result;
    };
    const stragglers = Object.entries(resource)
      .filter(([type]) => type !== 'google_project_service')
      .flatMap(([type, byName]) => Object.keys(byName).map((name) => `${type}.${name}`))
      .filter((address) => !reaches(address, new Set()));
    expect(stragglers).toEqual([]);
  });

  it('gives every custom metric a policy watches a descriptor, with the labels the code writes, before the policy', async () => {
    const { resource } = await hcl();
    const descriptors = new Map(monitoredMetricDescriptors().map((d) => [d.name, d.labels]));
    const policies = resource.google_monitoring_alert_policy ?? {};
    const watched = new Set<string>();
    for (const [name, [policy]] of Object.entries(policies)) {
      const metrics = [...JSON.stringify(policy).matchAll(/custom\.googleapis\.com\/([a-z0-9_]+)/g)].map((m) => m[1] as string);
      for (const metric of metrics) {
        watched.add(metric);
        expect(descriptors.has(metric), `${name} watches ${metric}`).toBe(true);
        expect(JSON.stringify((policy as Block).depends_on), `${name} waits for the descriptors`).toContain('google_monitoring_metric_descriptor.custom');
      }
    }
    expect(watched.size).toBeGreaterThan(0);
    const descriptor = resource.google_monitoring_metric_descriptor?.custom?.[0] as Block;
    expect(JSON.stringify(descriptor)).toContain('local.manifest.customMetrics');
    expect(descriptor).toMatchObject({ metric_kind: 'GAUGE', value_type: 'DOUBLE' });
    expect(Object.fromEntries(descriptors)).toEqual(MONITORED_METRIC_LABELS);
  });

  it('mounts each secret at a version this apply creates, and refuses to apply without the ones it cannot run without', async () => {
    const { resource } = await hcl();
    const fn = resource.google_cloudfunctions2_function?.fn?.[0] as Block;
    const text = JSON.stringify(fn);
    expect(text).toContain('google_secret_manager_secret_version.env[secret_environment_variables.value].version');
    expect(text).not.toContain('"latest"');
    expect(text).toContain('local.missing_secrets');
    const version = resource.google_secret_manager_secret_version?.env?.[0] as Block;
    expect(JSON.stringify(version)).toContain('var.secret_values');
    const variables = await readFile(join(DIR, 'variables.tf'), 'utf8');
    expect(variables).toMatch(/variable "secret_values" \{[^}]*sensitive\s*=\s*true/s);
  });

  it('builds with a service account of its own, holding the builder role', async () => {
    const { resource } = await hcl();
    expect(JSON.stringify(resource.google_cloudfunctions2_function?.fn)).toContain('google_service_account.build.id');
    expect(JSON.stringify(resource.google_project_iam_member?.build)).toContain('roles/cloudbuild.builds.builder');
  });

  it('makes the service-agent grants wait for their agents', async () => {
    const { resource } = await hcl();
    expect(JSON.stringify(resource.google_service_account_iam_member?.pubsub_token_creator?.[0])).toContain('google_pubsub_topic.topic');
    expect(JSON.stringify(resource.google_pubsub_topic_iam_member?.monitoring_publisher?.[0])).toContain('google_monitoring_notification_channel.pubsub');
  });

  it('never lets a subscription expire: holding subscriptions keep their dead letters', async () => {
    const { resource } = await hcl();
    for (const name of ['holding', 'push']) {
      const sub = resource.google_pubsub_subscription?.[name]?.[0] as { expiration_policy?: { ttl: string }[] };
      expect(sub.expiration_policy?.[0]?.ttl, name).toBe('');
    }
  });

  it('grants public invocation only to the members configured, allUsers by default', async () => {
    const { resource } = await hcl();
    const text = JSON.stringify(resource.google_cloud_run_service_iam_member?.public);
    expect(text).toContain('var.public_invoker_members');
    expect(text).not.toContain('"allUsers"');
    const variables = await readFile(join(DIR, 'variables.tf'), 'utf8');
    expect(variables).toMatch(/variable "public_invoker_members" \{[^}]*default\s*=\s*\["allUsers"\]/s);
  });
});

describe('one definition of the guardrails’ thresholds', () => {
  it('has the drawdown and utilization policies watch the thresholds the functions apply', async () => {
    const { resource } = await hcl();
    const manifest = JSON.parse(terraformManifest()) as { riskThresholds: { portfolioDrawdownPct: number; utilizationRatio: number } };
    const defaults = loadConfig({ GOOGLE_CLOUD_PROJECT: 'sapphire-test' });
    expect(manifest.riskThresholds).toEqual({ portfolioDrawdownPct: defaults.RISK_PORTFOLIO_DRAWDOWN_HALT_FRACTION * 100, utilizationRatio: defaults.RISK_UTILIZATION_WARN_FRACTION });
    expect(JSON.stringify(resource.google_monitoring_alert_policy?.portfolio_drawdown)).toContain('local.manifest.riskThresholds.portfolioDrawdownPct');
    expect(JSON.stringify(resource.google_monitoring_alert_policy?.margin_utilization)).toContain('local.manifest.riskThresholds.utilizationRatio');
    // The Prometheus rules, for teams that run their own, use the same numbers.
    const rules = await readFile(join(DIR, 'monitoring', 'prometheus', 'rules.yml'), 'utf8');
    expect(rules).toContain(`agent_margin_utilization_ratio > ${defaults.RISK_UTILIZATION_WARN_FRACTION}`);
    expect(rules).toContain(`portfolio_drawdown_pct > ${defaults.RISK_PORTFOLIO_DRAWDOWN_HALT_FRACTION * 100}`);
  });
});

describe('least privilege per function', () => {
  const manifest = JSON.parse(terraformManifest()) as { functions: { name: string; needs: { publishes: string[]; secrets: string[]; training: boolean }; projectRoles: string[] }[] };

  it('gives each function project roles from its needs alone', () => {
    for (const spec of FUNCTIONS) {
      const expected = ['roles/logging.logWriter'];
      if (spec.needs.firestore) expected.push('roles/datastore.user');
      if (spec.needs.vertexAi) expected.push('roles/aiplatform.user');
      if (spec.needs.metrics) expected.push('roles/monitoring.metricWriter');
      expect(projectRolesFor(spec.needs).sort(), spec.name).toEqual(expected.sort());
      expect(manifest.functions.find((f) => f.name === spec.name)?.projectRoles).toEqual(projectRolesFor(spec.needs));
    }
    // signal-intake touches no Firestore, no secret but its own, no topic but signals.
    const intake = manifest.functions.find((f) => f.name === 'signal-intake');
    expect(intake?.projectRoles).toEqual(['roles/logging.logWriter']);
    expect(intake?.needs.publishes).toEqual(['signals']);
    expect(intake?.needs.secrets.sort()).toEqual(['SIGNAL_INTAKE_TOKENS', 'TRADINGVIEW_SOURCE_SECRETS']);
    // Only the functions that trade hold the venue keys.
    const withKeys = manifest.functions.filter((f) => f.needs.secrets.includes('EXCHANGE_API_SECRET')).map((f) => f.name).sort();
    expect(withKeys).toEqual(['broker-webhook', 'drawdown-evaluator', 'ops-api', 'order-router', 'reconciler']);
  });

  it('grants a function account nothing but the per-need bindings, each iterating the manifest', async () => {
    const { resource } = await hcl();
    const grantsToFunctions: string[] = [];
    for (const [type, byName] of Object.entries(resource)) {
      for (const [name, [block]] of Object.entries(byName)) {
        if (/_iam_member$/.test(type) && JSON.stringify((block as Block).member).includes('google_service_account.fn[')) grantsToFunctions.push(`${type}.${name}`);
      }
    }
    expect(grantsToFunctions.sort()).toEqual(
      [
        'google_project_iam_member.fn',
        'google_pubsub_topic_iam_member.fn',
        'google_secret_manager_secret_iam_member.fn',
        'google_service_account_iam_member.fn_acts_as_trainer',
        'google_storage_bucket_iam_member.fn',
      ].sort(),
    );
    const { locals } = await hcl();
    const all = JSON.stringify(locals);
    expect(all).toContain('f.projectRoles');
    expect(all).toContain('needs.publishes');
    expect(all).toContain('needs.secrets');
    expect(all).toContain('needs.training');
    // Every function runs as its own account.
    expect(JSON.stringify(resource.google_cloudfunctions2_function?.fn)).toContain('google_service_account.fn[each.key].email');
  });
});

