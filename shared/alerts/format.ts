import type { AlertMessage } from '../domain/messages.js';

/** What a person reads: one line that says what, where, how bad, and whether it is over. */
export function alertText(alert: AlertMessage): string {
  const icon = alert.transition === 'resolve' ? ':white_check_mark:' : alert.severity === 'critical' ? ':rotating_light:' : ':warning:';
  const state = alert.transition === 'resolve' ? 'RESOLVED' : alert.severity.toUpperCase();
  return `${icon} *${state}* ${alert.message} (${alert.limitType}, ${alert.scope}, since ${alert.openedAt})`;
}

/** A Slack incoming-webhook body. */
export function slackBody(alert: AlertMessage): { text: string } {
  return { text: alertText(alert) };
}
