import { describe, expect, it } from 'vitest';
import { chunk, chunkWithin } from '../../functions/adapters/chunk.ts';

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

describe('chunkWithin', () => {
  const bytes = (s: string) => s.length;

  it('closes a group at the count cap', () => {
    expect(chunkWithin(['a', 'b', 'c', 'd', 'e'], 2, 100, bytes)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('closes a group before the item that would take it over the size cap', () => {
    expect(chunkWithin(['aaaa', 'bbbb', 'cc', 'd', 'eeeee'], 10, 8, bytes)).toEqual([['aaaa', 'bbbb'], ['cc', 'd', 'eeeee']]);
    expect(chunkWithin(['aaaa', 'bbbb', 'c'], 10, 8, bytes)).toEqual([['aaaa', 'bbbb'], ['c']]);
  });

  it('puts an item over the size cap in a group of its own, keeping order', () => {
    expect(chunkWithin(['a', 'huge-item', 'b'], 10, 4, bytes)).toEqual([['a'], ['huge-item'], ['b']]);
  });

  it('gives no groups for no items and refuses a count that would never advance', () => {
    expect(chunkWithin([], 10, 8, bytes)).toEqual([]);
    expect(() => chunkWithin(['a'], 0, 8, bytes)).toThrow(RangeError);
  });
});
