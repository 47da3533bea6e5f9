import { describe, expect, it } from 'vitest';
import { RefreshingValue } from '../../functions/core/auth/RefreshingValue.ts';

/** A loader that answers from a script of outcomes, counting its calls; and a clock the test moves. */
function scripted(outcomes: (string | Error)[]) {
  const clock = { at: 0, now: () => clock.at };
  let calls = 0;
  const load = async () => {
    const outcome = outcomes[Math.min(calls++, outcomes.length - 1)]!;
    if (outcome instanceof Error) throw outcome;
    return outcome;
  };
  return { clock, load, calls: () => calls };
}

describe('RefreshingValue', () => {
  it('does not keep a failed load: the next call loads again (a cold-start failure must not refuse every later caller)', async () => {
    // Prepare
    const source = scripted([new Error('Secrets Manager throttled'), 'key-1']);
    const value = new RefreshingValue(source.load, 60_000, source.clock);

    // Act / Assess
    await expect(value.get()).rejects.toThrow('throttled');
    expect(await value.get()).toBe('key-1');
    expect(source.calls()).toBe(2);
  });

  it('keeps a value for its time to live, then loads it again (a rotated key is picked up)', async () => {
    const source = scripted(['key-1', 'key-2']);
    const value = new RefreshingValue(source.load, 60_000, source.clock);
    expect(await value.get()).toBe('key-1');
    source.clock.at = 59_999;
    expect(await value.get()).toBe('key-1');
    source.clock.at = 60_000;
    expect(await value.get()).toBe('key-2');
    expect(source.calls()).toBe(2);
  });

  it('serves the previous value when a refresh fails, and tells so', async () => {
    const source = scripted(['key-1', new Error('network')]);
    const stale: unknown[] = [];
    const value = new RefreshingValue(source.load, 1_000, source.clock, (error) => stale.push(error));
    await value.get();
    source.clock.at = 5_000;
    expect(await value.get()).toBe('key-1');
    expect(stale).toHaveLength(1);
  });

  it('refreshes early on request only when the value is at least that old', async () => {
    const source = scripted(['key-1', 'key-2']);
    const value = new RefreshingValue(source.load, 300_000, source.clock);
    await value.get();
    source.clock.at = 4_000;
    expect(await value.refreshIfOlderThan(5_000)).toBe('key-1');
    source.clock.at = 5_000;
    expect(await value.refreshIfOlderThan(5_000)).toBe('key-2');
  });

  it('shares one load among concurrent callers', async () => {
    const source = scripted(['key-1']);
    const value = new RefreshingValue(source.load, 1_000, source.clock);
    expect(await Promise.all([value.get(), value.get(), value.get()])).toEqual(['key-1', 'key-1', 'key-1']);
    expect(source.calls()).toBe(1);
  });
});
