/** First retry of a failed lifecycle event: a throttle or a brief outage is over by then. */
export const LIFECYCLE_RETRY_MIN_MS = 2_000;
/** Ceiling of the doubling: later receives of a still-failing event come back at most this far apart. */
export const LIFECYCLE_RETRY_MAX_MS = 5 * 60_000;

/**
 * How long a failed lifecycle event waits before its next receive: 2 s after the first receive,
 * doubling per receive up to 5 min. After the queue's last receive, none: the event goes to the
 * DLQ at once (with 6 receives: 2 + 4 + 8 + 16 + 32 s, about a minute of failing).
 */
export function lifecycleRetryDelayMs(receiveCount: number, maxReceives: number): number {
  if (receiveCount >= maxReceives) return 0;
  const exponent = Math.max(0, Math.min(Math.floor(receiveCount) - 1, 20));
  return Math.min(LIFECYCLE_RETRY_MAX_MS, LIFECYCLE_RETRY_MIN_MS * 2 ** exponent);
}
