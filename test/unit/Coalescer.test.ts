import { describe, expect, it } from 'vitest';
import { Coalescer } from '../../functions/adapters/Coalescer.ts';

describe('Coalescer', () => {
  it('answers the calls of one turn with one batch call of their distinct keys', async () => {
    const calls: string[][] = [];
    const coalescer = new Coalescer<string, string | undefined>(async (keys) => {
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

  it('asks a key whose shared call failed again alone, so one failed request fails only the callers it concerns', async () => {
    // Prepare: the shared call fails once (a throttle); a second call with `poison` in it fails too.
    const calls: string[][] = [];
    let throttled = false;
    const coalescer = new Coalescer<string, string | undefined>(async (keys) => {
      calls.push(keys);
      if (!throttled) {
        throttled = true;
        throw new Error('ProvisionedThroughputExceededException');
      }
      if (keys.includes('poison')) throw new Error('ValidationException');
      // A key found to have no value is answered undefined, as a BatchGetItem miss is.
      return new Map(keys.map((k) => [k, k === 'none' ? undefined : k.toUpperCase()]));
    });

    // Act
    const settled = await Promise.allSettled([coalescer.load('a'), coalescer.load('poison'), coalescer.load('none')]);

    // Assess: the shared call, then each key alone.
    expect(settled).toEqual([
      { status: 'fulfilled', value: 'A' },
      { status: 'rejected', reason: new Error('ValidationException') },
      { status: 'fulfilled', value: undefined },
    ]);
    expect(calls.map((keys) => keys.join())).toEqual(['a,poison,none', 'a', 'poison', 'none']);
  });

  it('rejects a key the batch call left unanswered instead of waiting forever', async () => {
    const coalescer = new Coalescer<string, string>(async () => new Map());
    await expect(coalescer.load('lost')).rejects.toThrow(/no answer/);
  });
});
