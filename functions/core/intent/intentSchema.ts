import type { FromSchema } from 'json-schema-to-ts';
import { MAX_RECIPIENTS } from '../constants.ts';

/**
 * The intent contract, version 1: the one source of truth for both the JSON Schema shipped in
 * `schema/intent.v1.schema.json` (written from this object by `npm run schema`, checked by a unit
 * test) and the TypeScript type {@link Intent}. Size limits that depend on configuration (payload
 * bytes) are checked in code after the schema.
 */
const identifier = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._@+=-]+$' } as const;
const email = { type: 'string', minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$' } as const;

export const intentSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://herald.dev/schema/intent.v1.schema.json',
  title: 'Herald notification intent, version 1',
  description:
    'A notification intent sent by a producer to the intake queue or the event bus. Unknown fields are ignored.',
  type: 'object',
  required: ['notification_type', 'producer', 'idempotency_key', 'audience', 'payload'],
  properties: {
    notification_type: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      pattern: '^[a-z0-9][a-z0-9._-]*$',
      description: 'Must exist in the catalog.',
    },
    producer: { type: 'string', minLength: 1, maxLength: 128, description: 'Names the sending service.' },
    idempotency_key: {
      type: 'string',
      minLength: 1,
      maxLength: 256,
      description: '(producer, idempotency_key) identifies the notification.',
    },
    audience: {
      type: 'object',
      description: 'Who receives the notification: one user, or a list of recipients.',
      required: ['kind'],
      discriminator: { propertyName: 'kind' },
      oneOf: [
        {
          type: 'object',
          required: ['kind', 'user_id'],
          properties: {
            kind: { const: 'user' },
            user_id: identifier,
            device_session_id: identifier,
            email,
          },
        },
        {
          type: 'object',
          required: ['kind', 'recipients'],
          properties: {
            kind: { const: 'users' },
            recipients: {
              type: 'array',
              minItems: 1,
              maxItems: MAX_RECIPIENTS,
              items: {
                type: 'object',
                required: ['user_id'],
                properties: { user_id: identifier, device_session_id: identifier, email },
              },
            },
          },
        },
      ],
    },
    payload: { type: 'object', description: 'Delivered to the client as-is; bounded size (see docs).' },
    request_id: { type: 'string', maxLength: 128 },
    trace_id: { type: 'string', maxLength: 128 },
    occurred_at_ms: { type: 'integer', minimum: 0 },
  },
} as const;

/** A notification intent that passed schema validation. */
export type Intent = FromSchema<typeof intentSchema>;
