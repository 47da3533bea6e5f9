/** A frame from the push socket as `herald tail` shows it to people. */
export interface ShownFrame {
  /** One line per event; one line for any other frame. */
  lines: string[];
  /** How many events the frame carries (for `--count`). */
  events: number;
}

export function showFrame(data: string): ShownFrame {
  let frame: { type?: unknown; events?: unknown; [key: string]: unknown };
  try {
    frame = JSON.parse(data) as typeof frame;
  } catch {
    return { lines: [`[not JSON] ${data}`], events: 0 };
  }
  if (typeof frame !== 'object' || frame === null) return { lines: [`[not a frame] ${data}`], events: 0 };
  switch (frame.type) {
    case 'event':
      return { lines: [eventLine(frame)], events: 1 };
    case 'events':
      // A replay frame packs up to 32 KB of events; one line each, as if they had come live.
      return Array.isArray(frame.events)
        ? { lines: frame.events.map((event) => `${eventLine(event as Record<string, unknown>)}  (replayed)`), events: frame.events.length }
        : { lines: [`[events] ${data}`], events: 0 };
    case undefined: {
      // API Gateway's own messages ({"message":"Internal server error",…}) have no type.
      const { message, ...rest } = frame;
      return { lines: [`[gateway] ${String(message ?? '')} ${JSON.stringify(rest)}`.trimEnd()], events: 0 };
    }
    default: {
      const { type, ...rest } = frame;
      return { lines: [`[${String(type)}] ${JSON.stringify(rest)}`], events: 0 };
    }
  }
}

function eventLine(event: Record<string, unknown>): string {
  if (event['redacted']) return `#${String(event['position'])} (for another device session)`;
  return `#${String(event['position'])} ${String(event['kind'])} ${JSON.stringify(event['payload'])}`;
}
