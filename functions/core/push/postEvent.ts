import { eventBody, serialiseFrame } from './frames.ts';
import { ConnectionGoneError, FrameTooLargeError, type ConnectionRegistry, type ConnectionSender } from './pushPorts.ts';
import type { StreamEvent } from './pushTypes.ts';

/** How long after $connect a 410 is taken as "not open yet" rather than "gone". */
export const CONNECT_GRACE_MS = 10_000;

export interface PostOutcome {
  readonly sent: number;
  readonly gone: number;
  /** The frame was over API Gateway's message limit (the event is stored, but no client can be sent it). */
  readonly tooLarge?: FrameTooLargeError;
  /** Other failed posts: `<connection id>: <error>`. */
  readonly failures: readonly string[];
}

/**
 * Sends a stored event to each live connection of its user (or of its device session only).
 * Connections found gone (410) are removed, unless they registered within the last
 * CONNECT_GRACE_MS ($connect registers a connection before API Gateway can post to it). Listed
 * only after the event is stored: a client that registers after this read resumes from a stream
 * that already holds the event, so no live client misses it.
 */
export async function postToLiveConnections(
  deps: { readonly registry: ConnectionRegistry; readonly sender: ConnectionSender },
  event: StreamEvent,
  now: number,
): Promise<PostOutcome> {
  const listed = await deps.registry.listForUser(event.user_id);
  const connections = listed.filter((c) => event.device_session_id === undefined || c.device_session_id === event.device_session_id);
  let sent = 0;
  let gone = 0;
  let tooLarge: FrameTooLargeError | undefined;
  const failures: string[] = [];
  await Promise.all(
    connections.map(async (connection) => {
      const frame = serialiseFrame({ type: 'event', ...eventBody(event, connection.device_session_id) });
      try {
        await deps.sender.send(connection.connection_id, frame);
        sent += 1;
      } catch (error) {
        if (error instanceof FrameTooLargeError) {
          tooLarge = error;
        } else if (error instanceof ConnectionGoneError) {
          gone += 1;
          await deps.registry.removeIfConnectedBefore(connection.user_id, connection.connection_id, now - CONNECT_GRACE_MS);
        } else {
          failures.push(`${connection.connection_id}: ${(error as Error).name}: ${(error as Error).message}`);
        }
      }
    }),
  );
  return { sent, gone, failures, ...(tooLarge ? { tooLarge } : {}) };
}
