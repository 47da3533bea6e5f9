import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mapWithConcurrency } from '../../functions/core/mapWithConcurrency.ts';

describe('mapWithConcurrency', () => {
  it('maps every item in order with at most `concurrency` in flight', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer(), { maxLength: 40 }), fc.integer({ min: 1, max: 8 }), async (items, concurrency) => {
        let inFlight = 0;
        let most = 0;
        const results = await mapWithConcurrency(items, concurrency, async (n) => {
          most = Math.max(most, (inFlight += 1));
          await new Promise((resolve) => setTimeout(resolve, Math.abs(n % 3)));
          inFlight -= 1;
          return n * 2;
        });
        expect(results).toEqual(items.map((n) => n * 2));
        expect(most).toBeLessThanOrEqual(concurrency);
      }),
      { numRuns: 30 },
    );
  });

  it('with stopWhen, starts nothing once it says so, lets those under way finish, and answers the prefix started', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 6 }), async (length, stopAfter, concurrency) => {
        const items = Array.from({ length }, (_, i) => i);
        let started = 0;
        const finished: number[] = [];
        const results = await mapWithConcurrency(items, concurrency, async (n) => {
          started += 1;
          await new Promise((resolve) => setTimeout(resolve, 1));
          finished.push(n);
          return n;
        }, { stopWhen: () => started >= stopAfter });
        expect(results).toEqual(items.slice(0, Math.min(length, stopAfter)));
        expect(finished.sort((a, b) => a - b)).toEqual(results);
      }),
      { numRuns: 40 },
    );
  });
});
