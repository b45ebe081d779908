import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `npm start` notes where its emulators listen in .emulators/env.json, so that other commands
 * (`npm run seed`, `npm run ledgers`) find the running stack without copying hosts around.
 */
const FILE = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), '.emulators', 'env.json');

export async function writeLocalEnv(env: Record<string, string>): Promise<void> {
  await mkdir(dirname(FILE), { recursive: true });
  await writeFile(FILE, `${JSON.stringify(env, null, 2)}\n`);
}

export async function clearLocalEnv(): Promise<void> {
  await rm(FILE, { force: true });
}

/** Fills process.env from the running local stack, where a variable is not already set. */
export async function useLocalEnv(): Promise<void> {
  let saved: Record<string, string>;
  try {
    saved = JSON.parse(await readFile(FILE, 'utf8')) as Record<string, string>;
  } catch {
    if (!process.env.FIRESTORE_EMULATOR_HOST) {
      throw new Error('no local stack is running (start it with `npm start`) and FIRESTORE_EMULATOR_HOST is not set');
    }
    return;
  }
  for (const [key, value] of Object.entries(saved)) process.env[key] ??= value;
}
