import { describe, expect, it } from 'vitest';
import { median, medianItem, percentile } from '../../bench/stats.ts';

describe('bench statistics', () => {
  it('takes nearest-rank percentiles and medians', () => {
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99)).toBe(10);
    expect(percentile([], 50)).toBeUndefined();
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('picks the run whose figure is the median, the lower middle one of an even count', () => {
    const runs = [{ id: 'a', p50: 164 }, { id: 'b', p50: 62 }, { id: 'c', p50: 71 }];
    expect(medianItem(runs, (r) => r.p50)?.id).toBe('c');
    expect(medianItem([...runs, { id: 'd', p50: 90 }], (r) => r.p50)?.id).toBe('c');
    expect(medianItem([runs[0]!], (r) => r.p50)?.id).toBe('a');
    expect(medianItem([], () => 0)).toBeUndefined();
  });
});
