import { describe, expect, it } from 'vitest';
import { INTAKE_RECEIVE_BACKOFF, LIFECYCLE_RECEIVE_BACKOFF, receiveBackoffMs, receiveBackoffSpanMs } from '../../functions/core/backoff/receiveBackoff.ts';

describe('receiveBackoffMs', () => {
  const doubling = { minMs: 2_000, maxMs: 300_000, maxReceives: 1_000 };

  it.each([
    [1, 2_000],
    [2, 4_000],
    [3, 8_000],
    [5, 32_000],
    [8, 256_000],
    [9, 300_000],
    [999, 300_000],
    [0, 2_000],
  ])('after receive %i waits %i ms', (receive, expected) => {
    expect(receiveBackoffMs(receive, doubling)).toBe(expected);
  });

  it('sends a message to its DLQ at once after the queue\'s last receive', () => {
    expect(receiveBackoffMs(6, LIFECYCLE_RECEIVE_BACKOFF)).toBe(0);
    expect(receiveBackoffMs(7, LIFECYCLE_RECEIVE_BACKOFF)).toBe(0);
  });

  it('spreads waits by ± jitter, never outside it', () => {
    expect(receiveBackoffMs(1, INTAKE_RECEIVE_BACKOFF, () => 0)).toBe(800);
    expect(receiveBackoffMs(1, INTAKE_RECEIVE_BACKOFF, () => 1)).toBe(1_200);
    expect(receiveBackoffMs(3, INTAKE_RECEIVE_BACKOFF, () => 0.5)).toBe(4_000);
  });

  it('gives a lifecycle event about a minute and an intent about 28 minutes of failing before the DLQ', () => {
    expect(receiveBackoffSpanMs(LIFECYCLE_RECEIVE_BACKOFF)).toBe(62_000);
    expect(receiveBackoffSpanMs(INTAKE_RECEIVE_BACKOFF)).toBe(1_000 + 2_000 + 4_000 + 8_000 + 16_000 + 32_000 + 64_000 + 128_000 + 256_000 + 4 * 300_000);
  });
});
