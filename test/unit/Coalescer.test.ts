import { describe, expect, it } from 'vitest';
import { Coalescer } from '../../functions/adapters/Coalescer.ts';

describe('Coalescer', () => {
  it('answers the calls of one turn with one batch call of their distinct keys', async () => {
    const calls: string[][] = [];
    const coalescer = new Coalescer<string, string>(async (keys) => {
      calls.push(keys);
      return new Map(keys.map((k) => [k, k.toUpperCase()]));
    });
    const answers = await Promise.all([coalescer.load('a'), coalescer.load('b'), coalescer.load('a')]);
    expect(answers).toEqual(['A', 'B', 'A']);
    expect(calls).toEqual([['a', 'b']]);
  });

  it('starts a new batch for calls made after the first one was sent', async () => {
    const calls: number[][] = [];
    const coalescer = new Coalescer<number, number>(async (keys) => {
      calls.push(keys);
      return new Map(keys.map((k) => [k, k * 2]));
    });
    expect(await coalescer.load(1)).toBe(2);
    expect(await coalescer.load(2)).toBe(4);
    expect(calls).toEqual([[1], [2]]);
  });

  it('rejects only the callers of a key answered with an error, and everyone when the batch fails', async () => {
    const partial = new Coalescer<string, string>(async (keys) => new Map(keys.map((k) => [k, k === 'bad' ? new Error(`no ${k}`) : k])));
    const [good, bad] = await Promise.allSettled([partial.load('good'), partial.load('bad')]);
    expect(good).toEqual({ status: 'fulfilled', value: 'good' });
    expect(bad).toMatchObject({ status: 'rejected', reason: new Error('no bad') });

    const failing = new Coalescer<string, string>(async () => {
      throw new Error('throttled');
    });
    const settled = await Promise.allSettled([failing.load('x'), failing.load('y')]);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
  });

  it('rejects a key the batch call left unanswered instead of waiting forever', async () => {
    const coalescer = new Coalescer<string, string>(async () => new Map());
    await expect(coalescer.load('lost')).rejects.toThrow(/no answer/);
  });
});
