import { describe, expect, it } from 'vitest';
import { lifecycleRetryDelayMs } from '../../functions/core/lifecycle/lifecycleRetryDelay.ts';

describe('lifecycleRetryDelayMs', () => {
  it.each([
    [1, 2_000],
    [2, 4_000],
    [3, 8_000],
    [5, 32_000],
    [8, 256_000],
    [9, 300_000],
    [999, 300_000],
    [0, 2_000],
  ])('after receive %i of 1000 waits %i ms', (receive, expected) => {
    expect(lifecycleRetryDelayMs(receive, 1_000)).toBe(expected);
  });

  it('sends an event to its DLQ at once after the last receive', () => {
    expect(lifecycleRetryDelayMs(6, 6)).toBe(0);
    expect(lifecycleRetryDelayMs(7, 6)).toBe(0);
  });

  it('gives an event failing every one of 6 receives about a minute before its DLQ', () => {
    const total = [1, 2, 3, 4, 5, 6].reduce((sum, receive) => sum + lifecycleRetryDelayMs(receive, 6), 0);
    expect(total).toBe(62_000);
  });
});
