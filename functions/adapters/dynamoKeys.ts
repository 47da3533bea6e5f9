import type { NotificationRecord, RouteAddress } from '../core/types.ts';

/** Key layout of the notifications table (see docs/architecture.md "Data"). */
export const NOTIFICATION_SK = 'META';
export const notificationKey = (notificationId: string) => ({ pk: `N#${notificationId}`, sk: NOTIFICATION_SK });
export const routeKey = (notificationId: string, routeId: string) => ({ pk: `N#${notificationId}`, sk: `R#${routeId}` });
/** The item holding a route: its own, or the notification's when it is stored with it. */
export const routeItemKey = (route: RouteAddress) =>
  route.stored_with_notification ? notificationKey(route.notification_id) : routeKey(route.notification_id, route.route_id);

/**
 * The notification's attributes, told apart from a route's in the one item that holds a
 * notification and its only route (the names never overlap, except the notification id).
 */
export const NOTIFICATION_ATTRIBUTES = [
  'notification_type', 'producer', 'idempotency_key', 'audience_kind', 'payload', 'content_hash', 'request_id', 'trace_id',
  'occurred_at_ms', 'accepted_at', 'route_count', 'state', 'accepted_complete_at', 'source_message_id', 'payload_in_event',
] as const satisfies readonly (Exclude<keyof NotificationRecord, 'notification_id'> | 'accepted_complete_at')[];
export const DUE_INDEX = 'due';
/** Sparse index of open routes by user (attribute `open_user`, written together with `due_at`). */
export const OPEN_BY_USER_INDEX = 'open_by_user';
/** What the due and open_by_user indexes carry besides their keys: only attributes a route never changes. */
export const ROUTE_INDEX_ATTRIBUTES = ['notification_id', 'route_id', 'user_id', 'channel', 'device_session_id'] as const;
/** Sparse index of dead-lettered routes by UTC day (attribute `dl_day`), newest first by `dead_lettered_at`. */
export const DEAD_LETTERS_INDEX = 'dead_letters';
export const deadLetterDay = (at: number) => new Date(at).toISOString().slice(0, 10);
export const userStateKey = (userId: string) => ({ pk: `U#${userId}`, sk: 'LIFECYCLE' });
/** An address on the suppression list (normalized: core/email/emailFeedback.ts normalizeEmailAddress). */
export const suppressionKey = (email: string) => ({ pk: `E#${email}`, sk: 'SUPPRESSION' });
/** A recipient throttle's window: with the user's other items, so they live and go together. */
export const throttleKey = (userId: string, notificationType: string, windowStart: number) => ({ pk: `U#${userId}`, sk: `THROTTLE#${notificationType}#${windowStart}` });

/** Rejections are grouped by UTC day so "recent rejections" is one or two queries. */
export const rejectionPk = (at: number) => `REJ#${new Date(at).toISOString().slice(0, 10)}`;
export const rejectionSk = (sentAt: number, sourceId: string) => `${rejectionSkFrom(sentAt)}#${sourceId}`;
/** The lowest sort key of rejections sent at or after `sentAt`. */
export const rejectionSkFrom = (sentAt: number) => String(sentAt).padStart(15, '0');

/** Attributes that are storage bookkeeping, not part of the domain record. */
export const STORAGE_ATTRIBUTES = ['pk', 'sk', 'expires_at', 'accept_lease_token', 'accept_lease_expires_at', 'write_token'] as const;
