import { describe, expect, it } from 'vitest';
import { MonitoringNotification } from '../../../shared/domain/monitoring.js';

const incident = (overrides: Record<string, unknown> = {}) => ({
  version: '1.2',
  incident: { incident_id: '0.abc', policy_name: 'Sapphire drawdown', state: 'open', started_at: 1_678_406_400, summary: 'x', ...overrides },
});

describe('MonitoringNotification', () => {
  it('accepts a notification as Cloud Monitoring sends it', () => {
    expect(MonitoringNotification.safeParse(incident({ policy_user_labels: { sapphire_policy: 'drawdown', agent_id: 'qwen-7b' } })).success).toBe(true);
  });

  it('refuses an agent_id label that is not an agent id (it would become a document path)', () => {
    const parsed = MonitoringNotification.safeParse(incident({ policy_user_labels: { agent_id: 'no/such/agent' } }));
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual(['incident.policy_user_labels.agent_id']);
  });

  it('refuses times no date can hold, instead of throwing on them later', () => {
    expect(MonitoringNotification.safeParse(incident({ started_at: 1e20 })).success).toBe(false);
    expect(MonitoringNotification.safeParse(incident({ ended_at: -1e17 })).success).toBe(false);
    expect(MonitoringNotification.safeParse(incident({ started_at: '1678406400' })).success).toBe(true);
  });
});
