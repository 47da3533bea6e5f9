import { describe, expect, it } from 'vitest';
import { decideOutcome, refuseLease } from '../../functions/core/route/routeTransitions.ts';
import type { RouteRecord } from '../../functions/core/types.ts';

const NOW = 1_000_000;
const policy = { minMs: 1_000, maxMs: 8_000, jitter: 0, maxAttempts: 3 };
const route = (change: Partial<RouteRecord> = {}): RouteRecord => ({
  notification_id: 'n', route_id: 'email:u', channel: 'email', user_id: 'u', status: 'pending',
  attempts: 0, max_attempts: 3, next_attempt_at: NOW, due_shard: 0, updated_at: NOW, ...change,
});

describe('refuseLease', () => {
  it.each([
    ['pending and due', route(), undefined],
    ['failed and due', route({ status: 'failed', attempts: 1 }), undefined],
    ['lease expired (crashed worker)', route({ attempts: 1, lease_expires_at: NOW - 1 }), undefined],
    ['published', route({ status: 'published' }), { kind: 'terminal' }],
    ['dead_letter', route({ status: 'dead_letter' }), { kind: 'terminal' }],
    ['cancelled', route({ status: 'cancelled' }), { kind: 'terminal' }],
    ['leased by someone else', route({ attempts: 1, lease_expires_at: NOW + 5_000 }), { kind: 'leased', retryAfterMs: 5_000 }],
    ['not yet due', route({ status: 'failed', attempts: 1, next_attempt_at: NOW + 2_000 }), { kind: 'not_due', retryAfterMs: 2_000 }],
    ['every attempt started, last lease expired', route({ attempts: 3, lease_expires_at: NOW - 1 }), { kind: 'exhausted' }],
  ])('%s → %o', (_name, r, expected) => {
    expect(refuseLease(r, NOW)).toEqual(expected);
  });
});

describe('decideOutcome', () => {
  const failure = (retryable = true) => ({ ok: false as const, classification: 'email_send_failed' as const, message: ' boom ', retryable });

  it('publishes on success', () => {
    expect(decideOutcome(route({ attempts: 1 }), { ok: true }, NOW, policy)).toEqual({ status: 'published' });
  });

  it.each([
    [1, 1_000],
    [2, 2_000],
  ])('after failed attempt %i of 3 schedules a retry in %i ms', (attempts, backoff) => {
    expect(decideOutcome(route({ attempts }), failure(), NOW, policy)).toEqual({
      status: 'failed', nextAttemptAt: NOW + backoff, backoffMs: backoff, classification: 'email_send_failed', message: 'boom',
    });
  });

  it('dead-letters when the last attempt fails', () => {
    expect(decideOutcome(route({ attempts: 3 }), failure(), NOW, policy)).toEqual({ status: 'dead_letter', classification: 'email_send_failed', message: 'boom' });
  });

  it('dead-letters a non-retryable failure at once', () => {
    expect(decideOutcome(route({ attempts: 1 }), failure(false), NOW, policy).status).toBe('dead_letter');
  });
});
