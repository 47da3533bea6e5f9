import { createHash } from 'node:crypto';
import type { Channel, Recipient } from '../types.ts';

/**
 * Notification id derived from (producer, idempotency_key): the same pair always names the same
 * notification, so the id itself is the idempotency record and operators can compute it.
 */
export function notificationIdFor(producer: string, idempotencyKey: string): string {
  const digest = createHash('sha256').update(JSON.stringify([producer, idempotencyKey])).digest('hex');
  return `n_${digest.slice(0, 32)}`;
}

/** `<channel>:<user_id>[:<device_session_id>]`, unique within its notification. */
export function routeIdFor(channel: Channel, recipient: Recipient): string {
  return recipient.device_session_id === undefined
    ? `${channel}:${recipient.user_id}`
    : `${channel}:${recipient.user_id}:${recipient.device_session_id}`;
}

/**
 * Hash of what makes two intents "the same content": type, audience and payload. request_id,
 * trace_id and occurred_at_ms are per-send metadata and may differ on a producer's retry.
 */
export function contentHashOf(content: { notification_type: string; audience: unknown; payload: unknown }): string {
  return createHash('sha256')
    .update(canonicalJson([content.notification_type, content.audience, content.payload]))
    .digest('base64url');
}

/** JSON with object keys sorted at every depth, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).sort();
    return `{${keys
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
