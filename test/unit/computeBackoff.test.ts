import { describe, expect, it } from 'vitest';
import { computeBackoff, validateRetryPolicy, type RetryPolicy } from '../../functions/core/backoff/computeBackoff.ts';

const policy: RetryPolicy = { minMs: 1_000, maxMs: 60_000, jitter: 0.2, maxAttempts: 10 };
const noJitter = () => 0.5; // random() = 0.5 → zero offset

describe('computeBackoff', () => {
  it.each([
    [1, 1_000],
    [2, 2_000],
    [3, 4_000],
    [4, 8_000],
    [6, 32_000],
    [7, 60_000],
    [30, 60_000],
    [2000, 60_000],
  ])('attempt %i waits %i ms before jitter (min, doubling, capped at max)', (attempt, expected) => {
    expect(computeBackoff(attempt, policy, noJitter)).toBe(expected);
  });

  it.each([
    [1, 0, 800],
    [1, 1, 1_200],
    [3, 0, 3_200],
    [3, 0.999999, 4_800],
  ])('attempt %i with random %f stays within ±jitter: %i ms', (attempt, random, expected) => {
    expect(computeBackoff(attempt, policy, () => random)).toBeCloseTo(expected, -1);
  });

  it('never exceeds the maximum, even with upward jitter', () => {
    for (let attempt = 1; attempt < 20; attempt += 1) {
      expect(computeBackoff(attempt, policy, () => 0.999999)).toBeLessThanOrEqual(policy.maxMs);
    }
  });

  it('keeps every jittered delay within [(1 − j)·d, min((1 + j)·d, max)] over many draws', () => {
    for (let attempt = 1; attempt <= 8; attempt += 1) {
      const base = Math.min(policy.maxMs, policy.minMs * 2 ** (attempt - 1));
      for (let i = 0; i < 200; i += 1) {
        const delay = computeBackoff(attempt, policy);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
        expect(delay).toBeLessThanOrEqual(Math.min(Math.ceil(base * 1.2), policy.maxMs));
      }
    }
  });

  it('treats attempt 0 or less like the first attempt', () => {
    expect(computeBackoff(0, policy, noJitter)).toBe(1_000);
  });
});

describe('validateRetryPolicy', () => {
  it.each([
    [{ minMs: 0 }, 'minimum backoff must be positive'],
    [{ maxMs: -1 }, 'maximum backoff must be positive'],
    [{ minMs: 5_000, maxMs: 1_000 }, 'minimum backoff must not exceed maximum backoff'],
    [{ jitter: 1 }, 'jitter must be in [0, 1)'],
    [{ maxAttempts: 0 }, 'maxAttempts must be a positive integer'],
    [{ maxAttempts: 1.5 }, 'maxAttempts must be a positive integer'],
    // Beyond what SQS can hold a received message for; the sweeper covers long waits, but not unbounded ones.
    [{ maxMs: 12 * 3_600_000 + 1 }, 'maximum backoff must be at most 12 hours'],
  ])('rejects %o: %s', (change, message) => {
    expect(() => validateRetryPolicy({ ...policy, ...change })).toThrow(message);
  });

  it('accepts a sound policy', () => {
    expect(validateRetryPolicy(policy)).toEqual(policy);
  });
});
