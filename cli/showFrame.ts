import type { HeraldEvent } from '../client/types.ts';

/** An event as `herald tail` shows it to people: `#position kind payload`, replayed ones marked. */
export function eventLine(event: Pick<HeraldEvent, 'position' | 'kind' | 'payload'>, replayed: boolean): string {
  return `#${event.position} ${String(event.kind)} ${JSON.stringify(event.payload)}${replayed ? '  (replayed)' : ''}`;
}

/**
 * Positions the tail skipped between two events it showed: events for the user's other device
 * sessions, which reach this session as a position only.
 */
export function skippedLine(first: number, last: number): string {
  return first === last ? `#${first} (for another device session)` : `#${first}–#${last} (for other device sessions)`;
}

/**
 * Any frame but an event, a replay frame or a pong, as one line: `[type] rest`; API Gateway's own
 * messages (they have no type) as `[gateway] message rest`. Undefined for the frames the tail shows
 * as events or does not show.
 */
export function frameLine(data: string): string | undefined {
  let frame: { type?: unknown; [key: string]: unknown };
  try {
    frame = JSON.parse(data) as typeof frame;
  } catch {
    return `[not JSON] ${data}`;
  }
  if (typeof frame !== 'object' || frame === null) return `[not a frame] ${data}`;
  if (frame.type === undefined) {
    const { message, ...rest } = frame;
    return `[gateway] ${String(message ?? '')} ${JSON.stringify(rest)}`.trimEnd();
  }
  if (frame.type === 'event' || frame.type === 'pong') return undefined;
  if (frame.type === 'events' && Array.isArray(frame['events'])) return undefined;
  const { type, ...rest } = frame;
  return `[${String(type)}] ${JSON.stringify(rest)}`;
}
