/** How a queue consumer spaces the receives of a message whose handling keeps failing. */
export interface ReceiveBackoff {
  /** Wait after the first failed receive. */
  readonly minMs: number;
  /** Ceiling of the doubling. */
  readonly maxMs: number;
  /** The queue's maxReceiveCount: after the last receive the message goes to the DLQ at once. */
  readonly maxReceives: number;
  /** ± fraction of each wait, so messages that failed together do not come back together. @default 0 */
  readonly jitter?: number;
}

/** The intake queue: a throttle or a blip is over in a second; about 28 minutes of failing reaches the DLQ. */
export const INTAKE_RECEIVE_BACKOFF: ReceiveBackoff = { minMs: 1_000, maxMs: 5 * 60_000, maxReceives: 14, jitter: 0.2 };
/** The lifecycle queue: 2, 4, 8, 16, 32 s; about a minute of failing reaches the DLQ. */
export const LIFECYCLE_RECEIVE_BACKOFF: ReceiveBackoff = { minMs: 2_000, maxMs: 5 * 60_000, maxReceives: 6 };

/**
 * How long a message whose handling failed waits before its next receive (set with
 * ChangeMessageVisibility instead of waiting out the queue's visibility timeout): `minMs` after the
 * first receive, doubling per receive up to `maxMs`, ± jitter. After the queue's last receive,
 * none: the message goes to its DLQ at once.
 */
export function receiveBackoffMs(receiveCount: number, backoff: ReceiveBackoff, random: () => number = Math.random): number {
  if (receiveCount >= backoff.maxReceives) return 0;
  const exponent = Math.max(0, Math.min(Math.floor(receiveCount) - 1, 30));
  const base = Math.min(backoff.maxMs, backoff.minMs * 2 ** exponent);
  const jitter = backoff.jitter ?? 0;
  return Math.round(base * (1 + (random() * 2 - 1) * jitter));
}

/** The total a message waits across every failed receive before its DLQ (the jitter's middle). */
export function receiveBackoffSpanMs(backoff: ReceiveBackoff): number {
  let total = 0;
  for (let receive = 1; receive < backoff.maxReceives; receive += 1) total += receiveBackoffMs(receive, backoff, () => 0.5);
  return total;
}
