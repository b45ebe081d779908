import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/config.js';
import { MAX_SCHEDULE_SPEEDUP, localSettings } from '../../../scripts/lib/local-settings.js';

function problems(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    localSettings(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("npm start's own settings", () => {
  it('defaults to the README: port 8080, the SVB day at 60×, schedules 20× faster, the relay, readable lines', () => {
    expect(localSettings({})).toEqual({
      SAPPHIRE_PORT: 8080,
      SAPPHIRE_REPLAY_START: Date.parse('2023-03-10T00:00:00Z'),
      SAPPHIRE_REPLAY_SPEED: 60,
      SAPPHIRE_SCHEDULE_SPEEDUP: 20,
      SAPPHIRE_PUSH_DELIVERY: 'relay',
      SAPPHIRE_VENUE: 'paper',
      SAPPHIRE_LOG_FORMAT: 'text',
      SAPPHIRE_LOG_DETAIL: 'events',
    });
  });

  it('takes valid values', () => {
    const settings = localSettings({ SAPPHIRE_PORT: '9000', SAPPHIRE_REPLAY_START: '2023-03-12T06:30:00Z', SAPPHIRE_REPLAY_SPEED: '120', SAPPHIRE_SCHEDULE_SPEEDUP: '2.5', SAPPHIRE_LOG_FORMAT: 'json' });
    expect(settings).toMatchObject({ SAPPHIRE_PORT: 9000, SAPPHIRE_REPLAY_START: Date.parse('2023-03-12T06:30:00Z'), SAPPHIRE_REPLAY_SPEED: 120, SAPPHIRE_SCHEDULE_SPEEDUP: 2.5, SAPPHIRE_LOG_FORMAT: 'json' });
  });

  it('refuses a speed-up that would fire a scheduled function more than once a second (0.0001 used to mean every millisecond)', () => {
    expect(problems({ SAPPHIRE_SCHEDULE_SPEEDUP: '0.0001' })).toEqual(["SAPPHIRE_SCHEDULE_SPEEDUP: must be at least 1 (Cloud Scheduler's own periods)"]);
    expect(problems({ SAPPHIRE_SCHEDULE_SPEEDUP: String(MAX_SCHEDULE_SPEEDUP + 1) })).toEqual([
      `SAPPHIRE_SCHEDULE_SPEEDUP: must be at most ${MAX_SCHEDULE_SPEEDUP}: a scheduled function runs at most once a second`,
    ]);
  });

  it('names every bad variable in one error', () => {
    expect(
      problems({
        SAPPHIRE_PORT: '80',
        SAPPHIRE_REPLAY_START: 'yesterday',
        SAPPHIRE_REPLAY_SPEED: 'fast',
        SAPPHIRE_SCHEDULE_SPEEDUP: '-3',
        SAPPHIRE_PUSH_DELIVERY: 'carrier-pigeon',
        SAPPHIRE_MARKET_DATA: '/nowhere/klines',
        SAPPHIRE_LOG_FORMAT: 'xml',
      }),
    ).toEqual([
      'SAPPHIRE_PORT: must be 1024 or more',
      'SAPPHIRE_REPLAY_START: must be a UTC date or time, e.g. 2023-03-10 or 2023-03-10T00:00:00Z',
      'SAPPHIRE_REPLAY_SPEED: must be a positive number (market time per wall-clock time)',
      'SAPPHIRE_SCHEDULE_SPEEDUP: must be a positive number (how much faster than Cloud Scheduler the local jobs run)',
      'SAPPHIRE_PUSH_DELIVERY: must be relay or emulator',
      'SAPPHIRE_MARKET_DATA: must be an existing folder of candle files',
      'SAPPHIRE_LOG_FORMAT: must be text or json',
    ]);
  });
});
