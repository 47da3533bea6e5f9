import { readFileSync } from 'node:fs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { itemBytes } from '../../functions/adapters/itemSize.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoEventBuffer } from '../../functions/adapters/DynamoEventBuffer.ts';
import { DynamoUserStates } from '../../functions/adapters/DynamoUserStates.ts';
import { SqsRouteQueue } from '../../functions/adapters/SqsRouteQueue.ts';
import { AcceptIntent } from '../../functions/core/accept/AcceptIntent.ts';
import type { Catalog } from '../../functions/core/catalog/catalogTypes.ts';
import { DeliverRoute } from '../../functions/core/deliver/DeliverRoute.ts';
import { DispatchError } from '../../functions/core/errors.ts';
import { PushDispatcher } from '../../functions/core/push/PushDispatcher.ts';
import { notificationIdFor } from '../../functions/core/route/identifiers.ts';
import type { ChannelDispatcher } from '../../functions/core/ports.ts';
import { systemClock } from '../../functions/core/types.ts';
import { connectionRegistry, connectionSender, documents, eventBuffer, functionLogLines, intent, mailbox, notificationItems, outputs, recipientThrottle, rejections, retentionMs, sendIntent, sqs, store, uid, waitFor } from './support.ts';
import { closeAllClients, connectAs } from './wsClient.ts';

const catalog = (JSON.parse(readFileSync('test/fixtures/herald.test.json', 'utf8')) as { catalog: Catalog }).catalog;
const streamsTable = outputs.streamsTableName;

afterEach(async () => {
  await closeAllClients();
});

/** The function whose invocation summary line lists each route of a notification as published (the offline stack captures their stdout). */
function publishedBy(notificationId: string): Map<string, string> {
  const by = new Map<string, string>();
  for (const entry of functionLogLines(notificationId)) {
    for (const ref of (entry['published'] as string[] | undefined) ?? []) {
      if (ref.startsWith(`${notificationId}/`)) by.set(ref.slice(notificationId.length + 1), entry['_function'] as string);
    }
  }
  return by;
}

async function publishedRoutes(id: string, count: number) {
  return waitFor(`${count} routes of ${id} published`, async () => {
    const routes = await store.listRoutes(id);
    return routes.length === count && routes.every((r) => r.status === 'published') ? routes : undefined;
  });
}

describe('first push attempt in accept (the deployed handlers)', () => {
  it('publishes the push route of a small intent from accept, in one attempt, and leaves its email route to deliver', async () => {
    // Prepare
    const user = uid('inline');
    const client = await connectAs(user, 'phone');
    const sent = intent('welcome', { user_id: user, email: `${user}@example.com` }, { name: 'Ada' });
    const id = notificationIdFor('tests', sent.idempotency_key);

    // Act
    await sendIntent(sent);

    // Assess
    const frame = await client.waitForFrame('event');
    expect(frame).toMatchObject({ notification_id: id, kind: 'welcome', payload: { name: 'Ada' }, position: 1 });
    const routes = await publishedRoutes(id, 2);
    expect(routes.map((r) => [r.route_id, r.attempts])).toEqual([[`email:${user}`, 1], [`push:${user}`, 1]]);
    const by = await waitFor('both route log lines', async () => {
      const lines = publishedBy(id);
      return lines.size === 2 ? lines : undefined;
    });
    expect(by.get(`push:${user}`)).toMatch(/^HeraldAccept/);
    expect(by.get(`email:${user}`)).toMatch(/^HeraldDeliver/);
    expect(await mailbox(`${user}@example.com`)).toHaveLength(1);
  });

  it('writes a published single-recipient push once: its item keeps no payload and no completion, and every reader sees it published', async () => {
    // Prepare: one connected user; a 1 KiB payload (larger than the item could hold with a route that is rewritten).
    const user = uid('once');
    const client = await connectAs(user, 'phone');
    const text = 'x'.repeat(1024);
    const sent = intent('chat.message', { user_id: user }, { text });
    const id = notificationIdFor('tests', sent.idempotency_key);

    // Act
    await sendIntent(sent);
    const frame = await client.waitForFrame('event');

    // Assess: one item for notification and route, under 1 KB, as the acceptance wrote it (still
    // `accepting`, the route leased); the payload only in the event, which is kept as long as the notification.
    expect(frame).toMatchObject({ notification_id: id, payload: { text } });
    const route = await publishedRoutes(id, 1);
    expect(route[0]).toMatchObject({ status: 'published', attempts: 1, stored_with_notification: true, published_at: Date.parse(frame['published_at'] as string) });
    // Its payload read from the event.
    expect(await store.getNotification(id)).toMatchObject({ state: 'accepted', payload_in_event: true, payload: { text } });
    const items = await notificationItems(id);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ state: 'accepting', status: 'pending', lease_token: expect.any(String) });
    expect(items[0]!['payload']).toBeUndefined();
    expect(itemBytes(items[0]!)).toBeLessThan(1024);
    const { Item: event } = await documents.send(new GetCommand({ TableName: streamsTable, Key: { pk: `S#${user}`, sk: `E#${String(frame['position']).padStart(15, '0')}` } }));
    expect(event!['expires_at']).toBe(Math.ceil(((items[0]!['accepted_at'] as number) + retentionMs) / 1000));

    // Act: the producer sends the same intent again (a new intake message).
    await sendIntent(sent);

    // Assess: answered as a duplicate from the event (no takeover, nothing written, nothing sent).
    await waitFor('the duplicate answered', async () => functionLogLines(id).some((line) => (line['duplicate'] as string[] | undefined)?.includes(id)));
    expect(await notificationItems(id)).toEqual(items);
    expect(client.events()).toHaveLength(1);
  });

  it('sends a fan-out with more push routes than the limit (10) through the route queue', async () => {
    const users = Array.from({ length: 11 }, (_, i) => uid(`wide${i}`));
    const sent = { ...intent('ping', { user_id: users[0]! }, { n: 1 }), audience: { kind: 'users', recipients: users.map((user_id) => ({ user_id })) } };
    const id = notificationIdFor('tests', sent.idempotency_key);

    await sendIntent(sent);

    await publishedRoutes(id, 11);
    const by = await waitFor('11 route log lines', async () => {
      const lines = publishedBy(id);
      return lines.size === 11 ? lines : undefined;
    });
    expect([...by.values()].every((fn) => fn.startsWith('HeraldDeliver'))).toBe(true);
  });
});

describe('first push attempt in accept, run here against the real tables, queue and deliver function: stream positions and failures', () => {
  const buffer = new DynamoEventBuffer(documents, { streamsTable, notificationsTable: outputs.tableName });
  const push = new PushDispatcher(
    { freshnessMs: 86_400_000, retentionMs },
    {
      buffer,
      registry: connectionRegistry,
      sender: connectionSender,
      clock: systemClock,
    },
  );

  function acceptWith(pushDispatcher: ChannelDispatcher, leases: { acceptanceMs: number; attemptMs: number }) {
    const deliverer = new DeliverRoute(
      { retryPolicy: { minMs: 1000, maxMs: 4000, jitter: 0.2, maxAttempts: 10 }, leaseMs: leases.attemptMs },
      { store, dispatchers: { push: pushDispatcher }, clock: systemClock },
    );
    return new AcceptIntent(
      { catalog, limits: { maxPayloadBytes: 30_720 }, defaultMaxAttempts: 3, acceptanceLeaseMs: leases.acceptanceMs, dueShards: 8, firstPushAttempt: { maxRoutes: 10, leaseMs: leases.attemptMs } },
      { store, users: new DynamoUserStates(documents, outputs.tableName), rejections, routeQueue: new SqsRouteQueue(sqs, outputs.routeQueueUrl), clock: systemClock, deliverer, streams: buffer, throttle: recipientThrottle, push },
    );
  }
  const message = (body: unknown) => ({ id: uid('msg'), sentAt: Date.now(), body: JSON.stringify(body) });

  it('creates the route it attempts with the next stream position recorded; two such routes of one user end at 2 and 3', async () => {
    // Prepare: a user whose stream already holds one event.
    const user = uid('reserve');
    const client = await connectAs(user, 'phone');
    const accept = acceptWith(push, { acceptanceMs: 60_000, attemptMs: 60_000 });
    await accept.handle(message(intent('chat.message', { user_id: user }, { n: 0 })));
    const head = (await buffer.getHead(user))!;
    expect(head.position).toBe(1);
    const seen: { position?: number; epoch?: string }[] = [];
    const watching: ChannelDispatcher = {
      dispatch: (notification, route, token) => {
        seen.push({ position: route.stream_position, epoch: route.stream_epoch });
        return push.dispatch(notification, route, token);
      },
    };
    const [first, second] = [intent('chat.message', { user_id: user }, { n: 1 }), intent('chat.message', { user_id: user }, { n: 2 })];

    // Act: both intents in one batch, as the handler runs its records.
    const results = await Promise.all([first, second].map((sent) => acceptWith(watching, { acceptanceMs: 60_000, attemptMs: 60_000 }).handle(message(sent))));

    // Assess: both routes came to the append with a position recorded (usually both 2, read from the
    // same head: then one finds it taken and moves on to 3).
    expect(results.map((r) => r.kind)).toEqual(['accepted', 'accepted']);
    expect(seen).toHaveLength(2);
    for (const recorded of seen) expect(recorded).toEqual({ position: expect.toSatisfy((p: number) => p === 2 || p === 3), epoch: head.epoch });
    const routes = await Promise.all([first, second].map((sent) => store.getRoute(notificationIdFor('tests', sent.idempotency_key), `push:${user}`)));
    expect(routes.map((r) => r?.status)).toEqual(['published', 'published']);
    expect(routes.map((r) => r?.stream_position).sort()).toEqual([2, 3]);
    const events = await buffer.readAfter(user, 0, 10, Date.now());
    expect(events.map((e) => e.position)).toEqual([1, 2, 3]);
    for (const route of routes) expect(events[route!.stream_position! - 1]!.notification_id).toBe(route!.notification_id);
    expect(await waitFor('three frames', async () => (client.events().length === 3 ? client.events() : undefined))).toHaveLength(3);
  });

  it('hands a failed first attempt to deliver, which publishes it after the backoff: one event, attempts 2', async () => {
    // Prepare: the first push attempt fails (a retryable dispatch error), later ones go through.
    const user = uid('retry');
    const client = await connectAs(user, 'phone');
    let calls = 0;
    const flaky: ChannelDispatcher = {
      dispatch: (notification, route, token) => {
        calls += 1;
        return calls === 1 ? Promise.reject(new DispatchError('push_buffer_write_failed', 'injected: stream unavailable', true)) : push.dispatch(notification, route, token);
      },
    };
    const sent = intent('chat.message', { user_id: user }, { text: 'later' });
    const id = notificationIdFor('tests', sent.idempotency_key);

    // Act
    const result = await acceptWith(flaky, { acceptanceMs: 60_000, attemptMs: 60_000 }).handle(message(sent));

    // Assess: accept tried once, recorded the failure and completed; the failure gave the route a due
    // time, which puts it where the sweeper and a user deletion find it; deliver (the stack's) published.
    expect(result).toMatchObject({ kind: 'accepted', routes: 1, attemptedHere: 1 });
    expect(await store.getNotification(id)).toMatchObject({ state: 'accepted' });
    const failed = await store.getRoute(id, `push:${user}`);
    expect(failed).toMatchObject({ status: 'failed', due_at: failed!.next_attempt_at });
    expect((await store.listOpenRoutesOfUser(user, 10)).routes).toEqual([expect.objectContaining({ notification_id: id, route_id: `push:${user}` })]);
    const route = await waitFor('route published by deliver', async () => {
      const r = await store.getRoute(id, `push:${user}`);
      return r?.status === 'published' ? r : undefined;
    });
    expect(route).toMatchObject({ attempts: 2, last_failure_classification: 'push_buffer_write_failed' });
    // The retry waited out the backoff (1 s − 20 % jitter) after the failed first attempt.
    const failedAt = (route as unknown as { last_failure_at: number }).last_failure_at;
    expect(route.published_at! - failedAt).toBeGreaterThanOrEqual(800);
    expect(calls).toBe(1);
    expect((await client.waitForFrame('event'))).toMatchObject({ notification_id: id, position: 1 });
    await new Promise((r) => setTimeout(r, 500));
    expect(client.events()).toHaveLength(1);
  });

  it('takes a crash after the event is stored as published: the event says so, and the intake retry writes nothing and posts the stored event again', async () => {
    // Prepare: accept stores and sends the event, then dies before anything else (nothing more
    // would be written anyway: a published first push leaves its success to its event).
    const user = uid('crashlate');
    const client = await connectAs(user, 'phone');
    const crashing: ChannelDispatcher = {
      dispatch: async (notification, route, token) => {
        await push.dispatch(notification, route, token);
        throw new Error('injected: execution environment died after the push');
      },
    };
    const sent = intent('chat.message', { user_id: user }, { text: 'once' });
    const id = notificationIdFor('tests', sent.idempotency_key);
    const intake = message(sent);
    await expect(acceptWith(crashing, { acceptanceMs: 300, attemptMs: 3_000 }).handle(intake)).rejects.toThrow('execution environment died');
    const [item] = await notificationItems(id);
    expect(item).toMatchObject({ state: 'accepting', status: 'pending', attempts: 1, stream_position: 1, payload_in_event: true });
    expect(item!['payload']).toBeUndefined();
    await new Promise((r) => setTimeout(r, 400));

    // Act: SQS hands the same intake message back.
    const again = await acceptWith(push, { acceptanceMs: 60_000, attemptMs: 60_000 }).handle(intake);

    // Assess: read as it stands, the notification is accepted and its route published at the
    // event's time; the retry answers it as a redelivery without taking the acceptance over or
    // writing anything, and posts the stored event again (the crash may have come before the post).
    expect(again).toEqual({ kind: 'redelivered', notificationId: id });
    expect(await store.getNotification(id)).toMatchObject({ state: 'accepted' });
    const events = await eventBuffer.readAfter(user, 0, 10, Date.now());
    expect(events).toHaveLength(1);
    expect(await store.getRoute(id, `push:${user}`)).toMatchObject({ status: 'published', published_at: events[0]!.published_at, attempts: 1, stream_position: 1 });
    expect((await notificationItems(id))[0]).toEqual(item);
    const frames = await waitFor('the event posted again', async () => (client.events().length === 2 ? client.events() : undefined));
    expect(frames.map((f) => f['position'])).toEqual([1, 1]);
  });

  it('recovers from a crash before the event is stored: the retry stores the payload, and deliver publishes once the lease runs out', async () => {
    // Prepare: accept dies in its first attempt before appending (the route is leased, attempt 1
    // counted; the item has no payload: the event was to hold it).
    const user = uid('crash');
    const client = await connectAs(user, 'phone');
    const crashing: ChannelDispatcher = { dispatch: () => Promise.reject(new Error('injected: execution environment died before the push')) };
    const sent = intent('chat.message', { user_id: user }, { text: 'once' });
    const id = notificationIdFor('tests', sent.idempotency_key);
    await expect(acceptWith(crashing, { acceptanceMs: 300, attemptMs: 3_000 }).handle(message(sent))).rejects.toThrow('execution environment died');
    expect(await store.getNotification(id)).toMatchObject({ state: 'accepting', payload_in_event: true });
    // Neither in the item nor in an event.
    expect((await store.getNotification(id))!.payload).toBeUndefined();
    const crashed = await store.getRoute(id, `push:${user}`);
    expect(crashed).toMatchObject({ status: 'pending', attempts: 1 });
    // Watched by the acceptance only: no due time, in neither index.
    expect(crashed!.due_at).toBeUndefined();
    expect((await store.listOpenRoutesOfUser(user, 10)).routes).toEqual([]);
    await new Promise((r) => setTimeout(r, 400));

    // Act: SQS hands the intake message back (run here again, with the real push).
    const resumed = await acceptWith(push, { acceptanceMs: 60_000, attemptMs: 60_000 }).handle(message(sent));

    // Assess: the resumed acceptance attempts nothing itself, stores the payload, gives the route a
    // due time back (the sweeper and a user deletion see it again) and enqueues it; deliver waits
    // out the crashed lease and publishes on attempt 2, from the payload now stored.
    expect(resumed).toMatchObject({ kind: 'accepted', resumed: true, attemptedHere: 0 });
    expect(await store.getNotification(id)).toMatchObject({ state: 'accepted', payload: { text: 'once' } });
    const watched = await store.getRoute(id, `push:${user}`);
    expect(watched).toMatchObject({ status: 'pending', due_at: expect.toSatisfy((at: number) => at > crashed!.updated_at) });
    expect((await store.listOpenRoutesOfUser(user, 10)).routes).toEqual([expect.objectContaining({ notification_id: id })]);
    const route = await waitFor('route published', async () => {
      const r = await store.getRoute(id, `push:${user}`);
      return r?.status === 'published' ? r : undefined;
    }, 30_000);
    expect(route).toMatchObject({ attempts: 2 });
    const frame = await client.waitForFrame('event');
    expect(frame).toMatchObject({ notification_id: id, position: 1, payload: { text: 'once' } });
  });
});
