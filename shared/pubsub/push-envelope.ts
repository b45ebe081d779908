import { z } from 'zod';

/** The body Pub/Sub push delivers to an HTTP endpoint. */
export const PushEnvelope = z.object({
  message: z.object({
    data: z.string().default(''),
    messageId: z.string().min(1),
    attributes: z.record(z.string(), z.string()).optional(),
    orderingKey: z.string().optional(),
    publishTime: z.string().optional(),
  }),
  subscription: z.string().min(1),
  deliveryAttempt: z.number().int().optional(),
});
export type PushEnvelope = z.infer<typeof PushEnvelope>;

/** The message of a body shaped like a push envelope, before any validation; undefined for any other body. */
export function pushedMessage(body: unknown): Record<string, unknown> | undefined {
  const message = typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : undefined;
  return typeof message === 'object' && message !== null ? (message as Record<string, unknown>) : undefined;
}

export type DecodedMessage<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** Decodes a push message's base64 JSON payload against its schema; never throws. */
export function decodePushData<T>(envelope: PushEnvelope, schema: z.ZodType<T>): DecodedMessage<T> {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(envelope.message.data, 'base64').toString('utf8'));
  } catch {
    return { ok: false, reason: 'payload is not JSON' };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    return { ok: false, reason: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
  }
  return { ok: true, value: parsed.data };
}

/** The short subscription name from `projects/<p>/subscriptions/<name>`. */
export function subscriptionName(fullName: string): string {
  return fullName.slice(fullName.lastIndexOf('/') + 1);
}
