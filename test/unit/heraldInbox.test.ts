import { describe, expect, it } from 'vitest';
import { HeraldInbox, type InboxEventSource, type InboxItem } from '../../client/HeraldInbox.ts';
import type { HeraldEvent, ResyncInfo } from '../../client/types.ts';

const item = (id: string, state: InboxItem['state'] = 'unseen'): InboxItem => ({ item_id: id, notification_id: `n_${id}`, notification_type: 'mention', payload: {}, created_at: Number(id), state, archived: false });

/** A fake client to push events and resyncs through, and a fake API answering from a script. */
function setup(answers: ((method: string, path: string, body?: unknown) => { status: number; body: unknown })[]) {
  const listeners: { event: ((e: HeraldEvent) => void)[]; resync: ((r: ResyncInfo) => void)[] } = { event: [], resync: [] };
  const client = {
    on: (type: 'event' | 'resync', listener: never) => {
      listeners[type].push(listener);
      return () => undefined;
    },
  } as unknown as InboxEventSource;
  const requests: string[] = [];
  const fetchFake = (async (url: string, init: { method: string; body?: string }) => {
    const path = url.replace('https://api', '');
    requests.push(`${init.method} ${path}`);
    const answer = answers.shift()!(init.method, path, init.body && JSON.parse(init.body));
    return { ok: answer.status < 300, status: answer.status, text: async () => JSON.stringify(answer.body) };
  }) as unknown as typeof fetch;
  const inbox = new HeraldInbox({ client, apiUrl: 'https://api', token: () => 't', fetch: fetchFake });
  const event = (payload: Record<string, unknown>, position = 1) => listeners.event.forEach((l) => l({ cursor: 'c', position, event_id: 'e', kind: 'inbox', payload }));
  return { inbox, event, resync: () => listeners.resync.forEach((l) => l({ reason: 'gone', mark: { cursor: 'c', position: 9 } })), requests };
}

const list = (items: InboxItem[], unread: number, version: number) => () => ({ status: 200, body: { items, counts: { unseen: unread, unread }, version } });

describe('HeraldInbox', () => {
  it('ignores events at or below the version it loaded, applies newer ones in order', async () => {
    const { inbox, event } = setup([list([item('2'), item('1')], 2, 5)]);
    await inbox.load();
    event({ op: 'changed', items: [{ item_id: '2', state: 'read', archived: false }], counts: { unseen: 1, unread: 1 }, version: 5 });
    expect(inbox.view).toMatchObject({ counts: { unread: 2 }, version: 5 });
    event({ op: 'added', item: item('3'), counts: { unseen: 3, unread: 3 }, version: 6 });
    event({ op: 'changed', items: [{ item_id: '1', state: 'seen', archived: true }], counts: { unseen: 2, unread: 2 }, version: 7 });
    expect(inbox.view.items.map((i) => i.item_id)).toEqual(['3', '2']);
    expect(inbox.view).toMatchObject({ counts: { unseen: 2, unread: 2 }, version: 7 });
  });

  it('rolls an optimistic mark back by reloading when the server refuses it, and says why', async () => {
    const { inbox, requests } = setup([
      list([item('1')], 1, 1),
      () => ({ status: 503, body: { error: 'busy', message: 'try again' } }),
      list([item('1')], 1, 1),
    ]);
    await inbox.load();
    const marking = inbox.mark(['1'], 'read');
    expect(inbox.view.counts.unread).toBe(0);
    await expect(marking).rejects.toThrow('503 busy: try again');
    expect(inbox.view).toMatchObject({ counts: { unread: 1 }, pending: 0, items: [{ state: 'unseen' }] });
    expect(requests).toEqual(['GET /v1/inbox?limit=50', 'POST /v1/inbox/mark', 'GET /v1/inbox?limit=50']);
  });

  it('marks all until the server has none left, and reloads on resync', async () => {
    const { inbox, resync, requests } = setup([
      list([item('2'), item('1')], 2, 1),
      () => ({ status: 200, body: { changed: 50, counts: { unseen: 0, unread: 1 }, version: 2, more: true, before: 100 } }),
      (_m, _p, body) => ({ status: 200, body: { changed: 1, counts: { unseen: 0, unread: 0 }, version: 3, more: false, before: (body as { before: number }).before } }),
      list([], 0, 3),
    ]);
    await inbox.load();
    await inbox.markAll('read');
    expect(inbox.view).toMatchObject({ counts: { unseen: 0, unread: 0 }, version: 3, pending: 0 });
    resync();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(requests).toEqual(['GET /v1/inbox?limit=50', 'POST /v1/inbox/mark-all', 'POST /v1/inbox/mark-all', 'GET /v1/inbox?limit=50']);
  });
});
