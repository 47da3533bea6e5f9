import type { HeraldEvent } from '../../../client/types.ts';
import { encodeCursor } from './cursorCodec.ts';
import { FRAME_BILLING_UNIT_BYTES, type StreamEvent } from './pushTypes.ts';

/**
 * The wire form of an event (docs/asyncapi.yaml, `EventBody`): the client SDK's published type,
 * so server and SDK cannot drift. The server always sets `stream`.
 */
export type EventBody = HeraldEvent & { readonly stream: string };

/**
 * The event as one device session may see it. Events targeted at another of the user's sessions
 * keep their position (so positions stay gapless for every client) but carry nothing else.
 */
export function eventBody(event: StreamEvent, viewerSessionId?: string): EventBody {
  const cursor = encodeCursor({ epoch: event.epoch, position: event.position });
  if (event.device_session_id !== undefined && event.device_session_id !== viewerSessionId) {
    return { cursor, stream: event.epoch, position: event.position, event_id: event.event_id, redacted: true };
  }
  return {
    cursor,
    stream: event.epoch,
    position: event.position,
    event_id: event.event_id,
    notification_id: event.notification_id,
    kind: event.kind,
    payload: event.payload,
    ...(event.request_id !== undefined ? { request_id: event.request_id } : {}),
    ...(event.trace_id !== undefined ? { trace_id: event.trace_id } : {}),
    ...(event.device_session_id !== undefined ? { device_session_id: event.device_session_id } : {}),
    published_at: new Date(event.published_at).toISOString(),
  };
}

export type ServerFrame =
  | ({ readonly type: 'event' } & EventBody)
  | { readonly type: 'events'; readonly events: readonly EventBody[] }
  | { readonly type: 'replay_complete'; readonly cursor: string; readonly stream: string; readonly position: number }
  | { readonly type: 'cursor_stale'; readonly cursor: string; readonly stream: string; readonly position: number; readonly reason: string }
  | { readonly type: 'session_invalidated'; readonly reason: string; readonly device_session_id?: string }
  | { readonly type: 'error'; readonly code: ErrorCode; readonly message: string; readonly retry_after_ms?: number }
  | { readonly type: 'pong'; readonly at: string };

export type ErrorCode = 'malformed_cursor' | 'unknown_action' | 'malformed_message' | 'rate_limited' | 'internal_error';

export const serialiseFrame = (frame: ServerFrame): string => JSON.stringify(frame);

/**
 * Packs replayed events, in order, into `events` frames of at most `maxBytes` each (API Gateway
 * bills WebSocket messages in 32 KB units). An event larger than the unit travels alone.
 */
export function packReplayFrames(bodies: readonly EventBody[], maxBytes = FRAME_BILLING_UNIT_BYTES): string[] {
  const frames: string[] = [];
  const envelope = Buffer.byteLength('{"type":"events","events":[]}');
  let current: string[] = [];
  let size = envelope;
  for (const body of bodies) {
    const json = JSON.stringify(body);
    const bytes = Buffer.byteLength(json) + (current.length > 0 ? 1 : 0);
    if (current.length > 0 && size + bytes > maxBytes) {
      frames.push(`{"type":"events","events":[${current.join(',')}]}`);
      current = [];
      size = envelope;
    }
    current.push(json);
    size += Buffer.byteLength(json) + (current.length > 1 ? 1 : 0);
  }
  if (current.length > 0) frames.push(`{"type":"events","events":[${current.join(',')}]}`);
  return frames;
}
