import { existsSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../../shared/config.js';
import { FUNCTIONS } from '../../triggers/manifest.js';

/**
 * `npm start`'s own settings (the SAPPHIRE_* variables of the local stack), validated at start
 * like the functions' configuration: one error naming every bad variable, before anything runs.
 */

/** The scheduled functions' shortest local period: Cloud Scheduler's one minute over the speed-up. */
const MIN_SCHEDULE_PERIOD_MS = 1_000;
/** One minute is the shortest Cloud Scheduler period, so the speed-up is bounded by it. */
export const MAX_SCHEDULE_SPEEDUP = 60_000 / MIN_SCHEDULE_PERIOD_MS;
/** A market day in under a minute and a half is already faster than the agents can think locally. */
export const MAX_REPLAY_SPEED = 1_000;

const number = (what: string) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/, `must be a positive number (${what})`)
    .transform(Number);

const LocalSettingsSchema = z.object({
  SAPPHIRE_PORT: z
    .string()
    .regex(/^\d+$/, 'must be a port number')
    .transform(Number)
    .pipe(z.number().int().min(1_024, 'must be 1024 or more').max(65_535 - FUNCTIONS.length, `must leave room for ${FUNCTIONS.length} consecutive ports`))
    .default(8080),
  SAPPHIRE_REPLAY_START: z
    .string()
    .refine((v) => /^\d{4}-\d{2}-\d{2}(T[\d:.]+Z)?$/.test(v) && Number.isFinite(Date.parse(v)), 'must be a UTC date or time, e.g. 2023-03-10 or 2023-03-10T00:00:00Z')
    .transform((v) => Date.parse(v))
    .default(Date.parse('2023-03-10T00:00:00Z')),
  SAPPHIRE_REPLAY_SPEED: number('market time per wall-clock time')
    .pipe(z.number().min(1, 'must be at least 1 (real time)').max(MAX_REPLAY_SPEED, `must be at most ${MAX_REPLAY_SPEED}`))
    .default(60),
  SAPPHIRE_SCHEDULE_SPEEDUP: number('how much faster than Cloud Scheduler the local jobs run')
    .pipe(
      z
        .number()
        .min(1, 'must be at least 1 (Cloud Scheduler\'s own periods)')
        .max(MAX_SCHEDULE_SPEEDUP, `must be at most ${MAX_SCHEDULE_SPEEDUP}: a scheduled function runs at most once a second`),
    )
    .default(20),
  SAPPHIRE_PUSH_DELIVERY: z.enum(['relay', 'emulator'], { message: 'must be relay or emulator' }).default('relay'),
  SAPPHIRE_VENUE: z.enum(['paper', 'standin'], { message: 'must be paper or standin' }).default('paper'),
  SAPPHIRE_MARKET_DATA: z.string().refine((path) => existsSync(path), 'must be an existing folder of candle files').optional(),
  SAPPHIRE_LOG_FORMAT: z.enum(['text', 'json'], { message: 'must be text or json' }).default('text'),
  SAPPHIRE_LOG_DETAIL: z.enum(['events', 'all'], { message: 'must be events or all' }).default('events'),
});

export type LocalSettings = z.output<typeof LocalSettingsSchema>;

/** The local stack's settings from the environment; a ConfigError naming every bad variable otherwise. */
export function localSettings(env: NodeJS.ProcessEnv = process.env): LocalSettings {
  const present = Object.fromEntries(Object.keys(LocalSettingsSchema.shape).flatMap((key) => (env[key] ? [[key, env[key]]] : [])));
  const parsed = LocalSettingsSchema.safeParse(present);
  if (parsed.success) return parsed.data;
  throw new ConfigError([...new Set(parsed.error.issues.map((issue) => `${String(issue.path[0])}: ${issue.message}`))]);
}
