import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyInboxAction, countsDelta, countsOf, countsSince, dayOf, deletableAt, INBOX_ACTIONS, INBOX_STATES, keptSince, NEW_ITEM_STATUS, withDelta, type InboxItemStatus } from '../../functions/core/inbox/inbox.ts';
import { InboxApi } from '../../functions/core/inbox/InboxApi.ts';
import { inboxItemId, parseInboxItemId, type InboxService } from '../../functions/core/inbox/InboxService.ts';
import { InvalidTokenError } from '../../functions/core/auth/AccessTokenVerifier.ts';
import { API_ERROR_CODES } from '../../functions/core/preferences/PreferencesApi.ts';

const status = fc.record({ state: fc.constantFrom(...INBOX_STATES), archived: fc.boolean() });

describe('inbox item rules', () => {
  it.each([
    [{ state: 'unseen', archived: false }, 'seen', { state: 'seen', archived: false }],
    [{ state: 'unseen', archived: false }, 'read', { state: 'read', archived: false }],
    [{ state: 'read', archived: false }, 'seen', { state: 'read', archived: false }],
    [{ state: 'read', archived: false }, 'unread', { state: 'seen', archived: false }],
    [{ state: 'unseen', archived: false }, 'unread', { state: 'unseen', archived: false }],
    [{ state: 'seen', archived: false }, 'archive', { state: 'seen', archived: true }],
    [{ state: 'seen', archived: true }, 'unarchive', { state: 'seen', archived: false }],
  ] as const)('%o, %s → %o', (before, action, after) => {
    expect(applyInboxAction(before, action)).toEqual(after);
  });

  it('counts only items not archived: unseen, and not yet read', () => {
    expect(countsOf(NEW_ITEM_STATUS)).toEqual({ unseen: 1, unread: 1 });
    expect(countsOf({ state: 'seen', archived: false })).toEqual({ unseen: 0, unread: 1 });
    expect(countsOf({ state: 'unseen', archived: true })).toEqual({ unseen: 0, unread: 0 });
  });

  it('moves the counts by exactly the difference the items make, over any sequence of actions', () => {
    fc.assert(
      fc.property(fc.array(status, { minLength: 1, maxLength: 8 }), fc.array(fc.tuple(fc.nat(7), fc.constantFrom(...INBOX_ACTIONS)), { maxLength: 30 }), (start, actions) => {
        const items: InboxItemStatus[] = [...start];
        let counts = items.reduce((sum, item) => ({ unseen: sum.unseen + countsOf(item).unseen, unread: sum.unread + countsOf(item).unread }), { unseen: 0, unread: 0 });
        for (const [index, action] of actions) {
          const i = index % items.length;
          const after = applyInboxAction(items[i]!, action);
          const delta = countsDelta(items[i], after);
          counts = { unseen: counts.unseen + delta.unseen, unread: counts.unread + delta.unread };
          items[i] = after;
        }
        const recomputed = items.reduce((sum, item) => ({ unseen: sum.unseen + countsOf(item).unseen, unread: sum.unread + countsOf(item).unread }), { unseen: 0, unread: 0 });
        expect(counts).toEqual(recomputed);
        expect(counts.unseen).toBeGreaterThanOrEqual(0);
        expect(counts.unseen).toBeLessThanOrEqual(counts.unread);
      }),
    );
  });

  it('seen and read only move forward: applying them twice or in either order ends at the later state', () => {
    fc.assert(
      fc.property(status, fc.array(fc.constantFrom('seen' as const, 'read' as const), { maxLength: 6 }), (start, actions) => {
        const end = actions.reduce(applyInboxAction, start);
        const expected = actions.includes('read') || start.state === 'read' ? 'read' : actions.includes('seen') || start.state === 'seen' ? 'seen' : 'unseen';
        expect(end.state).toBe(expected);
      }),
    );
  });

  it('names an item by its creation time and notification, and reads only such names back', () => {
    const id = inboxItemId(1_796_000_000_000, 'n_0123456789abcdef0123456789abcdef');
    expect(parseInboxItemId(id)).toEqual({ createdAt: 1_796_000_000_000, notificationId: 'n_0123456789abcdef0123456789abcdef' });
    for (const bad of ['', 'x', '123-n_zz', '1-n_0123456789abcdef0123456789abcdef-extra']) expect(parseInboxItemId(bad)).toBeUndefined();
  });
});

describe('InboxApi', () => {
  const calls: string[] = [];
  const inbox = {
    counts: async () => ({ unseen: 2, unread: 3 }),
    list: async (userId: string) => {
      calls.push(`list ${userId}`);
      return { items: [] };
    },
    mark: async (userId: string, ids: string[], action: string) => {
      calls.push(`mark ${userId} ${action} ${ids.join(',')}`);
      return { changed: ids.length, counts: { unseen: 0, unread: 0 } };
    },
    markAll: async (userId: string, action: string, before: number) => ({ changed: 0, counts: { unseen: 0, unread: 0 }, more: false, before, userId, action }),
  } as unknown as InboxService;
  const api = new InboxApi({
    verify: async (token) => {
      if (token !== 'good') throw new InvalidTokenError('forged');
      return { userId: 'u-1' } as never;
    },
    inbox,
    clock: { now: () => 1_000 },
  });
  const request = (method: string, path: string, extra: Record<string, unknown> = {}) => api.handle({ method, path, authorization: 'Bearer good', ...extra });

  it('acts only for the token\'s user, whatever the request says', async () => {
    await request('POST', '/v1/inbox/mark', { body: JSON.stringify({ action: 'read', item_ids: ['a'], user_id: 'u-2' }) });
    await request('GET', '/v1/inbox', { query: { user_id: 'u-2' } });
    expect(calls).toEqual(['mark u-1 read a', 'list u-1']);
  });

  it.each([
    ['no token', () => api.handle({ method: 'GET', path: '/v1/inbox' }), 401, 'unauthorized'],
    ['a forged token', () => api.handle({ method: 'GET', path: '/v1/inbox', authorization: 'Bearer bad' }), 401, 'unauthorized'],
    ['an unknown filter', () => request('GET', '/v1/inbox', { query: { filter: 'x' } }), 400, 'invalid_request'],
    ['a limit over 100', () => request('GET', '/v1/inbox', { query: { limit: '101' } }), 400, 'invalid_request'],
    ['a body that is not JSON', () => request('POST', '/v1/inbox/mark', { body: '{' }), 400, 'invalid_json'],
    ['a JSON array body', () => request('POST', '/v1/inbox/mark', { body: '[]' }), 400, 'invalid_request'],
    ['an unknown action', () => request('POST', '/v1/inbox/mark', { body: '{"action":"burn","item_ids":["a"]}' }), 400, 'invalid_request'],
    ['51 ids', () => request('POST', '/v1/inbox/mark', { body: JSON.stringify({ action: 'read', item_ids: Array.from({ length: 51 }, (_, i) => `i${i}`) }) }), 400, 'invalid_request'],
    ['a form body', () => request('POST', '/v1/inbox/mark', { contentType: 'application/x-www-form-urlencoded', body: 'a=b' }), 415, 'unsupported_media_type'],
    ['a body over 16 KiB', () => request('POST', '/v1/inbox/mark', { body: `{"x":"${'a'.repeat(17_000)}"}` }), 413, 'too_large'],
    ['GET on mark', () => request('GET', '/v1/inbox/mark'), 405, 'method_not_allowed'],
    ['an unknown resource', () => request('GET', '/v1/inbox/everything'), 404, 'not_found'],
  ])('refuses %s', async (_what, send, status, code) => {
    const answer = await send();
    expect(answer.status).toBe(status);
    expect((answer.body as { error: string }).error).toBe(code);
    expect(API_ERROR_CODES).toContain(code);
  });

  it('mark-all defaults `before` to now and hands it back', async () => {
    expect((await request('POST', '/v1/inbox/mark-all', { body: '{"action":"read"}' })).body).toMatchObject({ before: 1_000, more: false });
  });
});

describe('inbox retention by creation day', () => {
  const DAY = 86_400_000;
  const start = Date.UTC(2026, 11, 5, 13, 0);

  it('keeps an item through its creation day plus retentionDays, then drops it from the counts at once', () => {
    const created = Date.UTC(2026, 11, 5, 23, 59);
    const byDay = withDelta({}, created, { unseen: 1, unread: 1 }, keptSince(start, 90));
    expect(countsSince(byDay, keptSince(Date.UTC(2027, 2, 5, 23, 0), 90))).toEqual({ unseen: 1, unread: 1 }); // 90 days later
    expect(countsSince(byDay, keptSince(Date.UTC(2027, 2, 6, 0, 0), 90))).toEqual({ unseen: 0, unread: 0 }); // 91st day
    expect(dayOf(created)).toBe('2026-12-05');
    expect(deletableAt(created, 90)).toBeGreaterThan(keptSince(Date.UTC(2027, 2, 6, 0, 0), 90) + 90 * DAY);
  });

  it('counts over the window equal the window\'s items, whatever was added, changed and expired on the way', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ ageDays: fc.integer({ min: 0, max: 10 }), actions: fc.array(fc.constantFrom(...INBOX_ACTIONS), { maxLength: 3 }), step: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        (events, retentionDays) => {
          let now = start;
          let byDay = {};
          const items: { created: number; status: InboxItemStatus }[] = [];
          for (const e of events) {
            now += e.step * DAY;
            const created = now - e.ageDays * DAY;
            let status: InboxItemStatus = NEW_ITEM_STATUS;
            byDay = withDelta(byDay, created, countsDelta(undefined, status), keptSince(now, retentionDays));
            for (const action of e.actions) {
              const after = applyInboxAction(status, action);
              byDay = withDelta(byDay, created, countsDelta(status, after), keptSince(now, retentionDays));
              status = after;
            }
            items.push({ created, status });
          }
          const since = keptSince(now, retentionDays);
          const expected = items.filter((i) => i.created >= since).reduce((sum, i) => ({ unseen: sum.unseen + countsOf(i.status).unseen, unread: sum.unread + countsOf(i.status).unread }), { unseen: 0, unread: 0 });
          expect(countsSince(byDay, since)).toEqual(expected);
          // Only days still kept are stored.
          expect(Object.keys(byDay).every((day) => day >= dayOf(since))).toBe(true);
        },
      ),
    );
  });
});
