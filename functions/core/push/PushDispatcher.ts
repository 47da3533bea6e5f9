import { DispatchError } from '../errors.ts';
import type { ChannelDispatcher } from '../ports.ts';
import { successMayGoUnwritten } from '../route/effectiveStatus.ts';
import type { Clock, NotificationRecord, RouteRecord } from '../types.ts';
import { postToLiveConnections } from './postEvent.ts';
import type { ConnectionRegistry, ConnectionSender, EventBuffer } from './pushPorts.ts';


export interface PushDispatcherConfig {
  /** How long events stay replayable (the freshness window). */
  readonly freshnessMs: number;
  /** How long notifications are kept: an event that is the only record of its route's success is kept as long. */
  readonly retentionMs: number;
}

/** What one push attempt did, for logs and metrics. */
export interface PushReport {
  readonly notification: NotificationRecord;
  readonly route: RouteRecord;
  readonly position: number;
  readonly sent: number;
  readonly gone: number;
}

/**
 * Push channel: append the event to the user's stream (once per route — a retry reuses its
 * position), then send it to every live connection of the user,
 * or only of the targeted device session. Gone connections are removed; any other send failure
 * fails the attempt so the route is retried (clients drop the duplicates by cursor). With no live
 * connection the route is published and the event waits in the buffer for the freshness window.
 */
export class PushDispatcher implements ChannelDispatcher {
  public constructor(
    private readonly config: PushDispatcherConfig,
    private readonly deps: {
      readonly buffer: EventBuffer;
      readonly registry: ConnectionRegistry;
      readonly sender: ConnectionSender;
      readonly clock: Clock;
      readonly onReport?: (report: PushReport) => void;
    },
  ) {}

  public async dispatch(notification: NotificationRecord, route: RouteRecord, leaseToken: string): Promise<void> {
    const now = this.deps.clock.now();
    let event;
    try {
      event = await this.deps.buffer.appendForRoute({
        route,
        leaseToken,
        ...(route.stream_epoch !== undefined && route.stream_position !== undefined
          ? { existing: { epoch: route.stream_epoch, position: route.stream_position } }
          : {}),
        event: {
          user_id: route.user_id,
          event_id: `${route.notification_id}/${route.route_id}`,
          notification_id: route.notification_id,
          kind: notification.notification_type,
          payload: notification.payload,
          ...(notification.request_id !== undefined ? { request_id: notification.request_id } : {}),
          ...(notification.trace_id !== undefined ? { trace_id: notification.trace_id } : {}),
          ...(route.device_session_id !== undefined ? { device_session_id: route.device_session_id } : {}),
          published_at: now,
          expires_at_ms: now + this.config.freshnessMs,
          ...(successMayGoUnwritten(route) ? { keep_until_ms: notification.accepted_at + this.config.retentionMs } : {}),
        },
      });
    } catch (error) {
      if (error instanceof DispatchError) throw error;
      throw new DispatchError('push_buffer_write_failed', `appending to the event buffer failed: ${(error as Error).message}`, true, { cause: error });
    }

    const { sent, gone, tooLarge, failures } = await postToLiveConnections(this.deps, event, now);
    this.deps.onReport?.({ notification, route, position: event.position, sent, gone });
    // Acceptance bounds the payload so that this cannot happen; if it does, no retry can help.
    if (tooLarge) throw new DispatchError('payload_encoding_failed', `${tooLarge.message}; the event is stored, but no client can be sent it`, false, { cause: tooLarge });
    if (failures.length > 0) {
      throw new DispatchError('push_post_failed', `PostToConnection failed for ${failures.length} connection(s): ${failures.join('; ')}`, true);
    }
  }
}
