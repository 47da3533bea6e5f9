import { computeBackoff, type RetryPolicy } from '../backoff/computeBackoff.ts';
import { TERMINAL_STATUSES, type FailureClassification, type RouteRecord } from '../types.ts';

/** Why a route could not be leased, and what the caller should do about its message. */
export type LeaseRefusal =
  /** published, dead_letter or cancelled: the message is spent, delete it. */
  | { readonly kind: 'terminal' }
  /** Another invocation holds an unexpired lease: look again when it expires. */
  | { readonly kind: 'leased'; readonly retryAfterMs: number }
  /** In backoff: look again when it is due. */
  | { readonly kind: 'not_due'; readonly retryAfterMs: number }
  /** Every attempt was started and the last one never completed: dead-letter as crashed. */
  | { readonly kind: 'exhausted' }
  /** Cancellation was requested while an attempt ran, and that attempt is over: cancel it. */
  | { readonly kind: 'cancel_requested'; readonly reason: string };

/** Whether a route may be leased at `now`: non-terminal, due, unleased, attempts left. */
export function canLease(route: RouteRecord, now: number): boolean {
  return refuseLease(route, now) === undefined;
}

/** The reason a lease would be refused, or undefined when it may be taken. */
export function refuseLease(route: RouteRecord, now: number): LeaseRefusal | undefined {
  if (TERMINAL_STATUSES.has(route.status)) return { kind: 'terminal' };
  if (route.lease_expires_at !== undefined && route.lease_expires_at > now) {
    return { kind: 'leased', retryAfterMs: route.lease_expires_at - now };
  }
  if (route.cancel_requested !== undefined) return { kind: 'cancel_requested', reason: route.cancel_requested };
  if (route.attempts >= route.max_attempts) return { kind: 'exhausted' };
  if (route.next_attempt_at > now) return { kind: 'not_due', retryAfterMs: route.next_attempt_at - now };
  return undefined;
}

/** The state a finished attempt moves a leased route to. */
export type AttemptOutcome =
  | {
      readonly status: 'published';
      /** The provider's id of what was sent (SES's message id), kept on the route. */
      readonly messageId?: string;
    }
  | {
      readonly status: 'failed';
      readonly nextAttemptAt: number;
      readonly backoffMs: number;
      readonly classification: FailureClassification;
      readonly message: string;
    }
  | { readonly status: 'dead_letter'; readonly classification: FailureClassification; readonly message: string };

/**
 * Seed semantics (dispatch-finalise, route-publisher): success → published; failure with attempts
 * left → failed with the next attempt after backoff; out of attempts, or not retryable → dead_letter.
 * `route.attempts` already counts the attempt that just ran (attempts are counted at lease time).
 */
export function decideOutcome(
  route: RouteRecord,
  result: { ok: true; messageId?: string } | { ok: false; classification: FailureClassification; message: string; retryable: boolean },
  now: number,
  policy: RetryPolicy,
  random?: () => number,
): AttemptOutcome {
  if (result.ok) return result.messageId === undefined ? { status: 'published' } : { status: 'published', messageId: result.messageId };
  const message = result.message.trim().slice(0, 1024);
  if (!result.retryable || route.attempts >= route.max_attempts) {
    return { status: 'dead_letter', classification: result.classification, message };
  }
  const backoffMs = computeBackoff(route.attempts, policy, random);
  return { status: 'failed', nextAttemptAt: now + backoffMs, backoffMs, classification: result.classification, message };
}
