import { describe, expect, it } from 'vitest';
import { canonicalJson, contentHashOf, notificationIdFor, routeIdFor } from '../../functions/core/route/identifiers.ts';
import { dueShardOf } from '../../functions/core/route/dueShard.ts';

describe('identifiers', () => {
  it('derives the same notification id from the same (producer, key) and different ones otherwise', () => {
    expect(notificationIdFor('p', 'k')).toBe(notificationIdFor('p', 'k'));
    expect(notificationIdFor('p', 'k')).not.toBe(notificationIdFor('p', 'k2'));
    // No ambiguity from concatenation.
    expect(notificationIdFor('a', 'bc')).not.toBe(notificationIdFor('ab', 'c'));
    expect(notificationIdFor('p', 'k')).toMatch(/^n_[0-9a-f]{32}$/);
  });

  it.each([
    ['email', { user_id: 'u1' }, 'email:u1'],
    ['push', { user_id: 'u1', device_session_id: 'd9' }, 'push:u1:d9'],
  ] as const)('route id of %s %o is %s', (channel, recipient, expected) => {
    expect(routeIdFor(channel, recipient)).toBe(expected);
  });

  it('hashes content independently of key order and ignores per-send metadata', () => {
    const a = { notification_type: 't', audience: { kind: 'user', user_id: 'u' }, payload: { x: 1, y: [1, { b: 2, a: 1 }] } };
    const b = { payload: { y: [1, { a: 1, b: 2 }], x: 1 }, audience: { user_id: 'u', kind: 'user' }, notification_type: 't', request_id: 'r' };
    expect(contentHashOf(a)).toBe(contentHashOf(b));
    expect(contentHashOf({ ...a, payload: { x: 2 } })).not.toBe(contentHashOf(a));
    expect(canonicalJson({ b: 1, a: [2, 'x'] })).toBe('{"a":[2,"x"],"b":1}');
  });

  it('spreads routes over every due shard', () => {
    const shards = new Set(Array.from({ length: 400 }, (_, i) => dueShardOf('n', `email:u${i}`, 8)));
    expect([...shards].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});
