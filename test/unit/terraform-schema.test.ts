import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkHcl, type ProviderSchema } from '../../scripts/terraform-schema.js';

/**
 * terraform/*.tf against the pinned google provider's schema (terraform/schema/, written by
 * `npx tsx scripts/terraform-schema.ts` from the provider's published bindings): every type,
 * argument and block exists where it is written, and nothing required is missing.
 */

const DIR = join(process.cwd(), 'terraform');
let schema: ProviderSchema;

beforeAll(async () => {
  const files = (await readdir(join(DIR, 'schema'))).filter((f) => /^google-.+\.json$/.test(f));
  expect(files, 'one pinned google provider schema in terraform/schema/').toHaveLength(1);
  schema = JSON.parse(await readFile(join(DIR, 'schema', files[0] as string), 'utf8')) as ProviderSchema;
});

const check = (source: string) => checkHcl([{ file: 'inline.tf', source }], schema);

describe('terraform/ against the pinned google provider schema', () => {
  it('pins hashicorp/google in terraform/versions.tf to exactly the schema’s version', async () => {
    const versions = (await parse('versions.tf', await readFile(join(DIR, 'versions.tf'), 'utf8'))) as {
      terraform: { required_providers: Record<string, { source: string; version: string }>[] }[];
    };
    const google = versions.terraform[0]?.required_providers[0]?.google;
    expect(schema.version).toBe('6.50.0');
    expect(google?.source).toBe('hashicorp/google');
    expect([schema.version, `= ${schema.version}`]).toContain(google?.version);
  });

  it('uses only resource and data source types, arguments and blocks of that provider, with every required one present', async () => {
    const sources = [];
    for (const file of (await readdir(DIR)).filter((f) => f.endsWith('.tf')).sort())
      sources.push({ file, source: await readFile(join(DIR, file), 'utf8') });
    expect(sources.length).toBeGreaterThan(0);
    expect(await checkHcl(sources, schema)).toEqual([]);
  });

  it('accepts meta-arguments, dynamic blocks whose content fits the named block, map arguments and the provider block', async () => {
    expect(
      await check(`
provider "google" {
  project = "p"
  region  = "europe-west1"
}
data "google_project" "current" {}
resource "google_pubsub_topic" "t" {
  for_each   = toset(["a", "b"])
  provider   = google
  name       = each.key
  labels     = { team = "trading" }
  depends_on = [data.google_project.current]
  lifecycle { prevent_destroy = true }
}
resource "google_cloudfunctions2_function" "fn" {
  name     = "f"
  location = "europe-west1"
  build_config {
    runtime               = "nodejs20"
    environment_variables = { A = "1" }
    source {
      storage_source {
        bucket = "b"
        object = "o"
      }
    }
  }
  service_config {
    environment_variables = { B = "2" }
    dynamic "secret_environment_variables" {
      for_each = local.secrets
      content {
        key        = secret_environment_variables.key
        project_id = "p"
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }
  }
}
`),
    ).toEqual([]);
  });

  it('fails on a resource type the provider does not have', async () => {
    expect(await check('resource "google_pubsub_topik" "t" {\n  name = "t"\n}\n')).toEqual([
      'inline.tf: google_pubsub_topik.t: unknown resource type "google_pubsub_topik" (not in registry.terraform.io/hashicorp/google 6.50.0)',
    ]);
    expect(await check('data "google_projekt" "p" {}\n')).toEqual([
      'inline.tf: data.google_projekt.p: unknown data source type "google_projekt" (not in registry.terraform.io/hashicorp/google 6.50.0)',
    ]);
  });

  it('fails on a misspelled argument, naming the resource and the name', async () => {
    expect(await check('resource "google_pubsub_topic" "t" {\n  name = "t"\n  message_retention = "600s"\n}\n')).toEqual([
      'inline.tf: google_pubsub_topic.t: unknown argument or block "message_retention"',
    ]);
  });

  it('fails on an argument at the wrong nesting level, naming the path and where it belongs', async () => {
    expect(
      await check(`
resource "google_cloudfunctions2_function" "fn" {
  name     = "f"
  location = "europe-west1"
  build_config {
    runtime            = "nodejs20"
    available_memory   = "512M"
  }
}
`),
    ).toEqual([
      'inline.tf: google_cloudfunctions2_function.fn build_config: unknown argument or block "available_memory" (it belongs in service_config)',
    ]);
  });

  it('fails on a missing required argument or block, inside dynamic content too', async () => {
    expect(await check('resource "google_pubsub_subscription" "s" {\n  name = "s"\n}\n')).toEqual([
      'inline.tf: google_pubsub_subscription.s: missing required argument "topic"',
    ]);
    expect(await check('resource "google_monitoring_alert_policy" "a" {\n  display_name = "a"\n  combiner = "OR"\n}\n')).toEqual([
      'inline.tf: google_monitoring_alert_policy.a: missing required block "conditions"',
    ]);
    expect(
      await check(`
resource "google_cloudfunctions2_function" "fn" {
  name     = "f"
  location = "europe-west1"
  service_config {
    dynamic "secret_environment_variables" {
      for_each = local.secrets
      content {
        key    = secret_environment_variables.key
        secret = secret_environment_variables.value
      }
    }
  }
}
`),
    ).toEqual([
      'inline.tf: google_cloudfunctions2_function.fn service_config.secret_environment_variables: missing required argument "project_id"',
      'inline.tf: google_cloudfunctions2_function.fn service_config.secret_environment_variables: missing required argument "version"',
    ]);
  });

  it('fails on a block written as an argument, a map argument written as a block, and a second single block', async () => {
    expect(
      await check(`
resource "google_pubsub_topic" "t" {
  name = "t"
  labels {
    team = "trading"
  }
  message_storage_policy = { allowed_persistence_regions = ["europe-west1"] }
  schema_settings {
    schema = "s"
  }
  schema_settings {
    schema = "s2"
  }
}
`),
    ).toEqual([
      'inline.tf: google_pubsub_topic.t: "labels" is an argument, not a block (write labels = …)',
      'inline.tf: google_pubsub_topic.t: "message_storage_policy" is a block, not an argument (write message_storage_policy { … } or a dynamic block)',
      'inline.tf: google_pubsub_topic.t: at most one "schema_settings" block, found 2',
    ]);
  });
});
