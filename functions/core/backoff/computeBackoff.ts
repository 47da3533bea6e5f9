import { ConfigurationError } from '../errors.ts';

/** Retry policy for routes: exponential from `minMs` doubling to `maxMs`, with ±`jitter`. */
export interface RetryPolicy {
  readonly minMs: number;
  readonly maxMs: number;
  /** Fraction of the delay added or removed at random; 0.2 = ±20 %. */
  readonly jitter: number;
  /** Default attempts per route when the catalog entry does not say. */
  readonly maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { minMs: 5_000, maxMs: 15 * 60_000, jitter: 0.2, maxAttempts: 6 };
/**
 * Longest backoff: 12 h. A delay beyond what SQS can hold a received message for is the sweeper's
 * to wait out, and a route must still finish well inside the notification's retention.
 */
export const MAX_BACKOFF_MS = 12 * 3_600_000;

/** Validates a retry policy, naming the bad field (seed: "route backoff min must not exceed route backoff max"). */
export function validateRetryPolicy(policy: RetryPolicy): RetryPolicy {
  if (!(policy.minMs > 0)) throw new ConfigurationError('retry policy: minimum backoff must be positive');
  if (!(policy.maxMs > 0)) throw new ConfigurationError('retry policy: maximum backoff must be positive');
  if (policy.maxMs > MAX_BACKOFF_MS) throw new ConfigurationError('retry policy: maximum backoff must be at most 12 hours');
  if (policy.minMs > policy.maxMs) throw new ConfigurationError('retry policy: minimum backoff must not exceed maximum backoff');
  if (!(policy.jitter >= 0 && policy.jitter < 1)) throw new ConfigurationError('retry policy: jitter must be in [0, 1)');
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new ConfigurationError('retry policy: maxAttempts must be a positive integer');
  }
  return policy;
}

/**
 * Delay before the attempt after `attempt` (1-based: the attempt that just failed).
 * attempt 1 → min, then doubling, capped at max; jitter spreads it by ±jitter but never beyond max
 * and never below (1 − jitter) × the un-jittered delay.
 */
export function computeBackoff(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  const base = Math.min(policy.maxMs, policy.minMs * 2 ** Math.min(exponent, 52));
  const jittered = base + (random() * 2 - 1) * policy.jitter * base;
  return Math.round(Math.min(policy.maxMs, Math.max(base * (1 - policy.jitter), jittered)));
}
