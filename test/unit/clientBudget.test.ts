import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConnectionReplayBudget,
  DEFAULT_CLIENT_BUDGET,
  MessageBuckets,
  REPLAY_WINDOW_MS,
  validateClientBudget,
  type ReplayCharge,
  type ReplayLedger,
} from '../../functions/core/push/ClientBudget.ts';
import { ConfigurationError } from '../../functions/core/errors.ts';

describe('MessageBuckets (per-connection token bucket)', () => {
  const policy = { messagesPerMinute: 60, messageBurst: 5 };

  it('never lets more than the burst plus the refill through in any stretch of time, whatever the message times', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3_000 }), { minLength: 1, maxLength: 200 }), (gaps) => {
        const buckets = new MessageBuckets(policy);
        let now = 1_000_000;
        const allowedAt: number[] = [];
        for (const gap of gaps) {
          now += gap;
          if (buckets.take('c', now).kind === 'allowed') allowedAt.push(now);
        }
        for (let i = 0; i < allowedAt.length; i += 1) {
          for (let j = i; j < allowedAt.length; j += 1) {
            const refill = ((allowedAt[j]! - allowedAt[i]!) * policy.messagesPerMinute) / 60_000;
            expect(j - i + 1).toBeLessThanOrEqual(policy.messageBurst + refill + 1e-9);
          }
        }
      }),
    );
  });

  it('serves the burst at once, then warns with the wait for one token, then closes a connection that does not wait', () => {
    const buckets = new MessageBuckets(policy);
    for (let n = 0; n < 5; n += 1) expect(buckets.take('c', 0)).toEqual({ kind: 'allowed' });
    expect(buckets.take('c', 0)).toEqual({ kind: 'over', retryAfterMs: 1_000, close: false });
    expect(buckets.take('c', 400)).toEqual({ kind: 'over', retryAfterMs: 600, close: true });
  });

  it('forgets the warning once a message is served after waiting, and keeps connections apart', () => {
    const buckets = new MessageBuckets(policy);
    for (let n = 0; n < 5; n += 1) buckets.take('c', 0);
    expect(buckets.take('c', 0).kind).toBe('over');
    expect(buckets.take('other', 0)).toEqual({ kind: 'allowed' });
    expect(buckets.take('c', 1_000)).toEqual({ kind: 'allowed' });
    expect(buckets.take('c', 1_000)).toEqual({ kind: 'over', retryAfterMs: 1_000, close: false });
  });

  it('tracks at most maxTracked connections, dropping the least recently used', () => {
    const buckets = new MessageBuckets(policy, 2);
    for (let n = 0; n < 5; n += 1) buckets.take('a', 0);
    buckets.take('b', 0);
    buckets.take('c', 0);
    // 'a' was dropped: it starts again with a full bucket.
    expect(buckets.take('a', 0)).toEqual({ kind: 'allowed' });
  });
});

describe('ConnectionReplayBudget', () => {
  const ledger = (answer: ReplayCharge): ReplayLedger & { asked: Parameters<ReplayLedger['chargeReplay']>[0][] } => {
    const asked: Parameters<ReplayLedger['chargeReplay']>[0][] = [];
    return { asked, chargeReplay: async (charge) => (asked.push(charge), answer) };
  };

  it('charges the current minute with the policy\'s maxima, and answers over with the time to the next minute', async () => {
    const spent = ledger({ kind: 'over', warned: false });
    const budget = new ConnectionReplayBudget(spent, DEFAULT_CLIENT_BUDGET);
    const now = 5 * REPLAY_WINDOW_MS + 12_345;

    expect(await budget.charge({ userId: 'u', connectionId: 'c', events: 7 }, now)).toEqual({ kind: 'over', retryAfterMs: REPLAY_WINDOW_MS - 12_345, close: false });
    expect(spent.asked).toEqual([{ userId: 'u', connectionId: 'c', events: 7, windowStart: 5 * REPLAY_WINDOW_MS, maxResumes: 10, maxEvents: 10_000 }]);
    expect(await new ConnectionReplayBudget(ledger({ kind: 'over', warned: true }), DEFAULT_CLIENT_BUDGET).charge({ userId: 'u', connectionId: 'c', events: 0 }, now))
      .toMatchObject({ close: true });
  });

  it('allows a charged resume and one of a connection no longer registered', async () => {
    for (const answer of [{ kind: 'charged' }, { kind: 'unregistered' }] as const) {
      expect(await new ConnectionReplayBudget(ledger(answer), DEFAULT_CLIENT_BUDGET).charge({ userId: 'u', connectionId: 'c', events: 1 }, 0)).toEqual({ kind: 'allowed' });
    }
  });
});

describe('validateClientBudget', () => {
  it('fills in the defaults for what is not given', () => {
    expect(validateClientBudget(undefined, 'x')).toEqual(DEFAULT_CLIENT_BUDGET);
    expect(validateClientBudget({ resumesPerMinute: 3 }, 'x')).toEqual({ ...DEFAULT_CLIENT_BUDGET, resumesPerMinute: 3 });
  });

  it.each([
    [[], 'clientBudget must be an object'],
    [{ resumes: 3 }, 'clientBudget has unknown keys resumes'],
    [{ messageBurst: 0 }, 'clientBudget.messageBurst must be an integer from 1 to 1000 (got 0)'],
    [{ messagesPerMinute: 1.5 }, 'clientBudget.messagesPerMinute must be an integer'],
    [{ replayEventsPerMinute: '10' }, 'clientBudget.replayEventsPerMinute must be an integer'],
  ])('refuses %j', (value, message) => {
    expect(() => validateClientBudget(value, 'clientBudget')).toThrow(ConfigurationError);
    expect(() => validateClientBudget(value, 'clientBudget')).toThrow(message);
  });
});
