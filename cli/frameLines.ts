/** A frame from the push socket as `herald tail` shows it to people: one line per event. */
export function frameLines(data: string): string[] {
  let frame: { type?: unknown; events?: unknown; [key: string]: unknown };
  try {
    frame = JSON.parse(data) as typeof frame;
  } catch {
    return [`[not JSON] ${data}`];
  }
  if (typeof frame !== 'object' || frame === null) return [`[not a frame] ${data}`];
  switch (frame.type) {
    case 'event':
      return [eventLine(frame)];
    case 'events':
      // A replay frame packs up to 32 KB of events; one line each, as if they had come live.
      return Array.isArray(frame.events) ? frame.events.map((event) => `${eventLine(event as Record<string, unknown>)}  (replayed)`) : [`[events] ${data}`];
    case undefined: {
      // API Gateway's own messages ({"message":"Internal server error",…}) have no type.
      const { message, ...rest } = frame;
      return [`[gateway] ${String(message ?? '')} ${JSON.stringify(rest)}`.trimEnd()];
    }
    default: {
      const { type, ...rest } = frame;
      return [`[${String(type)}] ${JSON.stringify(rest)}`];
    }
  }
}

function eventLine(event: Record<string, unknown>): string {
  if (event['redacted']) return `#${String(event['position'])} (for another device session)`;
  return `#${String(event['position'])} ${String(event['kind'])} ${JSON.stringify(event['payload'])}`;
}

/** How many events a frame carries (for `--count`). */
export function eventsIn(data: string): number {
  try {
    const frame = JSON.parse(data) as { type?: unknown; events?: unknown } | null;
    if (frame?.type === 'event') return 1;
    return frame?.type === 'events' && Array.isArray(frame.events) ? frame.events.length : 0;
  } catch {
    return 0;
  }
}
