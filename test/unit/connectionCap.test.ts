import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { connectionsBeyondCap } from '../../functions/core/push/ConnectionCap.ts';
import type { ConnectionRecord } from '../../functions/core/push/pushTypes.ts';

const connection = fc.record({
  user_id: fc.constant('u-1'),
  connection_id: fc.string({ minLength: 1, maxLength: 6 }),
  connected_at: fc.integer({ min: 0, max: 50 }),
  device_session_id: fc.constantFrom('phone', 'laptop', 'tablet'),
}, { requiredKeys: ['user_id', 'connection_id', 'connected_at'] });
/** Without a per-session cap in the way. */
const userCapOnly = (cap: number) => ({ maxPerUser: cap, maxPerDeviceSession: 1_000 });
const connections = fc.uniqueArray(connection, { selector: (c) => c.connection_id, maxLength: 30 });

describe('connectionsBeyondCap: which connections a new one closes', () => {
  it('leaves at most the cap, keeps the new connection, and closes only older ones than every kept one', () => {
    fc.assert(
      fc.property(connections, fc.integer({ min: 1, max: 12 }), fc.nat(), (list: ConnectionRecord[], cap, pick) => {
        const fresh = list.length > 0 ? list[pick % list.length]! : undefined;
        const victims = connectionsBeyondCap(list, fresh?.connection_id ?? 'none', userCapOnly(cap));
        const kept = list.filter((c) => !victims.includes(c));
        expect(kept.length).toBe(Math.min(list.length, Math.max(cap, fresh ? 1 : 0)));
        if (fresh) expect(victims).not.toContain(fresh);
        const order = (a: ConnectionRecord, b: ConnectionRecord) => a.connected_at - b.connected_at || a.connection_id.localeCompare(b.connection_id);
        for (const victim of victims) for (const keep of kept) if (keep !== fresh) expect(order(victim, keep)).toBeLessThan(0);
      }),
      { seed: 20261204, numRuns: 500 },
    );
  });

  it('is the same whichever of several concurrent connections computes it, once they read the same list', () => {
    fc.assert(
      fc.property(connections.filter((l) => l.length > 0), fc.integer({ min: 1, max: 12 }), (list: ConnectionRecord[], cap) => {
        // Each concurrent $connect excludes only itself; the newest ones never differ in what they close.
        const newest = [...list].sort((a, b) => b.connected_at - a.connected_at || b.connection_id.localeCompare(a.connection_id)).slice(0, Math.min(cap, list.length));
        const answers = newest.map((c) => connectionsBeyondCap(list, c.connection_id, userCapOnly(cap)).map((v) => v.connection_id).sort());
        for (const answer of answers) expect(answer).toEqual(answers[0]);
      }),
      { seed: 20261204, numRuns: 500 },
    );
  });

  it('with both caps: no device session above its cap, the user within theirs, the new connection kept, and nothing closed that either cap did not need', () => {
    fc.assert(
      fc.property(connections, fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 6 }), fc.nat(), (list: ConnectionRecord[], perUser, perSession, pick) => {
        const fresh = list.length > 0 ? list[pick % list.length]! : undefined;
        const victims = connectionsBeyondCap(list, fresh?.connection_id ?? 'none', { maxPerUser: perUser, maxPerDeviceSession: perSession });
        const kept = list.filter((c) => !victims.includes(c));
        if (fresh) expect(victims).not.toContain(fresh);
        expect(kept.length).toBeLessThanOrEqual(perUser);
        for (const session of ['phone', 'laptop', 'tablet']) expect(kept.filter((c) => c.device_session_id === session).length).toBeLessThanOrEqual(perSession);
        // Minimal: closing one victim fewer would break a cap.
        for (const victim of victims) {
          const withIt = [...kept, victim];
          const sessionOver = victim.device_session_id !== undefined && withIt.filter((c) => c.device_session_id === victim.device_session_id).length > perSession;
          expect(sessionOver || withIt.length > Math.max(perUser, 1)).toBe(true);
        }
      }),
      { seed: 20261205, numRuns: 500 },
    );
  });

  it('closes the oldest of a device session over its cap even when the user is within theirs', () => {
    const at = (id: string, connected_at: number, device_session_id: string) => ({ user_id: 'u', connection_id: id, connected_at, device_session_id });
    const list = [at('p1', 1, 'phone'), at('t1', 2, 'tab'), at('t2', 3, 'tab'), at('t3', 4, 'tab')];
    expect(connectionsBeyondCap(list, 't3', { maxPerUser: 10, maxPerDeviceSession: 2 }).map((c) => c.connection_id)).toEqual(['t1']);
  });
});
