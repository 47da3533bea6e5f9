import { describe, expect, it } from 'vitest';
import { chunk } from '../../functions/adapters/chunk.ts';

describe('chunk', () => {
  it('keeps order and leaves the remainder in a shorter last group', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('gives one group when the items fit and none for no items', () => {
    expect(chunk(['a', 'b'], 25)).toEqual([['a', 'b']]);
    expect(chunk([], 25)).toEqual([]);
  });

  it('refuses a size that would never advance', () => {
    expect(() => chunk([1], 0)).toThrow('chunk size must be a positive integer, got 0');
    expect(() => chunk([1], 2.5)).toThrow(RangeError);
  });
});
