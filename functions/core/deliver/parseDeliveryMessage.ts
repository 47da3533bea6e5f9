import type { DeliveryMessage } from '../types.ts';

/** Reads a route queue message body; undefined when it is not a delivery message. */
export function parseDeliveryMessage(body: string): DeliveryMessage | undefined {
  try {
    const value = JSON.parse(body) as Record<string, unknown>;
    if (typeof value['notification_id'] === 'string' && typeof value['route_id'] === 'string') {
      return {
        notification_id: value['notification_id'],
        route_id: value['route_id'],
        // Absent from messages sent before routes could be stored with their notification; the store finds them either way.
        ...(value['stored_with_notification'] === true ? { stored_with_notification: true } : {}),
      };
    }
  } catch {
    // fall through
  }
  return undefined;
}
