import type { NotificationRecord, RouteRecord } from '../types.ts';

/**
 * A push route's success is not always written. When the only route of a notification, stored with
 * it, is attempted at acceptance and its event is stored and sent, nothing more is written: the
 * event names its route and sits at the position the route records, which is proof enough that the
 * route was published — and the notification accepted — and saves a third write on every such push
 * (docs/architecture.md, "Derived `published` status"). Every other outcome is written as before.
 *
 * Every reader of routes and notifications sees them through {@link effectiveRoute} and
 * {@link effectiveNotification}; the store applies them on read.
 */

/** The event id a route's event carries (`<notification_id>/<route_id>`). */
export const eventIdOf = (route: Pick<RouteRecord, 'notification_id' | 'route_id'>): string => `${route.notification_id}/${route.route_id}`;

/** What an event says about the route that stored it. */
export interface RouteEvidence {
  readonly event_id: string;
  readonly epoch: string;
  readonly position: number;
  readonly published_at: number;
}

/**
 * Whether a published attempt of this route (as leased) may leave its success unwritten: the only
 * route of its notification, stored with it, in its first attempt at acceptance (no due time, never
 * failed). Such a route is out of the sweeper's and lifecycle's indexes, so no one else writes it.
 */
export function successMayGoUnwritten(route: RouteRecord): boolean {
  return route.channel === 'push' && route.stored_with_notification === true && route.status === 'pending' && route.due_at === undefined && route.lease_token !== undefined;
}

/** Whether a stored route's status depends on its event: its success may be unwritten, and it has a position to look at. */
export function needsEvidence(route: RouteRecord): boolean {
  return successMayGoUnwritten(route) && route.stream_epoch !== undefined && route.stream_position !== undefined;
}

/**
 * The route as it stands: the stored route, or — when its success went unwritten and its event is
 * at the position it records — published at the event's time. An attempt still running whose event
 * is stored reads as published too: its event is in the buffer, which is what published means (a
 * later failure to post it to a connection is written, and then the written status holds).
 */
export function effectiveRoute(route: RouteRecord, evidence: RouteEvidence | undefined): RouteRecord {
  if (!needsEvidence(route) || evidence === undefined) return route;
  if (evidence.event_id !== eventIdOf(route) || evidence.epoch !== route.stream_epoch || evidence.position !== route.stream_position) return route;
  const { lease_token: _lease, lease_expires_at: _expires, ...published } = route;
  return { ...published, status: 'published', published_at: evidence.published_at, terminal_at: evidence.published_at };
}

/** The notification as it stands: a notification whose only route ended unwritten completed its acceptance with it. */
export function effectiveNotification<T extends Pick<NotificationRecord, 'state'>>(record: T, storedRoute: RouteRecord | undefined, effective: RouteRecord | undefined): T {
  if (record.state !== 'accepting' || storedRoute === undefined || effective === undefined) return record;
  return storedRoute.status !== effective.status && effective.status === 'published' ? { ...record, state: 'accepted' } : record;
}
