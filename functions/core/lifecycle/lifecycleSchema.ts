import type { FromSchema } from 'json-schema-to-ts';

const identifier = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._@+=-]+$' } as const;

/**
 * User lifecycle event contract, version 1 (the reference system's fields). Source of truth for
 * `schema/lifecycle.v1.schema.json` and the {@link LifecycleEvent} type. Put on Herald's bus with
 * detail-type `herald.lifecycle`; the event is the detail. Unknown fields are ignored.
 */
export const lifecycleSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://herald.dev/schema/lifecycle.v1.schema.json',
  title: 'Herald user lifecycle event, version 1',
  type: 'object',
  required: ['event_type', 'user_id', 'occurred_at_ms'],
  properties: {
    event_type: { type: 'string', minLength: 1, maxLength: 64, description: 'user.deleted | user.blocked | session.revoked; anything else is absorbed.' },
    user_id: identifier,
    occurred_at_ms: { type: 'integer', minimum: 1, description: 'When it happened (producer clock); orders events per user.' },
    device_session_id: { ...identifier, description: 'session.revoked: the one session; omitted = every session of the user.' },
    source: { type: 'string', maxLength: 128 },
    actor_type: { type: 'string', maxLength: 64 },
    actor_id: { type: 'string', maxLength: 128 },
    reason_code: { type: 'string', maxLength: 128 },
    trace_id: { type: 'string', maxLength: 128 },
  },
} as const;

export type LifecycleEvent = FromSchema<typeof lifecycleSchema>;
export const LIFECYCLE_EVENT_TYPES = ['user.deleted', 'user.blocked', 'session.revoked'] as const;
export type LifecycleEventType = (typeof LIFECYCLE_EVENT_TYPES)[number];
