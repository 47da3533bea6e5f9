import type { EmailFeedbackRecord } from './email/emailFeedback.ts';
/** Delivery channels a catalog entry can name. */
export const CHANNELS = ['push', 'email'] as const;
export type Channel = (typeof CHANNELS)[number];

/** Route states, from the reference system. Terminal: published, dead_letter, cancelled. */
export const ROUTE_STATUSES = ['pending', 'failed', 'published', 'dead_letter', 'cancelled'] as const;
export type RouteStatus = (typeof ROUTE_STATUSES)[number];
export const TERMINAL_STATUSES: ReadonlySet<RouteStatus> = new Set(['published', 'dead_letter', 'cancelled']);

/** The fixed set of failure classifications recorded on a route. */
export const FAILURE_CLASSIFICATIONS = [
  'payload_encoding_failed',
  'template_render_failed',
  'push_buffer_write_failed',
  'push_post_failed',
  'email_send_failed',
  'email_rejected',
  'email_not_authorized',
  'email_identity_unverified',
  'recipient_missing',
  'worker_crashed',
  'notification_missing',
] as const;
export type FailureClassification = (typeof FAILURE_CLASSIFICATIONS)[number];

/** Reasons an intent is rejected; each becomes a rejection record. */
export const REJECTION_REASONS = [
  'malformed_json',
  'schema_violation',
  'unknown_notification_type',
  'payload_too_large',
  'payload_too_deep',
  'payload_number_out_of_range',
  'intent_too_large',
  'duplicate_recipient',
  'template_field_missing',
  'idempotency_conflict',
  'recipient_deleted',
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** One recipient of a notification, after audience normalisation. */
export interface Recipient {
  readonly user_id: string;
  readonly email?: string;
  readonly device_session_id?: string;
}

/** The notification record: one accepted intent. */
export interface NotificationRecord {
  readonly notification_id: string;
  readonly notification_type: string;
  readonly producer: string;
  readonly idempotency_key: string;
  readonly audience_kind: 'user' | 'users';
  readonly payload: Record<string, unknown>;
  readonly content_hash: string;
  readonly request_id?: string;
  readonly trace_id?: string;
  readonly occurred_at_ms?: number;
  readonly accepted_at: number;
  readonly route_count: number;
  /** `accepting` until every route is written and enqueued. */
  readonly state: 'accepting' | 'accepted';
  /**
   * The intake message that carried the intent: the same message coming back after its acceptance
   * (an answer or a delete lost, a crash, a duplicate delivery) is a redelivery, not a duplicate.
   */
  readonly source_message_id?: string;
  /**
   * Set when the stored item does not hold the payload: the notification's only route, stored with
   * it, is pushed at acceptance, and its event holds the payload (the item stays small, and it is
   * rewritten only if that attempt does not publish, which stores the payload then).
   */
  readonly payload_in_event?: true;
}

/** One per-recipient, per-channel delivery of a notification. */
export interface RouteRecord {
  readonly notification_id: string;
  readonly route_id: string;
  readonly channel: Channel;
  readonly user_id: string;
  readonly email?: string;
  readonly device_session_id?: string;
  readonly status: RouteStatus;
  /** Attempts started so far (counted at lease time). */
  readonly attempts: number;
  readonly max_attempts: number;
  /** Epoch ms when the route may next be attempted. */
  readonly next_attempt_at: number;
  readonly lease_token?: string;
  readonly lease_expires_at?: number;
  readonly last_failure_classification?: FailureClassification;
  readonly last_failure_message?: string;
  readonly published_at?: number;
  readonly terminal_at?: number;
  /** Shard of the sparse due index (see dueShardOf). */
  readonly due_shard: number;
  /**
   * When the sweeper should look at this route. Present while the route is open, which also puts
   * it in the lifecycle service's by-user index — except during a first attempt made at
   * acceptance: that acceptance watches the route (a crash brings the intent back) and the attempt
   * sets it only if it fails, so a route published at once never enters either index.
   */
  readonly due_at?: number;
  /** Push routes: the stream position their event got, reused by every retry. */
  readonly stream_epoch?: string;
  readonly stream_position?: number;
  /** Set by the lifecycle service on a route leased at the time: finish the attempt, then no retry. */
  readonly cancel_requested?: string;
  /**
   * Why a cancelled route was cancelled: the lifecycle event type, `throttled` (its recipient's
   * throttle window was full at acceptance), `preference` (the user turned it off) or `suppressed`
   * (its address is on the suppression list).
   */
  readonly cancel_reason?: string;
  /** Email routes: the SES message id of the send that published the route. */
  readonly email_message_id?: string;
  /** Email routes: what SES reported after the send — delivered, bounced, complained… (core/email/emailFeedback.ts). */
  readonly email_feedback?: EmailFeedbackRecord;
  readonly updated_at: number;
  /**
   * The notification's only route, stored in one record with the notification: created by the
   * same write, and its terminal outcome also completes the acceptance (see NotificationStore).
   */
  readonly stored_with_notification?: true;
}

/** What finds a route: its ids, and whether it is stored with its notification. */
export type RouteAddress = Pick<RouteRecord, 'notification_id' | 'route_id' | 'stored_with_notification'>;

/** The message put on the route queue: which route to deliver. */
export type DeliveryMessage = RouteAddress;

/** The route-queue message for a route (only its address: the route itself is read at delivery). */
export const deliveryMessageFor = ({ notification_id, route_id, stored_with_notification }: RouteAddress): DeliveryMessage => ({
  notification_id,
  route_id,
  ...(stored_with_notification ? { stored_with_notification } : {}),
});

/** Injected time source, so backoff, leases and expiry are tested without sleeping. */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };
