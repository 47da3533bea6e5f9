import type { NotificationRecord, RouteRecord } from '../../core/types.ts';

/** The correlation fields every log line about a route carries (seed: logging.RouteAttrs). */
export function routeLogFields(notification: NotificationRecord | undefined, route: RouteRecord): Record<string, unknown> {
  return {
    notification_id: route.notification_id,
    route_id: route.route_id,
    channel: route.channel,
    notification_type: notification?.notification_type,
    producer: notification?.producer,
    idempotency_key: notification?.idempotency_key,
    request_id: notification?.request_id,
    trace_id: notification?.trace_id,
  };
}
