import type { SQSClient } from '@aws-sdk/client-sqs';

// The public types of `herald/producer`, written out here (not derived from the JSON Schema) so
// its declarations stand alone; a unit test keeps IntentV1 equal to the schema's type.

/** Who receives a notification: one user (optionally one device session, and an email address for the email channel). */
export type IntentUserAudience = {
  readonly kind: 'user';
  /** 1–128 chars of `A-Za-z0-9._@+=-`. */
  readonly user_id: string;
  /** Only this device session of the user gets the push event. */
  readonly device_session_id?: string;
  /** Where the email channel sends. */
  readonly email?: string;
};

/** One recipient of a `users` audience. */
export type IntentRecipient = {
  readonly user_id: string;
  readonly device_session_id?: string;
  readonly email?: string;
};

/** Up to 1,000 recipients, none twice. */
export type IntentUsersAudience = {
  readonly kind: 'users';
  readonly recipients: readonly IntentRecipient[];
};

/** A notification intent, version 1 (schema/intent.v1.schema.json; README "The intent contract"). */
export type IntentV1 = {
  /** Must exist in the deployment's catalog. */
  readonly notification_type: string;
  /** Names the sending service, 1–128 chars. */
  readonly producer: string;
  /** (producer, idempotency_key) identifies the notification: the same pair is never sent twice. */
  readonly idempotency_key: string;
  readonly audience: IntentUserAudience | IntentUsersAudience;
  /** Delivered to the client as-is (push) and fills the email template; at most the deployment's `maxPayloadBytes` of JSON. */
  readonly payload: { readonly [field: string]: unknown };
  readonly request_id?: string;
  readonly trace_id?: string;
  /** The producer's clock, milliseconds since the epoch. */
  readonly occurred_at_ms?: number;
};

/** Why an intent was refused before sending: the rejection reasons Herald would record for it. */
export type IntentRefusalReason =
  | 'malformed_json'
  | 'schema_violation'
  | 'unknown_notification_type'
  | 'payload_too_large'
  | 'payload_too_deep'
  | 'payload_number_out_of_range'
  | 'intent_too_large'
  | 'duplicate_recipient'
  | 'template_field_missing';

/** A catalog entry as the deployment's config has it (`catalog` in config/herald.json). */
export type ProducerCatalogEntry = {
  readonly channels: readonly ('push' | 'email')[];
  readonly email?: { readonly subject: string; readonly text: string; readonly html?: string };
  readonly maxAttempts?: number;
};

export interface HeraldProducerOptions {
  /** The intake queue: the stack's `IntakeQueueUrl` output (offline: printed by `npm start`). */
  readonly queueUrl: string;
  /** The client to send with (region, credentials, endpoint). Default: `new SQSClient({})`. */
  readonly sqs?: SQSClient;
  /** The deployment's catalog: with it, an unknown type or a payload lacking a template field is refused before sending. */
  readonly catalog?: Readonly<Record<string, ProducerCatalogEntry>>;
  /** The deployment's `maxPayloadBytes` (default there 30720): with it, a larger payload is refused before sending. */
  readonly maxPayloadBytes?: number;
}

/** An intent on the intake queue. Herald accepts it asynchronously (`herald status <notificationId>`). */
export interface SentIntent {
  /** The notification's id, derived from (producer, idempotency_key): the same for every send of the same intent. */
  readonly notificationId: string;
  /** The SQS message id. */
  readonly messageId: string;
}
