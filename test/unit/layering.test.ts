import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { type ICruiseResult, cruise } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

/** The layering rules `npm test` enforces on the product (npm run check:layers), proven to catch what they forbid. */

const fixture = fileURLToPath(new URL('../fixtures/layering', import.meta.url));
const rules = createRequire(import.meta.url)('../../.dependency-cruiser.cjs') as { forbidden: unknown[]; options: Record<string, unknown> };

async function violations(baseDir: string, include: string[]): Promise<string[]> {
  // The product's run excludes the fixtures; this one cruises nothing else.
  const { exclude: _exclude, ...options } = rules.options;
  const result = await cruise(include, {
    ...options,
    baseDir,
    ruleSet: { forbidden: rules.forbidden } as never,
    validate: true,
  });
  const output = result.output as ICruiseResult;
  return output.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
}

describe('layering', () => {
  it('catches each forbidden dependency in the fixture tree', async () => {
    const found = await violations(fixture, ['shared', 'functions', 'scripts', 'test']);
    expect(found).toEqual([
      expect.stringMatching(/^domain-is-pure: shared\/domain\/rule\.ts → .*node_modules\/@google-cloud\/firestore\//),
      'domain-is-pure: shared/domain/rule.ts → shared/adapters/store.ts',
      'functions-are-wiring: functions/alpha/index.ts → functions/beta/index.ts',
      'no-cycles: shared/adapters/cache.ts → shared/adapters/store.ts',
      'nothing-imports-functions: test/serves.ts → functions/beta/index.ts',
      'product-does-not-import-tools: shared/adapters/store.ts → scripts/tool.ts',
    ]);
  });
});
