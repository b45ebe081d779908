import { readFile, readdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** One owner of money state: only the ledger repository touches `marginLedgers` documents. */

const ROOT = resolve(import.meta.dirname, '..', '..');

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

describe('ledger ownership', () => {
  it('no product module but the ledger repository names the marginLedgers collection', async () => {
    const files = [...(await sources('shared')), ...(await sources('functions')), ...(await sources('scripts'))];
    const naming: string[] = [];
    for (const file of files) {
      const text = await readFile(join(ROOT, file), 'utf8');
      if (/COLLECTIONS\.marginLedgers|['"`]marginLedgers['"`]/.test(text)) naming.push(file);
    }
    expect(naming.sort()).toEqual(['shared/firestore/collections.ts', 'shared/firestore/ledger-repository.ts']);
  });
});
