import { describe, expect, it } from 'vitest';
import { FUNCTIONS, repeatMinutes } from '../../../triggers/manifest.js';

describe('repeatMinutes', () => {
  it('reads the schedules that repeat every few minutes, and nothing else', () => {
    expect(repeatMinutes('* * * * *')).toBe(1);
    expect(repeatMinutes('*/5 * * * *')).toBe(5);
    expect(repeatMinutes('*/10 * * * *')).toBe(10);
    expect(repeatMinutes('0 3 * * 1')).toBeUndefined();
    expect(repeatMinutes('*/5 1 * * *')).toBeUndefined();
  });

  it('covers every schedule npm start imitates: all but the per-agent weekly training', () => {
    const schedules = FUNCTIONS.flatMap((f) => f.triggers.flatMap((t) => (t.kind === 'schedule' ? [{ function: f.name, t }] : [])));
    const unmatched = schedules.filter(({ t }) => repeatMinutes(t.schedule) === undefined).map(({ function: name, t }) => `${name} ${t.schedule}`);
    expect(unmatched).toEqual(['training-kickoff 0 3 * * 1']);
  });
});
