import fc from 'fast-check';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoInboxStore } from '../../functions/adapters/DynamoInboxStore.ts';
import { countsOf, INBOX_ACTIONS, type InboxAction } from '../../functions/core/inbox/inbox.ts';
import { InboxService, type InboxItem } from '../../functions/core/inbox/InboxService.ts';
import { notificationIdFor } from '../../functions/core/route/identifiers.ts';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { addFault, clearFaults, documents, endpoints, eventBuffer, events, intent, outputs, sendIntent, store, uid, waitFor } from './support.ts';
import { closeAllClients, connectAs, tokenFor, type Frame } from './wsClient.ts';
import { runCommand } from '../runCommand.ts';
import { HeraldClient, HeraldInbox, type InboxView } from '../../client/index.ts';

const api = endpoints.httpApi!;
const DAY = 86_400_000;

afterEach(async () => {
  await closeAllClients();
});

async function call(method: string, token: string, path: string, body?: unknown) {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as Record<string, any>) };
}

/** Sends a `mention` (a type kept in the inbox) to the user; answers its notification id. */
async function mention(user: string, text = 'hi'): Promise<string> {
  const sent = intent('mention', { user_id: user }, { text });
  await sendIntent(sent);
  return notificationIdFor('tests', sent.idempotency_key);
}

async function inboxOf(token: string, count: number, query = '') {
  return waitFor(`${count} inbox item(s)`, async () => {
    const answer = await call('GET', token, `/v1/inbox${query}`);
    return answer.status === 200 && answer.body!['items'].length === count ? answer.body! : undefined;
  });
}

const inboxEvents = (frames: Frame[]) => frames.flatMap((f) => (f.type === 'event' ? [f] : f.type === 'events' ? (f['events'] as Frame[]) : [])).filter((e) => e['kind'] === 'inbox');

describe('the in-app inbox on the offline stack', () => {
  it('lists a notification of an inbox type with its counts; reading it on device A reaches A and B with the same counts', async () => {
    const user = uid('inbox');
    const [token, a, b] = [await tokenFor(user, 'laptop'), await connectAs(user, 'laptop'), await connectAs(user, 'phone')];
    const id = await mention(user, 'you were mentioned');

    const listed = await inboxOf(token, 1);
    expect(listed['items'][0]).toMatchObject({ notification_id: id, notification_type: 'mention', payload: { text: 'you were mentioned' }, state: 'unseen', archived: false });
    // The list reads the counts and version just before the page, so ask the counts now.
    expect((await call('GET', token, '/v1/inbox/counts')).body).toEqual({ counts: { unseen: 1, unread: 1 }, version: 1 });
    // Both devices got the item as it arrived (besides the mention's own push event).
    for (const device of [a, b]) await device.waitFor('the added event', () => inboxEvents(device.frames).find((e) => e['payload']['op'] === 'added'));

    const itemId = listed['items'][0]['item_id'] as string;
    const marked = await call('POST', token, '/v1/inbox/mark', { action: 'read', item_ids: [itemId] });

    expect(marked).toMatchObject({ status: 200, body: { changed: 1, counts: { unseen: 0, unread: 0 }, version: 2 } });
    for (const device of [a, b]) {
      const changed = await device.waitFor('the changed event', () => inboxEvents(device.frames).find((e) => e['payload']['op'] === 'changed'));
      expect(changed['payload']).toEqual({ op: 'changed', items: [{ item_id: itemId, state: 'read', archived: false }], counts: { unseen: 0, unread: 0 }, version: 2 });
    }
    expect((await call('GET', token, '/v1/inbox/counts')).body).toEqual({ counts: { unseen: 0, unread: 0 }, version: 2 });
  });

  it('a device offline during a change gets it by replay from its cursor', async () => {
    const user = uid('replay');
    const token = await tokenFor(user, 'phone');
    const phone = await connectAs(user, 'phone');
    await mention(user);
    const [item] = (await inboxOf(token, 1))['items'];
    const added = await phone.waitFor('the added event', () => inboxEvents(phone.frames).find((e) => e['payload']['op'] === 'added'));
    await phone.close();

    await call('POST', token, '/v1/inbox/mark', { action: 'archive', item_ids: [item.item_id] });
    const back = await connectAs(user, 'phone');
    back.send({ action: 'resume', cursor: added['cursor'] });

    const replayed = await back.waitFor('the replayed change', () => inboxEvents(back.frames).find((e) => e['payload']['op'] === 'changed'));
    expect(replayed['payload']).toMatchObject({ items: [{ item_id: item.item_id, archived: true }], counts: { unseen: 0, unread: 0 } });
  });

  it("another user's token sees only its own inbox and cannot change this one", async () => {
    const owner = uid('owner');
    const other = uid('other');
    const [ownerToken, otherToken] = [await tokenFor(owner, 'p'), await tokenFor(other, 'p')];
    await mention(owner);
    const [item] = (await inboxOf(ownerToken, 1))['items'];

    expect((await call('GET', otherToken, '/v1/inbox')).body).toMatchObject({ items: [], counts: { unseen: 0, unread: 0 } });
    expect((await call('POST', otherToken, '/v1/inbox/mark', { action: 'read', item_ids: [item.item_id] })).body).toMatchObject({ changed: 0 });
    expect((await call('GET', ownerToken, '/v1/inbox')).body!['items'][0]).toMatchObject({ item_id: item.item_id, state: 'unseen' });
    expect((await fetch(`${api}/v1/inbox`)).status).toBe(401);
  });

  it('answers bad requests with a specific error and changes nothing', async () => {
    const token = await tokenFor(uid('bad'), 'p');
    expect(await call('GET', token, '/v1/inbox?filter=everything')).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await call('GET', token, '/v1/inbox?limit=0')).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await call('GET', token, '/v1/inbox?cursor=bm90LWEtY3Vyc29y')).toMatchObject({ status: 400, body: { error: 'invalid_cursor' } });
    expect(await call('POST', token, '/v1/inbox/mark', { action: 'burn', item_ids: ['x'] })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await call('POST', token, '/v1/inbox/mark', { action: 'read', item_ids: [] })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await call('POST', token, '/v1/inbox/mark-all', { action: 'read', before: 'now' })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    // No such route: API Gateway answers it, the function never runs.
    expect(await call('PUT', token, '/v1/inbox')).toMatchObject({ status: 404 });
  });

  it('pages through every item once, newest first, while new items arrive; mark-all reads only what was there when it began', async () => {
    const user = uid('pages');
    const token = await tokenFor(user, 'p');
    for (let i = 0; i < 7; i += 1) await mention(user, `m${i}`);
    await inboxOf(token, 7, '?limit=100');

    const seen: string[] = [];
    let cursor: string | undefined;
    let arrivals = 0;
    do {
      const page = await call('GET', token, `/v1/inbox?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.body!['items'].map((i: { item_id: string }) => i.item_id));
      cursor = page.body!['next'];
      if (arrivals < 2) {
        arrivals += 1;
        await mention(user, `late${arrivals}`);
      }
    } while (cursor !== undefined);
    const all = (await inboxOf(token, 9, '?limit=100'))['items'].map((i: { item_id: string }) => i.item_id);

    // Every item that was there at the first page, once each, newest first.
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(all.filter((id: string) => seen.includes(id)));
    expect(seen.length).toBeGreaterThanOrEqual(7);

    let before = Date.now();
    await mention(user, 'after mark-all began');
    await inboxOf(token, 10, '?limit=100');
    let result;
    do {
      result = (await call('POST', token, '/v1/inbox/mark-all', { action: 'read', before })).body!;
      before = result['before'];
    } while (result['more']);
    const items = (await call('GET', token, '/v1/inbox?limit=100')).body!['items'] as { state: string; payload: { text: string } }[];
    // Everything there when it began is read; the one that arrived after is not.
    expect(items.filter((i) => i.state !== 'read').map((i) => i.payload.text)).toEqual(['after mark-all began']);
    expect((await call('GET', token, '/v1/inbox/counts')).body!['counts']).toMatchObject({ unread: 1 });
  });
});

describe('adding at acceptance under faults', () => {
  afterEach(async () => {
    await clearFaults('dynamodb');
  });

  it('a failed inbox transaction brings the intent back; the resumed acceptance adds the item once, and the push still goes out once', async () => {
    const user = uid('fault');
    const token = await tokenFor(user, 'p');
    const device = await connectAs(user, 'p');
    // A 400 the SDK does not retry: the acceptance fails and the intake message comes back.
    await addFault('dynamodb', { operation: 'TransactWriteItems', caller: 'Accept', times: 1, status: 400, errorType: 'ValidationException' });
    const id = await mention(user, 'after a fault');

    await inboxOf(token, 1);
    expect((await call('GET', token, '/v1/inbox/counts')).body!['counts']).toEqual({ unseen: 1, unread: 1 });
    expect(await waitFor('the notification accepted', async () => (await store.getNotification(id))?.state === 'accepted')).toBe(true);
    await device.waitFor('the push event', () => device.events().find((e) => e['kind'] === 'mention'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(device.events().filter((e) => e['kind'] === 'mention')).toHaveLength(1);
    expect(inboxEvents(device.frames).filter((e) => e['payload']['op'] === 'added')).toHaveLength(1);
  });
});

describe('counts stay exact under concurrent changes (InboxService and DynamoInboxStore against DynamoDB Local)', () => {
  const store = new DynamoInboxStore(documents, { tableName: outputs.tableName, streamsTable: outputs.streamsTableName, buffer: eventBuffer });
  const inbox = new InboxService({ retentionDays: 90, freshnessMs: DAY }, { store });

  it('after any interleaving of arrivals, marks and mark-alls from several devices, the counts equal the items', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.record({ action: fc.constantFrom<InboxAction>(...INBOX_ACTIONS), pick: fc.array(fc.nat(5), { minLength: 1, maxLength: 3 }), all: fc.boolean() }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 3 }),
        async (initial, operations, arrivals) => {
          const user = uid('prop');
          const now = Date.now();
          const add = (i: number) => inbox.add({ userId: user, notificationId: notificationIdFor('prop', `${user}-${i}`), notificationType: 'mention', payload: { i }, createdAt: now + i }, now);
          for (let i = 0; i < initial; i += 1) await add(i);
          const ids = (await store.list(user, { filter: 'all', since: 0, limit: 100 })).items.map((item) => item.item_id);
          // Everything at once: each device's change, and new items arriving meanwhile.
          await Promise.all([
            ...operations.map((op) => (op.all ? inbox.markAll(user, op.action, now + 100, now) : inbox.mark(user, op.pick.map((p) => ids[p % ids.length]!), op.action, now))),
            ...Array.from({ length: arrivals }, (_, k) => add(initial + k)),
          ]);
          const items: InboxItem[] = (await store.list(user, { filter: 'all', since: 0, limit: 100 })).items as InboxItem[];
          const expected = items.reduce((sum, item) => ({ unseen: sum.unseen + countsOf(item).unseen, unread: sum.unread + countsOf(item).unread }), { unseen: 0, unread: 0 });
          expect(await inbox.counts(user, Date.now())).toMatchObject(expected);
          expect(items).toHaveLength(initial + arrivals);
          // The last event in the stream carries the same counts: devices that follow it agree.
          const head = await eventBuffer.tail(user, Date.now());
          const [last] = await eventBuffer.readAfter(user, head.position - 1, 1, Date.now());
          expect((last!.payload as { counts: unknown }).counts).toEqual(expected);
        },
      ),
      { numRuns: 12 },
    );
  });

  it('two devices marking the same item read at once change it once: one event, unread counted down once', async () => {
    const user = uid('twice');
    const now = Date.now();
    await inbox.add({ userId: user, notificationId: notificationIdFor('prop', user), notificationType: 'mention', payload: {}, createdAt: now }, now);
    const [item] = (await store.list(user, { filter: 'all', since: 0, limit: 1 })).items;
    const results = await Promise.all([inbox.mark(user, [item!.item_id], 'read', now), inbox.mark(user, [item!.item_id], 'read', now)]);
    expect(results.map((r) => r.changed).sort()).toEqual([0, 1]);
    expect(await inbox.counts(user, Date.now())).toMatchObject({ unseen: 0, unread: 0 });
    const events = await eventBuffer.readAfter(user, 0, 100, Date.now());
    expect(events.filter((e) => e.kind === 'inbox').map((e) => (e.payload as { op: string }).op)).toEqual(['added', 'changed']);
  });

  it('adding the same notification twice (a retried acceptance) keeps one item and one event', async () => {
    const user = uid('again');
    const now = Date.now();
    const input = { userId: user, notificationId: notificationIdFor('prop', user), notificationType: 'mention', payload: {}, createdAt: now };
    expect(await Promise.all([inbox.add(input, now), inbox.add(input, now)])).toEqual(expect.arrayContaining(['added', 'exists']));
    expect(await inbox.counts(user, Date.now())).toMatchObject({ unseen: 1, unread: 1 });
    expect((await eventBuffer.readAfter(user, 0, 100, Date.now())).filter((e) => e.kind === 'inbox')).toHaveLength(1);
  });
});

describe('the client SDK\'s HeraldInbox', () => {
  it('keeps two devices\' views in step: a read on the laptop (optimistic, then settled) drops the phone\'s count too', async () => {
    const user = uid('sdk');
    const token = () => tokenFor(user, 'any');
    const device = (sid: string) => {
      const client = new HeraldClient({ url: endpoints.websocket!, token: () => tokenFor(user, sid) });
      const inbox = new HeraldInbox({ client, apiUrl: api, token });
      client.connect();
      return { client, inbox };
    };
    const [laptop, phone] = [device('laptop'), device('phone')];
    try {
      await mention(user, 'hello');
      await inboxOf(await token(), 1);
      await Promise.all([laptop.inbox.load(), phone.inbox.load()]);
      const views: InboxView[] = [];
      phone.inbox.subscribe((view) => views.push(view));
      expect(phone.inbox.view.counts).toEqual({ unseen: 1, unread: 1 });

      const marking = laptop.inbox.mark([laptop.inbox.view.items[0]!.item_id], 'read');
      // Optimistic: the laptop shows it read before the server answers.
      expect(laptop.inbox.view).toMatchObject({ counts: { unseen: 0, unread: 0 }, pending: 1 });
      await marking;

      expect(laptop.inbox.view).toMatchObject({ counts: { unseen: 0, unread: 0 }, pending: 0, version: 2 });
      await waitFor('the phone to see the read', async () => phone.inbox.view.version === 2);
      expect(phone.inbox.view.counts).toEqual({ unseen: 0, unread: 0 });
      expect(phone.inbox.view.items[0]).toMatchObject({ state: 'read' });
      // The phone's badge never went back up on the way.
      expect(views.map((v) => v.counts.unread)).toEqual([1, 0]);
    } finally {
      for (const d of [laptop, phone]) {
        d.inbox.close();
        d.client.close();
      }
    }
  });
});

describe('herald inbox (operators)', () => {
  it('lists a user\'s items and counts, as a table and as JSON, and pages on with --cursor', async () => {
    const user = uid('cli');
    const token = await tokenFor(user, 'p');
    // One at a time: each accepted before the next is sent, so creation order is send order.
    for (const [i, text] of ['one', 'two', 'three'].entries()) {
      await mention(user, text);
      await inboxOf(token, i + 1);
    }
    const herald = (...args: string[]) => runCommand(process.execPath, ['bin/herald-cli.mjs', 'inbox', '--user', user, ...args, '--endpoints', '.local/test-endpoints.json']);

    const first = await herald('--limit', '2', '--json');
    expect(first.code, first.stderr).toBe(0);
    const page = JSON.parse(first.stdout);
    expect(page).toMatchObject({ user_id: user, counts: { unseen: 3, unread: 3 }, next: expect.any(String) });
    expect(page.items.map((i: { payload: { text: string } }) => i.payload.text)).toEqual(['three', 'two']);
    const second = JSON.parse((await herald('--limit', '2', '--cursor', page.next, '--json')).stdout);
    expect(second.items.map((i: { payload: { text: string } }) => i.payload.text)).toEqual(['one']);
    expect((await herald()).stdout).toContain(`${user}: 3 unread, 3 unseen`);
    expect((await herald('--filter', 'nope')).code).toBe(2);
  });
});

describe('retention and user.deleted', () => {
  const inboxStore = new DynamoInboxStore(documents, { tableName: outputs.tableName, streamsTable: outputs.streamsTableName, buffer: eventBuffer });
  const inbox = new InboxService({ retentionDays: 90, freshnessMs: DAY }, { store: inboxStore });

  it('an item leaves the list and the counts when its retention ends, with no write; storage may delete it a day later (TTL)', async () => {
    const user = uid('old');
    const now = Date.now();
    const created = now - 10 * DAY;
    await inbox.add({ userId: user, notificationId: notificationIdFor('retention', user), notificationType: 'mention', payload: {}, createdAt: created }, now);
    const [item] = (await inbox.list(user, { filter: 'inbox', limit: 10 }, now)).items;
    expect(await inbox.counts(user, now)).toMatchObject({ unseen: 1, unread: 1 });

    // 81 days later the item is 91 days old: gone from the list, the counts and marking.
    const later = now + 81 * DAY;
    expect((await inbox.list(user, { filter: 'all', limit: 10 }, later)).items).toEqual([]);
    expect(await inbox.counts(user, later)).toMatchObject({ unseen: 0, unread: 0 });
    expect((await inbox.mark(user, [item!.item_id], 'read', later)).changed).toBe(0);
    // Still stored, with a TTL a day after it left the inbox.
    const stored = await documents.send(new QueryCommand({ TableName: outputs.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `I#${user}` } }));
    const row = stored.Items!.find((i) => i['sk'] !== 'COUNTS')!;
    expect(row['expires_at']).toBe(Math.ceil((Date.parse(new Date(created).toISOString().slice(0, 10)) + 92 * DAY) / 1000));
  });

  it('user.deleted removes the inbox: items and counts', async () => {
    const user = uid('gone');
    const token = await tokenFor(user, 'p');
    await mention(user);
    await inboxOf(token, 1);
    const put = await events.send(new PutEventsCommand({
      Entries: [{ EventBusName: outputs.busName, Source: 'accounts', DetailType: 'herald.lifecycle', Detail: JSON.stringify({ event_type: 'user.deleted', user_id: user, occurred_at_ms: Date.now() }) }],
    }));
    expect(put.FailedEntryCount).toBe(0);
    await waitFor('the inbox removed', async () => {
      const left = await documents.send(new QueryCommand({ TableName: outputs.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `I#${user}` } }));
      return left.Count === 0;
    });
  });
});
