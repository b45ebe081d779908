import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/config.js';
import { TOPICS } from '../../triggers/manifest.js';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({ GOOGLE_CLOUD_PROJECT: 'sapphire-local' });
    expect(config).toMatchObject({
      ENABLE_VERTEX_AI: false,
      ENABLE_PAPER_TRADING: true,
      MAX_SYMBOLS_PER_AGENT: 50,
      AGENT_CACHE_TTL_SECONDS: 10,
      SIGNAL_INTAKE_TOKENS: [],
      topics: TOPICS,
    });
  });

  it('parses lists, secrets and flags', () => {
    const config = loadConfig({
      GOOGLE_CLOUD_PROJECT: 'sapphire-prod',
      ENABLE_VERTEX_AI: 'true',
      SIGNAL_INTAKE_TOKENS: 'aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb',
      TRADINGVIEW_SOURCE_SECRETS: '{"tv-main":"cccccccccccccccc"}',
    });
    expect(config.ENABLE_VERTEX_AI).toBe(true);
    expect(config.SIGNAL_INTAKE_TOKENS).toEqual(['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']);
    expect(config.TRADINGVIEW_SOURCE_SECRETS).toEqual({ 'tv-main': 'cccccccccccccccc' });
  });

  it('names every bad variable in one error and never echoes a value', () => {
    let error: unknown;
    try {
      loadConfig({
        ENABLE_PAPER_TRADING: 'yes',
        MAX_SYMBOLS_PER_AGENT: '-3',
        SIGNAL_INTAKE_TOKENS: 'short-secret',
        TRADINGVIEW_SOURCE_SECRETS: '{not json',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ['GOOGLE_CLOUD_PROJECT', 'ENABLE_PAPER_TRADING', 'MAX_SYMBOLS_PER_AGENT', 'SIGNAL_INTAKE_TOKENS', 'TRADINGVIEW_SOURCE_SECRETS']) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain('short-secret');
    expect(message).toContain('GOOGLE_CLOUD_PROJECT: is required');
  });

  describe('for one function', () => {
    const live = { GOOGLE_CLOUD_PROJECT: 'sapphire-prod', ENABLE_PAPER_TRADING: 'false', SIGNAL_INTAKE_TOKENS: 'aaaaaaaaaaaaaaaa', OPS_API_TOKENS: 'not-a-valid-entry' };

    it('validates only its own environment: signal-intake trades nothing and needs no venue keys', () => {
      const config = loadConfig(live, 'signal-intake');
      expect(config.SIGNAL_INTAKE_TOKENS).toEqual(['aaaaaaaaaaaaaaaa']);
      // Another function's secret, even a malformed one, is neither read nor checked.
      expect(config.OPS_API_TOKENS).toEqual([]);
    });

    it('holds the functions that trade to the venue keys', () => {
      expect(() => loadConfig(live, 'order-router')).toThrow(/EXCHANGE_API_KEY: is required when ENABLE_PAPER_TRADING=false/);
      expect(loadConfig({ ...live, EXCHANGE_API_KEY: 'k', EXCHANGE_API_SECRET: 's' }, 'order-router').EXCHANGE_API_KEY).toBe('k');
    });

    it('reads its own malformed secret as the error it is', () => {
      expect(() => loadConfig(live, 'ops-api')).toThrow(ConfigError);
    });

    it('refuses a name triggers/manifest.ts does not know', () => {
      expect(() => loadConfig(live, 'no-such-function')).toThrow(/no function named no-such-function/);
    });
  });
});
