import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoUserStates } from '../../functions/adapters/DynamoUserStates.ts';
import { buildRoutes } from '../../functions/core/accept/AcceptIntent.ts';
import { contentHashOf, notificationIdFor } from '../../functions/core/route/identifiers.ts';
import type { NotificationRecord } from '../../functions/core/types.ts';
import {
  addFault,
  approximateDepth,
  clearFaults,
  connectionRegistry,
  documents,
  endpoints,
  eventBuffer,
  events,
  faults,
  functionLogLines,
  intent,
  notificationItems,
  outputs,
  rejections,
  seedNotification,
  sendIntent,
  sqs,
  store,
  uid,
  waitFor,
} from './support.ts';
import { closeAllClients, connectAs } from './wsClient.ts';
import { runCommand } from '../runCommand.ts';

const lifecycleDlqUrl = endpoints.outputs['HeraldLifecycleDeadLetterQueueUrl']!;
const connect = connectAs;

/** A deleted user, an intent for them, and its notification record as an acceptance a minute ago began it. */
async function intentForDeletedUser(prefix: string) {
  const user = uid(prefix);
  await putLifecycle({ event_type: 'user.deleted', user_id: user, occurred_at_ms: Date.now() });
  const users = new DynamoUserStates(documents, outputs.tableName);
  await waitFor('the deletion recorded', async () => (await users.deletedAmong([user], Date.now())).has(user));
  const refused = intent('ping', { user_id: user }, { hello: prefix });
  const id = notificationIdFor('tests', refused.idempotency_key);
  const at = Date.now() - 60_000;
  const record: NotificationRecord = {
    notification_id: id, notification_type: 'ping', producer: 'tests', idempotency_key: refused.idempotency_key, audience_kind: 'user',
    payload: refused.payload, content_hash: contentHashOf(refused), accepted_at: at, route_count: 1, state: 'accepting',
  };
  return { user, refused, id, record, at };
}

afterEach(async () => {
  await closeAllClients();
  await clearFaults('dynamodb');
});

async function putLifecycle(detail: Record<string, unknown> | string): Promise<void> {
  const put = await events.send(
    new PutEventsCommand({
      Entries: [{ EventBusName: outputs.busName, Source: 'accounts', DetailType: 'herald.lifecycle', Detail: typeof detail === 'string' ? detail : JSON.stringify(detail) }],
    }),
  );
  expect(put.FailedEntryCount).toBe(0);
}

async function publishPush(userId: string) {
  const sent = intent('ping', { user_id: userId }, { hello: 1 });
  await sendIntent(sent);
  const id = notificationIdFor('tests', sent.idempotency_key);
  return waitFor('push published', async () => {
    const r = await store.getRoute(id, `push:${userId}`);
    return r?.status === 'published' ? r : undefined;
  });
}

describe('user.deleted', () => {
  it('writes the status of a push published by its event before purging the stream: the route stays published', async () => {
    // Prepare: a single-recipient push published at acceptance, which wrote nothing after storing the event.
    const user = uid('byevent');
    const published = await publishPush(user);
    const id = published.notification_id;
    expect((await notificationItems(id))[0]).toMatchObject({ status: 'pending', state: 'accepting' });

    // Act
    await putLifecycle({ event_type: 'user.deleted', user_id: user, occurred_at_ms: Date.now() });

    // Assess: the event is gone, and the route's item now says what the event said.
    await waitFor('the stream purged', async () => (await eventBuffer.getHead(user)) === undefined && (await eventBuffer.readAfter(user, 0, 10, Date.now())).length === 0);
    const [item] = await waitFor('the route written published', async () => {
      const items = await notificationItems(id);
      return items[0]?.['status'] === 'published' ? items : undefined;
    });
    expect(item).toMatchObject({ status: 'published', state: 'accepted', published_at: published.published_at, terminal_at: published.published_at });
    expect(item!['lease_token']).toBeUndefined();
    expect(await store.getRoute(id, published.route_id)).toMatchObject({ status: 'published', published_at: published.published_at });
    expect(await store.getNotification(id)).toMatchObject({ state: 'accepted' });
  });

  it('cancels pending email and push routes, ends both sessions, purges the stream and refuses new intents', async () => {
    // Prepare: two live sockets, one published event (a cursor), and pending email + push routes.
    const user = uid('deleted');
    const [phone, laptop] = await Promise.all([connect(user, 'phone'), connect(user, 'laptop')]);
    const published = await publishPush(user);
    const oldCursor = (await phone.waitForFrame('event'))['cursor'] as string;
    const { id, routes } = await seedNotification({ type: 'welcome', recipients: [{ user_id: user, email: `${user}@example.com` }], payload: { name: 'X' }, channels: ['email', 'push'], maxAttempts: 3 });

    // Act
    await putLifecycle({ event_type: 'user.deleted', user_id: user, occurred_at_ms: Date.now(), source: 'accounts', reason_code: 'gdpr' });

    // Assess
    for (const client of [phone, laptop]) {
      await client.waitFor('socket closed', () => client.closed);
      expect(client.frames.at(-1)).toMatchObject({ type: 'session_invalidated', reason: 'user.deleted' });
    }
    for (const route of routes) {
      expect(await store.getRoute(id, route.route_id)).toMatchObject({ status: 'cancelled', cancel_reason: 'user.deleted' });
    }
    // The handler ends the sessions (close, then unregister) before it purges the stream: the sockets
    // closing does not mean it has finished, its last step does.
    await waitFor('the stream purged', async () => (await eventBuffer.getHead(user)) === undefined);
    expect(await connectionRegistry.listForUser(user)).toHaveLength(0);
    expect(await eventBuffer.getHead(user)).toBeUndefined();
    expect(await store.listOpenRoutesOfUser(user, 10)).toEqual({ routes: [] });

    const again = await connect(user, 'phone');
    again.send({ action: 'resume', cursor: oldCursor });
    expect(await again.waitForFrame('cursor_stale')).toMatchObject({ type: 'cursor_stale' });
    expect(published.stream_epoch).toBeDefined();

    const refused = intent('receipt', { user_id: user, email: `${user}@example.com` }, { order: { id: '1', total: '1' } });
    await sendIntent(refused);
    const rejection = await waitFor('rejection for the deleted user', async () =>
      (await rejections.listDay(Date.now(), 500)).find((r) => r.idempotency_key === refused.idempotency_key),
    );
    expect(rejection).toMatchObject({ reason: 'recipient_deleted' });
    expect(rejection.message).toContain(user);
    // Its notification was written alongside the deleted-user check, and taken back.
    expect(await store.getNotification(notificationIdFor('tests', refused.idempotency_key))).toBeUndefined();
  });

  it('takes back the notification an earlier delivery of a refused intent wrote and did not take back (a crash in between)', async () => {
    // Prepare: a deleted user, and the notification of an intent for them as a crashed acceptance
    // left it: accepting, no routes, its lease expired.
    const { refused, id, record, at } = await intentForDeletedUser('deleted-crash');
    await store.beginAcceptance(record, 'crashed-acceptance', at + 1_000);

    // Act
    await sendIntent(refused);

    // Assess: refused as before, and the notification is gone.
    const rejection = await waitFor('rejection of the redelivered intent', async () =>
      (await rejections.listDay(Date.now(), 500)).find((r) => r.idempotency_key === refused.idempotency_key),
    );
    expect(rejection).toMatchObject({ reason: 'recipient_deleted' });
    expect(await store.getNotification(id)).toBeUndefined();
  });

  it("cancels the route an earlier delivery of a refused intent created and crashed while attempting (out of the lifecycle service's sight)", async () => {
    // Prepare: a deleted user, and a notification with its only route as an acceptance that died in
    // the middle of the route's first attempt left them: accepting; the route leased, counted, with
    // no due time (so in neither route index); both leases expired.
    const { user, refused, id, record, at } = await intentForDeletedUser('deleted-midway');
    const { due_at: _unwatched, ...built } = buildRoutes(id, [{ user_id: user }], ['push'], 3, at, 8)[0]!;
    await store.beginAcceptance(record, 'crashed-acceptance', at + 1_000, {
      ...built, attempts: 1, lease_token: 'crashed-attempt', lease_expires_at: at + 1_000, stored_with_notification: true,
    });
    expect((await store.listOpenRoutesOfUser(user, 10)).routes).toEqual([]);

    // Act
    await sendIntent(refused);

    // Assess: refused as before; the route is ended as the lifecycle service would have ended it.
    const rejection = await waitFor('rejection of the redelivered intent', async () =>
      (await rejections.listDay(Date.now(), 500)).find((r) => r.idempotency_key === refused.idempotency_key),
    );
    expect(rejection).toMatchObject({ reason: 'recipient_deleted' });
    expect(await store.getRoute(id, `push:${user}`)).toMatchObject({ status: 'cancelled', cancel_reason: 'user.deleted', attempts: 1 });
    expect(await store.getNotification(id)).toMatchObject({ state: 'accepted' });
  });

  it.each([
    { where: 'in an item of its own', storedWithNotification: false },
    { where: "in the notification's item", storedWithNotification: true },
  ])('lets a route leased at the time finish its attempt, then does not retry it (the route $where)', async ({ storedWithNotification }) => {
    const user = uid('inflight');
    const { id, routes } = await seedNotification({ storedWithNotification, type: 'receipt', recipients: [{ user_id: user, email: `${user}@example.com` }], payload: { order: { id: '1', total: '1' } }, channels: ['email'], maxAttempts: 3 });
    const now = Date.now();
    const lease = await store.leaseRoute(routes[0]!, 'worker-1', now + 60_000, now);
    expect(lease.leased).toBe(true);

    await putLifecycle({ event_type: 'user.deleted', user_id: user, occurred_at_ms: Date.now() });
    const requested = await waitFor('cancellation requested', async () => {
      const r = await store.getRoute(id, routes[0]!.route_id);
      return r?.cancel_requested ? r : undefined;
    });
    expect(requested.status).toBe('pending');

    // The attempt fails; it would normally be retried.
    const recorded = await store.completeRoute(lease.leased ? lease.route : requested, 'worker-1', { status: 'failed', nextAttemptAt: Date.now() + 1000, backoffMs: 1000, classification: 'email_send_failed', message: 'x' }, Date.now());
    expect(recorded).toBe(true);
    expect(await store.getRoute(id, routes[0]!.route_id)).toMatchObject({ status: 'cancelled', cancel_reason: 'user.deleted', last_failure_classification: 'email_send_failed' });
  });

  it('creates routes of a deleted recipient cancelled inside a multi-recipient intent', async () => {
    const [gone, kept] = [uid('gone'), uid('kept')];
    await putLifecycle({ event_type: 'user.deleted', user_id: gone, occurred_at_ms: Date.now() });
    await waitFor('deletion applied', async () => functionLogLines(gone).some((l) => l['message'] === 'lifecycle event applied'));
    const marker = uid('multi');
    await sendIntent({ notification_type: 'ping', producer: 'tests', idempotency_key: marker, audience: { kind: 'users', recipients: [{ user_id: gone }, { user_id: kept }] }, payload: {} });
    const id = notificationIdFor('tests', marker);
    const all = await waitFor('both routes terminal', async () => {
      const rs = await store.listRoutes(id);
      return rs.length === 2 && rs.every((r) => r.status === 'published' || r.status === 'cancelled') ? rs : undefined;
    });
    expect(Object.fromEntries(all.map((r) => [r.user_id, r.status]))).toEqual({ [gone]: 'cancelled', [kept]: 'published' });
  });
});

describe('user.blocked', () => {
  it('ends every session and cancels pending routes but keeps the stream', async () => {
    const user = uid('blocked');
    const phone = await connect(user, 'phone');
    await publishPush(user);
    await phone.waitForFrame('event');
    const { id, routes } = await seedNotification({ type: 'ping', recipients: [{ user_id: user }], payload: {}, channels: ['push'], maxAttempts: 3 });

    await putLifecycle({ event_type: 'user.blocked', user_id: user, occurred_at_ms: Date.now() });

    await phone.waitFor('closed', () => phone.closed);
    expect(phone.frames.at(-1)).toMatchObject({ type: 'session_invalidated', reason: 'user.blocked' });
    expect(await store.getRoute(id, routes[0]!.route_id)).toMatchObject({ status: 'cancelled', cancel_reason: 'user.blocked' });
    expect((await eventBuffer.getHead(user))?.position).toBe(1);
  });
});

describe('session.revoked', () => {
  it('closes only that session\'s sockets and cancels routes targeted at it', async () => {
    const user = uid('revoked');
    const [phone, laptop] = await Promise.all([connect(user, 'phone'), connect(user, 'laptop')]);
    const { id, routes } = await seedNotification({ type: 'ping', recipients: [{ user_id: user, device_session_id: 'phone' } as never, { user_id: user, device_session_id: 'laptop' } as never], payload: {}, channels: ['push'], maxAttempts: 3 });

    await putLifecycle({ event_type: 'session.revoked', user_id: user, device_session_id: 'phone', occurred_at_ms: Date.now() });

    await phone.waitFor('phone closed', () => phone.closed);
    expect(phone.frames.at(-1)).toMatchObject({ type: 'session_invalidated', reason: 'session.revoked', device_session_id: 'phone' });
    await new Promise((r) => setTimeout(r, 300));
    expect(laptop.closed).toBeUndefined();
    // session.revoked cancels routes after it ends the sessions: wait for that last step.
    await waitFor('the phone route cancelled', async () => (await store.getRoute(id, `push:${user}:phone`))?.status === 'cancelled');
    const statuses = Object.fromEntries(await Promise.all(routes.map(async (r) => [r.route_id, (await store.getRoute(id, r.route_id))?.status])));
    expect(statuses).toEqual({ [`push:${user}:phone`]: 'cancelled', [`push:${user}:laptop`]: 'pending' });
  });

  it('applies the same event once, and an older event never undoes a newer one', async () => {
    const user = uid('dupe');
    const first = await connect(user, 'phone');
    const at = Date.now();
    await putLifecycle({ event_type: 'session.revoked', user_id: user, device_session_id: 'phone', occurred_at_ms: at });
    await first.waitFor('closed', () => first.closed);

    // A new login on the same session; the duplicate and an older revocation must not end it.
    const second = await connect(user, 'phone');
    await putLifecycle({ event_type: 'session.revoked', user_id: user, device_session_id: 'phone', occurred_at_ms: at });
    await putLifecycle({ event_type: 'session.revoked', user_id: user, device_session_id: 'phone', occurred_at_ms: at - 60_000 });
    const results = await waitFor('both re-deliveries handled', async () => {
      const lines = functionLogLines(user).filter((l) => typeof l['message'] === 'string' && (l['message'] as string).startsWith('lifecycle event'));
      return lines.length >= 3 ? lines.map((l) => l['message']) : undefined;
    });
    // EventBridge does not order deliveries; the two re-deliveries may be handled in either order.
    expect(results[0]).toBe('lifecycle event applied');
    expect(results.slice(1).sort()).toEqual(['lifecycle event duplicate', 'lifecycle event superseded']);
    expect(second.closed).toBeUndefined();
  });
});

describe('bad events and failures', () => {
  it.each([
    ['malformed (no occurred_at_ms)', (u: string) => ({ event_type: 'user.deleted', user_id: u }), 'malformed'],
    ['malformed (occurred_at_ms not positive)', (u: string) => ({ event_type: 'user.deleted', user_id: u, occurred_at_ms: 0 }), 'malformed'],
    ['of an unknown event_type', (u: string) => ({ event_type: 'user.renamed', user_id: u, occurred_at_ms: Date.now() }), 'unknown_event_type'],
  ])('absorbs an event %s: logged, counted, nothing in the DLQ', async (_name, detail, reason) => {
    const user = uid('bad');
    const before = functionLogLines('LifecycleEventsAbsorbed').filter((l) => l['reason'] === reason).length;

    await putLifecycle(detail(user));

    await waitFor('metric emitted', async () => functionLogLines('LifecycleEventsAbsorbed').filter((l) => l['reason'] === reason).length > before);
    const metric = functionLogLines('LifecycleEventsAbsorbed').filter((l) => l['reason'] === reason).at(-1)!;
    expect(metric).toMatchObject({ LifecycleEventsAbsorbed: 1, reason });
    expect((metric['_aws'] as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0]!.Dimensions[0]).toContain('reason');
    expect(functionLogLines(user).some((l) => l['message'] === 'lifecycle event absorbed')).toBe(true);
    expect(await approximateDepth(lifecycleDlqUrl)).toBe(0);
  });

  it('retries a failing event from the lifecycle queue within seconds, then applies it', async () => {
    // Prepare: the user's first two invocations fail (each DynamoDB request is tried 3 times by the SDK).
    const user = uid('flaky');
    const socket = await connect(user, 'phone');
    await addFault('dynamodb', { match: user, status: 500, errorType: 'InternalServerError', times: 6 });

    // Act
    await putLifecycle({ event_type: 'user.blocked', user_id: user, occurred_at_ms: Date.now() });

    // Assess: applied after the queue gave it back (2 s, then 4 s), not after its 30-minute visibility timeout.
    await socket.waitFor('session_invalidated', () => socket.frames.find((f) => f.type === 'session_invalidated'), 30_000);
    await waitFor('the applied line', async () => functionLogLines(user).some((l) => l['message'] === 'lifecycle event applied'));
    const delays = functionLogLines(user).filter((l) => l['message'] === 'lifecycle event failed; will be retried').map((l) => l['retry_in_ms']);
    // Six failed requests: one or two invocations, depending on how many requests each made before it failed.
    expect(delays.length).toBeGreaterThanOrEqual(1);
    expect(delays).toEqual([2_000, 4_000].slice(0, delays.length));
  });

  it('moves an event that fails every receive to the lifecycle DLQ, and herald redrive-queue lifecycle applies it once fixed', async () => {
    // Prepare: every DynamoDB request about this user fails (500), so the handler throws.
    const user = uid('fails');
    const fault = await addFault('dynamodb', { match: user, status: 500, errorType: 'InternalServerError' });

    // Act
    await putLifecycle({ event_type: 'user.blocked', user_id: user, occurred_at_ms: Date.now() });

    // Assess: after the queue's 6 receives (2 + 4 + 8 + 16 + 32 s apart) the whole EventBridge event is in the DLQ.
    const received = await waitFor('the event in the lifecycle DLQ', async () => {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: lifecycleDlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 0 }));
      return Messages.find((m) => m.Body?.includes(user));
    }, 110_000);
    expect(JSON.parse(received.Body!)).toMatchObject({ 'detail-type': 'herald.lifecycle', detail: { user_id: user } });
    expect(functionLogLines(user).filter((l) => l['message'] === 'lifecycle event failed; will be retried').map((l) => l['retry_in_ms'])).toEqual([2_000, 4_000, 8_000, 16_000, 32_000, 0]);
    expect((await faults('dynamodb')).find((f) => f.id === fault.id)!.hits).toBeGreaterThanOrEqual(6);

    // Act: the cause fixed, the operator redrives the queue.
    await clearFaults('dynamodb');
    const redrive = await runCommand(process.execPath, ['bin/herald-cli.mjs', 'redrive-queue', 'lifecycle', '--endpoints', '.local/test-endpoints.json', '--json']);

    // Assess
    expect(redrive.code).toBe(0);
    await waitFor('the event applied', async () => functionLogLines(user).some((l) => l['message'] === 'lifecycle event applied'), 30_000);
  }, 150_000);
});
