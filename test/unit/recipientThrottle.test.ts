import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { throttleWindowStart } from '../../functions/core/throttle/recipientThrottle.ts';

describe('throttleWindowStart', () => {
  it('is the start of the fixed, epoch-aligned window the time falls in', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.integer({ min: 60, max: 30 * 86_400 }), (at, windowSeconds) => {
        const start = throttleWindowStart(at, { limit: 1, windowSeconds });
        expect(start % (windowSeconds * 1000)).toBe(0);
        expect(start <= at && at < start + windowSeconds * 1000).toBe(true);
      }),
    );
  });

  it('puts an hour\'s window on the hour', () => {
    expect(throttleWindowStart(Date.parse('2026-12-04T23:59:59.999Z'), { limit: 1, windowSeconds: 3600 })).toBe(Date.parse('2026-12-04T23:00:00Z'));
    expect(throttleWindowStart(Date.parse('2026-12-05T00:00:00Z'), { limit: 1, windowSeconds: 3600 })).toBe(Date.parse('2026-12-05T00:00:00Z'));
  });
});
