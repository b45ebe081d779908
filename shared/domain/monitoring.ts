import { z } from 'zod';
import type { AlertMessage } from './messages.js';
import { AgentId, PORTFOLIO_SCOPE } from './vocabulary.js';

/**
 * Cloud Monitoring incident notifications (schema version 1.2), as a webhook or Pub/Sub channel
 * sends them. Test notifications from the console say "state": "OPEN" in upper case, real ones
 * "open" / "closed": the state is normalized. Unknown fields are kept out, not refused.
 */

/** Policy user labels; `agent_id`, when present, must name an agent (it becomes a document id and a halt's scope). */
const Labels = z
  .record(z.string().max(63), z.string().max(63))
  .refine((labels) => labels.agent_id === undefined || AgentId.safeParse(labels.agent_id).success, { message: 'agent_id must be an agent id', path: ['agent_id'] })
  .optional();
/** Seconds since the epoch, within what a Date can hold sensibly (1970 to 2200). */
const EpochSeconds = z.union([z.number(), z.string().regex(/^\d{1,12}$/).transform(Number)]).pipe(z.number().int().min(0).max(7_258_118_400)).nullish();

export const MonitoringNotification = z.object({
  version: z.string().optional(),
  incident: z.object({
    incident_id: z.string().min(1).max(200),
    policy_name: z.string().min(1).max(300),
    condition_name: z.string().max(300).optional(),
    state: z
      .string()
      .transform((s) => s.toLowerCase())
      .pipe(z.enum(['open', 'closed'])),
    started_at: EpochSeconds,
    ended_at: EpochSeconds,
    summary: z.string().max(2_000).default(''),
    url: z.string().optional(),
    scoping_project_id: z.string().optional(),
    severity: z.string().optional(),
    policy_user_labels: Labels,
  }),
});
export type MonitoringNotification = z.infer<typeof MonitoringNotification>;

/** What Sapphire does about an incident: which of its risk policies it is, and whom it halts. */
export interface IncidentAction {
  readonly alert: AlertMessage;
  /** The scope to halt when the incident opens: drawdown policies halt, as the evaluator does. */
  readonly halts?: string;
}

/**
 * Sapphire's own alert policies carry the user label `sapphire_policy` (`drawdown` or
 * `margin_utilization`) and, for one agent, `agent_id`; policies without it are forwarded as
 * plain warnings.
 */
export function incidentAction(notification: MonitoringNotification, receivedAt: Date): IncidentAction {
  const { incident } = notification;
  const labels = incident.policy_user_labels ?? {};
  const policy = labels.sapphire_policy ?? (/drawdown/i.test(incident.policy_name) ? 'drawdown' : /margin/i.test(incident.policy_name) ? 'margin_utilization' : 'cloud_monitoring');
  const scope = labels.agent_id ?? PORTFOLIO_SCOPE;
  const critical = policy === 'drawdown' || /critical/i.test(incident.severity ?? '');
  const iso = (seconds: number | null | undefined) => (seconds ? new Date(seconds * 1000).toISOString() : undefined);
  const openedAt = iso(incident.started_at) ?? receivedAt.toISOString();
  const resolvedAt = incident.state === 'closed' ? (iso(incident.ended_at) ?? receivedAt.toISOString()) : undefined;
  const alert: AlertMessage = {
    episodeId: `monitoring:${incident.incident_id}`,
    transition: incident.state === 'open' ? 'open' : 'resolve',
    key: `monitoring:${policy}:${scope}`,
    limitType: policy === 'drawdown' ? (scope === PORTFOLIO_SCOPE ? 'portfolio_drawdown' : 'agent_drawdown') : policy,
    scope,
    severity: critical ? 'critical' : 'warning',
    message: `${incident.state === 'open' ? '' : 'resolved: '}${incident.policy_name}${incident.condition_name ? ` / ${incident.condition_name}` : ''}: ${incident.summary}`.slice(0, 1_000),
    source: 'cloud-monitoring',
    openedAt,
    ...(resolvedAt ? { resolvedAt } : {}),
  };
  return { alert, ...(policy === 'drawdown' && incident.state === 'open' ? { halts: scope } : {}) };
}
