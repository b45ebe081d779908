/**
 * The google provider's schema, pinned, and the check of terraform/*.tf against it.
 *
 * `npx tsx scripts/terraform-schema.ts` writes terraform/schema/google-<provider version>.json.
 * The provider binary cannot be downloaded here, but its schema can: `@cdktf/provider-google`
 * is generated from one exact hashicorp/google release, and its `.jsii` assembly describes every
 * resource's, data source's and the provider's configuration struct. The package is fetched with
 * `npm pack` into a temporary folder (it is ~30 MB packed, ~100 MB of `.jsii`: never a dependency).
 *
 * What the structs say, and what is kept:
 * - only what a configuration may set: computed-only attributes have no config property;
 * - the Terraform name of each property from its registry link (`…#build_config`), since camelCase
 *   does not map back reliably (`buildAttribute` is `build`, `hugepageSize1G` is `hugepage_size_1g`);
 * - a property typed as a generated struct is a nested block: required when not optional
 *   (min items ≥ 1), at most one when the struct is single, many when it is an array; every other
 *   property is an argument (string, number, bool, list or map of those — `labels` is a map);
 * - meta-arguments (count, for_each, depends_on, lifecycle, provider…) are Terraform's, not the
 *   provider's: the checker allows them at the top of a resource, data source or provider block.
 *
 * `checkTerraform` is what test/unit/terraform-schema.test.ts runs on every terraform/*.tf.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '@cdktf/hcl2json';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The bindings generated from hashicorp/google 6.50.0 (16.12.0 has the same types; 16.12.1 is the last release). */
export const CDKTF_PACKAGE = '@cdktf/provider-google';
export const CDKTF_PACKAGE_VERSION = '16.12.1';
const PROVIDER_SOURCE = 'registry.terraform.io/hashicorp/google';

export interface BlockSchema {
  /** Argument name → required. */
  readonly arguments: Record<string, boolean>;
  /** Nested block name → its schema; absent when there are none. */
  readonly blocks?: Record<string, NestedBlockSchema>;
}

export interface NestedBlockSchema extends BlockSchema {
  /** At least one such block (min items ≥ 1). */
  readonly required: boolean;
  /** At most one (max items 1), or any number. */
  readonly max: 1 | 'many';
}

export interface ProviderSchema {
  readonly source: string;
  readonly version: string;
  readonly package: string;
  readonly provider: BlockSchema;
  readonly resources: Record<string, BlockSchema>;
  readonly dataSources: Record<string, BlockSchema>;
}

// ---------------------------------------------------------------------------------------------
// From the .jsii assembly to the schema

type JsiiTypeRef = {
  primitive?: string;
  fqn?: string;
  collection?: { kind: string; elementtype: JsiiTypeRef };
  union?: { types: JsiiTypeRef[] };
};
interface JsiiProperty {
  name: string;
  optional?: boolean;
  static?: boolean;
  type: JsiiTypeRef;
  docs?: unknown;
}
interface JsiiType {
  fqn: string;
  kind: string;
  base?: string;
  datatype?: boolean;
  interfaces?: string[];
  properties?: JsiiProperty[];
  docs?: { summary?: string };
  initializer?: { parameters?: { name: string; type: JsiiTypeRef }[] };
}
export interface JsiiAssembly {
  name: string;
  version: string;
  types: Record<string, JsiiType>;
}

const snakeCase = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The Terraform name, from the registry link cdktf writes in every property's docs (`…#kms_key_name Cloudfunctions2Function#kms_key_name}`). */
function terraformName(property: JsiiProperty): string {
  const docs = JSON.stringify(property.docs ?? {});
  const link = /#([a-z0-9_]+) [A-Za-z0-9]+#\1\}/.exec(docs);
  return link?.[1] ?? snakeCase(property.name);
}

/** The nested struct a property holds, and whether it holds one or a list of them; undefined for a plain argument. */
function blockType(type: JsiiTypeRef, assembly: string): { fqn: string; max: 1 | 'many' } | undefined {
  if (type.fqn?.startsWith(`${assembly}.`)) return { fqn: type.fqn, max: 1 };
  for (const member of type.union?.types ?? []) {
    const element = member.collection?.kind === 'array' ? member.collection.elementtype : undefined;
    if (element?.fqn?.startsWith(`${assembly}.`)) return { fqn: element.fqn, max: 'many' };
  }
  return undefined;
}

function structSchema(jsii: JsiiAssembly, fqn: string, seen: readonly string[] = []): BlockSchema {
  if (seen.includes(fqn)) throw new Error(`recursive struct ${fqn}`);
  const struct = jsii.types[fqn];
  if (!struct?.datatype) throw new Error(`${fqn} is not a struct in ${jsii.name}`);
  const properties = [...(struct.properties ?? [])];
  // Config structs extend cdktf.TerraformMetaArguments (count, for_each…): those are Terraform's, left out.
  for (const parent of struct.interfaces ?? []) if (jsii.types[parent]) properties.push(...(jsii.types[parent].properties ?? []));
  const args: Record<string, boolean> = {};
  const blocks: Record<string, NestedBlockSchema> = {};
  for (const property of properties) {
    if (property.static) continue;
    const name = terraformName(property);
    const nested = blockType(property.type, jsii.name);
    if (name in args || name in blocks) throw new Error(`${fqn}: ${name} twice`);
    if (nested) blocks[name] = { required: !property.optional, max: nested.max, ...structSchema(jsii, nested.fqn, [...seen, fqn]) };
    else args[name] = !property.optional;
  }
  return Object.keys(blocks).length > 0 ? { arguments: args, blocks } : { arguments: args };
}

function configFqn(type: JsiiType): string {
  const config = type.initializer?.parameters?.find((p) => p.name === 'config')?.type.fqn;
  if (!config) throw new Error(`${type.fqn} has no config parameter`);
  return config;
}

/** Every resource, data source and the provider block of the assembly, checked to be of `providerVersion`. */
export function schemaFromJsii(jsii: JsiiAssembly, providerVersion: string): ProviderSchema {
  const resources: Record<string, BlockSchema> = {};
  const dataSources: Record<string, BlockSchema> = {};
  let provider: BlockSchema | undefined;
  const link = new RegExp(
    `^Represents a \\{@link https://registry\\.terraform\\.io/providers/hashicorp/google/${providerVersion.replace(/\./g, '\\.')}/docs(?:/(resources|data-sources)/[a-z0-9_]+ (google_[a-z0-9_]+)| google)\\}\\.$`,
  );
  for (const type of Object.values(jsii.types)) {
    const kind = {
      'cdktf.TerraformResource': 'resource',
      'cdktf.TerraformDataSource': 'data-source',
      'cdktf.TerraformProvider': 'provider',
    }[type.base ?? ''];
    if (type.kind !== 'class' || !kind) continue;
    const summary = type.docs?.summary ?? '';
    const match = link.exec(summary);
    if (!match) throw new Error(`${type.fqn}: not a hashicorp/google ${providerVersion} ${kind}: ${summary}`);
    const schema = structSchema(jsii, configFqn(type));
    if (kind === 'provider') provider = schema;
    else {
      const into = kind === 'resource' ? resources : dataSources;
      if (match[1] !== (kind === 'resource' ? 'resources' : 'data-sources') || !match[2]) throw new Error(`${type.fqn}: ${summary}`);
      if (into[match[2]]) throw new Error(`${kind} ${match[2]} twice`);
      into[match[2]] = schema;
    }
  }
  if (!provider) throw new Error(`${jsii.name} has no provider class`);
  return { source: PROVIDER_SOURCE, version: providerVersion, package: `${jsii.name}@${jsii.version}`, provider, resources, dataSources };
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, sortKeys(v)]),
  );
}

/** Sorted keys, one line per resource and data source type: deterministic, and a provider bump diffs by type. */
export function serializeSchema(schema: ProviderSchema): string {
  const sorted = sortKeys(schema) as Record<string, unknown>;
  const lines = Object.entries(sorted).map(([key, value]) => {
    if (key !== 'resources' && key !== 'dataSources') return `  ${JSON.stringify(key)}: ${JSON.stringify(value)}`;
    const types = Object.entries(value as Record<string, unknown>).map(
      ([type, block]) => `    ${JSON.stringify(type)}: ${JSON.stringify(block)}`,
    );
    return `  ${JSON.stringify(key)}: {\n${types.join(',\n')}\n  }`;
  });
  return `{\n${lines.join(',\n')}\n}\n`;
}

// ---------------------------------------------------------------------------------------------
// The check of parsed HCL (hcl2json's shape: blocks are arrays of bodies, `dynamic` an object)

type Body = Record<string, unknown>;
const RESOURCE_META = new Set(['count', 'for_each', 'depends_on', 'lifecycle', 'provider', 'connection', 'provisioner']);
const DATA_META = new Set(['count', 'for_each', 'depends_on', 'lifecycle', 'provider']);
const PROVIDER_META = new Set(['alias', 'version']);
const DYNAMIC_KEYS = new Set(['for_each', 'iterator', 'labels', 'content']);

const isBody = (value: unknown): value is Body => value !== null && typeof value === 'object' && !Array.isArray(value);
const isBlockList = (value: unknown): value is Body[] => Array.isArray(value) && value.length > 0 && value.every(isBody);

/** Where else in this resource's schema `name` is an argument or block (for "wrong nesting level" hints). */
function elsewhere(schema: BlockSchema, name: string, path = ''): string[] {
  const found = name in schema.arguments || name in (schema.blocks ?? {}) ? [path || '(top level)'] : [];
  for (const [block, nested] of Object.entries(schema.blocks ?? {}))
    found.push(...elsewhere(nested, name, path ? `${path}.${block}` : block));
  return found;
}

function checkBody(
  body: Body,
  schema: BlockSchema,
  where: string,
  path: string,
  meta: ReadonlySet<string>,
  root: BlockSchema,
  problems: string[],
): void {
  const at = path ? `${where} ${path}` : where;
  const blocks = schema.blocks ?? {};
  const present = new Set<string>();
  const unknown = (name: string, what: string) => {
    const hint = elsewhere(root, name);
    problems.push(`${at}: unknown ${what} "${name}"${hint.length > 0 ? ` (it belongs in ${hint.join(', ')})` : ''}`);
  };
  for (const [key, value] of Object.entries(body)) {
    if (meta.has(key)) continue;
    if (key === 'dynamic' && !(key in schema.arguments) && isBody(value)) {
      for (const [name, dynamics] of Object.entries(value)) {
        const nested = blocks[name];
        if (!nested) {
          unknown(name, 'block (dynamic)');
          continue;
        }
        present.add(name);
        for (const dynamic of Array.isArray(dynamics) ? dynamics : [dynamics]) {
          if (!isBody(dynamic)) continue;
          for (const k of Object.keys(dynamic))
            if (!DYNAMIC_KEYS.has(k)) problems.push(`${at}: dynamic "${name}" has unknown argument "${k}"`);
          if (!('for_each' in dynamic)) problems.push(`${at}: dynamic "${name}" has no for_each`);
          const content = dynamic.content;
          if (!isBlockList(content) || content.length !== 1) problems.push(`${at}: dynamic "${name}" needs exactly one content block`);
          else checkBody(content[0] as Body, nested, where, path ? `${path}.${name}` : name, new Set(), root, problems);
        }
      }
      continue;
    }
    if (key in schema.arguments) {
      present.add(key);
      if (isBlockList(value)) problems.push(`${at}: "${key}" is an argument, not a block (write ${key} = …)`);
      continue;
    }
    const nested = blocks[key];
    if (!nested) {
      unknown(key, 'argument or block');
      continue;
    }
    present.add(key);
    if (!isBlockList(value)) {
      problems.push(`${at}: "${key}" is a block, not an argument (write ${key} { … } or a dynamic block)`);
      continue;
    }
    if (nested.max === 1 && value.length > 1) problems.push(`${at}: at most one "${key}" block, found ${value.length}`);
    for (const item of value) checkBody(item, nested, where, path ? `${path}.${key}` : key, new Set(), root, problems);
  }
  for (const [name, required] of Object.entries(schema.arguments))
    if (required && !present.has(name)) problems.push(`${at}: missing required argument "${name}"`);
  for (const [name, nested] of Object.entries(blocks))
    if (nested.required && !present.has(name)) problems.push(`${at}: missing required block "${name}"`);
}

export interface ParsedFile {
  readonly file: string;
  readonly hcl: unknown;
}

/** Every problem of the resources, data sources and google provider blocks of `files` against `schema`; [] when well formed. */
export function checkTerraform(files: readonly ParsedFile[], schema: ProviderSchema): string[] {
  const problems: string[] = [];
  for (const { file, hcl } of files) {
    const top = (isBody(hcl) ? hcl : {}) as { resource?: unknown; data?: unknown; provider?: unknown };
    for (const [section, types, prefix, meta] of [
      ['resource', schema.resources, '', RESOURCE_META],
      ['data source', schema.dataSources, 'data.', DATA_META],
    ] as const) {
      const declared = section === 'resource' ? top.resource : top.data;
      for (const [type, byName] of Object.entries(isBody(declared) ? declared : {})) {
        const typeSchema = types[type];
        for (const [name, bodies] of Object.entries(isBody(byName) ? byName : {})) {
          const where = `${file}: ${prefix}${type}.${name}`;
          if (!typeSchema) {
            problems.push(`${where}: unknown ${section} type "${type}" (not in ${schema.source} ${schema.version})`);
            continue;
          }
          for (const body of Array.isArray(bodies) ? bodies : [bodies])
            if (isBody(body)) checkBody(body, typeSchema, where, '', meta, typeSchema, problems);
        }
      }
    }
    const providers = isBody(top.provider) ? top.provider : {};
    for (const body of ([] as unknown[]).concat(providers.google ?? [])) {
      if (isBody(body)) checkBody(body, schema.provider, `${file}: provider "google"`, '', PROVIDER_META, schema.provider, problems);
    }
  }
  return problems;
}

/** Parses each HCL source with hcl2json, then `checkTerraform`. */
export async function checkHcl(sources: readonly { file: string; source: string }[], schema: ProviderSchema): Promise<string[]> {
  const files: ParsedFile[] = [];
  for (const { file, source } of sources) files.push({ file, hcl: await parse(file, source) });
  return checkTerraform(files, schema);
}

// ---------------------------------------------------------------------------------------------
// npx tsx scripts/terraform-schema.ts [package version]

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

async function generate(packageVersion: string): Promise<void> {
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'sapphire-provider-schema-'));
  try {
    const packed = JSON.parse(
      run('npm', ['pack', `${CDKTF_PACKAGE}@${packageVersion}`, '--json', '--silent', '--pack-destination', dir], dir),
    ) as { filename: string }[];
    const tarball = packed[0]?.filename;
    if (!tarball) throw new Error('npm pack gave no file');
    run('tar', ['-xzf', join(dir, tarball.split('/').pop() ?? tarball), '-C', dir, 'package/package.json', 'package/.jsii'], dir);
    const manifest = JSON.parse(await readFile(join(dir, 'package', 'package.json'), 'utf8')) as {
      version: string;
      cdktf?: { provider?: { name?: string; version?: string } };
    };
    const provider = manifest.cdktf?.provider;
    if (provider?.name !== PROVIDER_SOURCE || !provider.version)
      throw new Error(`${CDKTF_PACKAGE}@${manifest.version} does not say it is ${PROVIDER_SOURCE}: ${JSON.stringify(provider)}`);
    const jsii = JSON.parse(await readFile(join(dir, 'package', '.jsii'), 'utf8')) as JsiiAssembly;
    if (jsii.name !== CDKTF_PACKAGE || jsii.version !== manifest.version)
      throw new Error(`.jsii is ${jsii.name}@${jsii.version}, not ${CDKTF_PACKAGE}@${manifest.version}`);
    const schema = schemaFromJsii(jsii, provider.version);
    const out = join(ROOT, 'terraform', 'schema', `google-${provider.version}.json`);
    await mkdir(dirname(out), { recursive: true });
    const text = serializeSchema(schema);
    await writeFile(out, text);
    process.stdout.write(
      `${CDKTF_PACKAGE}@${jsii.version} is ${PROVIDER_SOURCE} ${provider.version}: ${Object.keys(schema.resources).length} resources, ` +
        `${Object.keys(schema.dataSources).length} data sources → terraform/schema/google-${provider.version}.json ` +
        `(${(Buffer.byteLength(text) / 1024).toFixed(0)} KiB) in ${Date.now() - started} ms\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await generate(process.argv[2] ?? CDKTF_PACKAGE_VERSION);
}
