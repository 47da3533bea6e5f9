import { decodeCursor, encodeCursor, MalformedCursorError, type StreamCursor } from './cursorCodec.ts';
import { eventBody, packReplayFrames, serialiseFrame } from './frames.ts';
import type { ConnectionSender, EventBuffer } from './pushPorts.ts';
import type { ReplayBudget } from './ClientBudget.ts';
import { MAX_REPLAY_EVENTS } from './pushTypes.ts';
import type { Clock } from '../types.ts';

/** Who is resuming: always the authenticated user of the connection, never a cursor's claim. */
export interface ResumeRequest {
  readonly userId: string;
  readonly deviceSessionId?: string;
  readonly connectionId: string;
  /** '' = live tail only. */
  readonly cursor: string;
}

export type ResumeOutcome =
  | { readonly kind: 'replayed'; readonly events: number; readonly frames: number }
  | { readonly kind: 'stale'; readonly reason: string }
  | { readonly kind: 'malformed' }
  /** Over the connection's replay budget: nothing read or sent (the caller answers `rate_limited`); `close` when it was told before. */
  | { readonly kind: 'over_budget'; readonly retryAfterMs: number; readonly close: boolean };

const PAGE = 1_000;

/**
 * `resume`: sends every event after the cursor, in position order, packed into ≤ 32 KB frames, then
 * `replay_complete` with the latest cursor. A cursor from another epoch (stream reset, or another
 * user's stream), beyond the tail, or older than what the buffer still holds → `cursor_stale`.
 * A malformed cursor → an `error` frame; the connection stays on the live tail.
 */
export class ResumeStream {
  public constructor(
    private readonly deps: { readonly buffer: EventBuffer; readonly sender: ConnectionSender; readonly clock: Clock; readonly budget?: ReplayBudget },
  ) {}

  public async resume(request: ResumeRequest): Promise<ResumeOutcome> {
    const { buffer, sender } = this.deps;
    const send = (frame: Parameters<typeof serialiseFrame>[0]) => sender.send(request.connectionId, serialiseFrame(frame));
    // Always a real stream (its head created if need be), so every cursor handed out can be resumed from.
    const tail = await buffer.tail(request.userId, this.deps.clock.now());
    const tailCursor = encodeCursor(tail);
    const stream = tail.epoch;
    // Charged before anything is read or sent: the events this resume would replay (none when it
    // will not replay), so a client looping resume spends its budget, not Herald's reads.
    const cursor = request.cursor === '' ? undefined : decodedOrRefused(request.cursor);
    const budget = await this.deps.budget?.charge({ userId: request.userId, connectionId: request.connectionId, events: replayLength(cursor, tail) }, this.deps.clock.now());
    if (budget?.kind === 'over') return { kind: 'over_budget', retryAfterMs: budget.retryAfterMs, close: budget.close };
    if (cursor === undefined) {
      await send({ type: 'replay_complete', cursor: tailCursor, stream, position: tail.position });
      return { kind: 'replayed', events: 0, frames: 0 };
    }
    if (cursor instanceof MalformedCursorError) {
      await send({ type: 'error', code: 'malformed_cursor', message: cursor.message });
      return { kind: 'malformed' };
    }
    const stale = async (reason: string): Promise<ResumeOutcome> => {
      await send({ type: 'cursor_stale', cursor: tailCursor, stream, position: tail.position, reason });
      return { kind: 'stale', reason };
    };
    if (tail.epoch !== cursor.epoch) return stale('the stream this cursor belongs to no longer exists');
    if (cursor.position > tail.position) return stale('the cursor is ahead of the stream');
    if (tail.position - cursor.position > MAX_REPLAY_EVENTS) return stale(`more than ${MAX_REPLAY_EVENTS} events were missed`);

    const now = this.deps.clock.now();
    const events = [];
    let after = cursor.position;
    while (after < tail.position) {
      const page = await buffer.readAfter(request.userId, after, PAGE, now);
      if (page.length === 0) break;
      events.push(...page);
      after = page[page.length - 1]!.position;
    }
    // Gapless positions: the first event must directly follow the cursor, or history is gone.
    if (cursor.position < tail.position && events[0]?.position !== cursor.position + 1) {
      return stale('events after this cursor have expired from the buffer');
    }
    const frames = packReplayFrames(events.map((e) => eventBody(e, request.deviceSessionId)));
    for (const frame of frames) await sender.send(request.connectionId, frame);
    const last = events[events.length - 1];
    await send({ type: 'replay_complete', cursor: last ? encodeCursor(last) : encodeCursor(cursor), stream, position: last?.position ?? cursor.position });
    return { kind: 'replayed', events: events.length, frames: frames.length };
  }
}

/** The cursor's stream and position, or why it cannot be read. */
function decodedOrRefused(cursor: string): StreamCursor | MalformedCursorError {
  try {
    return decodeCursor(cursor);
  } catch (error) {
    if (!(error instanceof MalformedCursorError)) throw error;
    return error;
  }
}

/** How many events a resume from `cursor` would replay; 0 when it would not replay (live tail, unreadable, stale). */
function replayLength(cursor: StreamCursor | MalformedCursorError | undefined, tail: StreamCursor): number {
  if (cursor === undefined || cursor instanceof MalformedCursorError) return 0;
  const behind = tail.position - cursor.position;
  return cursor.epoch === tail.epoch && behind > 0 && behind <= MAX_REPLAY_EVENTS ? behind : 0;
}
