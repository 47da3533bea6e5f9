import type { StreamHead } from './pushTypes.ts';

/**
 * How long a stored event outlives its freshness window before TTL deletes it. Replay ignores it
 * by then; it stays so that the newest event keeps telling the stream's last position through a
 * quiet spell, because the head item is not rewritten per event (see {@link readStreamHead}).
 */
export const EVENT_KEEP_AFTER_FRESHNESS_MS = 7 * 24 * 3_600_000;

/**
 * An event that TTL may delete within this long no longer vouches for the stream's last position:
 * events after it may already be gone (TTL deletes in no particular order, an append takes up to a
 * function timeout between taking `now` and storing, and clocks differ by a little).
 */
export const DELETION_MARGIN_MS = 3_600_000;

/**
 * A stream begun over what an earlier epoch left (a new epoch replacing one, or a new stream over
 * events a purge has not deleted yet) begins this many positions above what it found. An append
 * that read the old head just before (and so claims in the old epoch) moves on at most its attempt
 * limit (30) past that head; its event then lands below the new epoch's first position, where
 * replay of the new epoch never looks, instead of among the new epoch's positions.
 */
export const NEW_EPOCH_SKIP = 1_000;

/** The head item: the stream's epoch, the position before its first event, and when it began. */
export interface StoredHead {
  readonly epoch: string;
  readonly base: number;
  readonly startedAt: number;
}

/** The newest event item of a stream partition, as far as the head needs it. */
export interface NewestEvent {
  readonly epoch: string;
  readonly position: number;
  /** Epoch ms from which TTL may delete it. */
  readonly deletableAt: number;
}

export type StreamHeadReading =
  /** The last position is known: the next event goes at `head.position + 1`. */
  | { readonly kind: 'known'; readonly head: StreamHead }
  /** No stream: begin one whose first event goes after `base` (0, or {@link NEW_EPOCH_SKIP} above anything left in the partition). */
  | { readonly kind: 'absent'; readonly base: number }
  /**
   * The last position cannot be vouched for (events may have been deleted): replace epoch
   * `epoch` by a new one whose first event goes after `base` (above everything found, by
   * {@link NEW_EPOCH_SKIP}). Cursors of the old epoch become stale.
   */
  | { readonly kind: 'unknown'; readonly epoch: string; readonly base: number };

/**
 * The stream's last position from its head item and its newest event item, read together. The head
 * item is written when an epoch begins, never per event: the newest event of the epoch tells the
 * last position — as long as no event after it can have been deleted. Events are stored in position
 * order and each is kept until `expires_at_ms + EVENT_KEEP_AFTER_FRESHNESS_MS`, so while the newest
 * one found is more than {@link DELETION_MARGIN_MS} from deletion, so is every event after it, and it
 * is the newest. With no event of the epoch found, its base is the last position only while no
 * event of the epoch could have been deleted yet. Anything else begins a new epoch: a stream quiet
 * for about `EVENT_KEEP_AFTER_FRESHNESS_MS` plus the freshness window, or one whose newest item is of
 * another epoch (an append that raced a purge).
 */
export function readStreamHead(head: StoredHead | undefined, newest: NewestEvent | undefined, now: number): StreamHeadReading {
  if (head === undefined) return { kind: 'absent', base: newest === undefined ? 0 : newest.position + NEW_EPOCH_SKIP };
  const base = Math.max(head.base, newest?.position ?? 0) + NEW_EPOCH_SKIP;
  if (newest !== undefined && newest.epoch === head.epoch) {
    return newest.deletableAt > now + DELETION_MARGIN_MS
      ? { kind: 'known', head: { epoch: head.epoch, position: Math.max(newest.position, head.base) } }
      : { kind: 'unknown', epoch: head.epoch, base };
  }
  // Nothing of this epoch found. A leftover of an older epoch below the base is harmless; one above
  // it would be taken for part of this stream by replay.
  if (newest !== undefined && newest.position > head.base) return { kind: 'unknown', epoch: head.epoch, base };
  return now < head.startedAt + EVENT_KEEP_AFTER_FRESHNESS_MS - DELETION_MARGIN_MS
    ? { kind: 'known', head: { epoch: head.epoch, position: head.base } }
    : { kind: 'unknown', epoch: head.epoch, base };
}
