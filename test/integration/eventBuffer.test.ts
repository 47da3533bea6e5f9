import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoEventBuffer, eventSk, HEAD_SK, streamPk } from '../../functions/adapters/DynamoEventBuffer.ts';
import { DELETION_MARGIN_MS, EVENT_KEEP_AFTER_FRESHNESS_MS, NEW_EPOCH_SKIP } from '../../functions/core/push/streamHead.ts';
import { batchWriteAll } from '../../functions/adapters/batchWriteAll.ts';
import { chunk } from '../../functions/adapters/chunk.ts';
import { DYNAMODB_BATCH_WRITE_SIZE } from '../../functions/core/constants.ts';
import { routeKey } from '../../functions/adapters/dynamoKeys.ts';
import { DispatchError } from '../../functions/core/errors.ts';
import type { StreamEvent } from '../../functions/core/push/pushTypes.ts';
import { appendRouteEvent, documents, leasedPushRoute, outputs, store, uid, type LeasedPushRoute } from './support.ts';

// The event buffer's append against DynamoDB Local: conditional writes only, so every race and
// every crash point between them is checked here on the real emulator.
const streamsTable = outputs.streamsTableName;
const newBuffer = () => new DynamoEventBuffer(documents, { streamsTable, notificationsTable: outputs.tableName });
const buffer = newBuffer();

async function recordedPosition(route: LeasedPushRoute): Promise<{ epoch: string; position: number } | undefined> {
  const stored = await store.getRoute(route.notificationId, route.routeId);
  return stored?.stream_position === undefined ? undefined : { epoch: stored.stream_epoch!, position: stored.stream_position };
}

async function recordPosition(route: LeasedPushRoute, slot: { epoch: string; position: number }): Promise<void> {
  await documents.send(new UpdateCommand({
    TableName: outputs.tableName, Key: routeKey(route.notificationId, route.routeId),
    UpdateExpression: 'SET stream_epoch = :e, stream_position = :p', ExpressionAttributeValues: { ':e': slot.epoch, ':p': slot.position },
  }));
}

/** A buffer on the real emulator whose client notes the name of every command it sends. */
function watchedBuffer(options: { recentHeadMs?: number } = {}): { buffer: DynamoEventBuffer; sent: string[] } {
  const sent: string[] = [];
  const client = { send: (command: { constructor: { name: string } }) => (sent.push(command.constructor.name), documents.send(command as never)) };
  return { buffer: new DynamoEventBuffer(client as unknown as typeof documents, { streamsTable, notificationsTable: outputs.tableName, ...options }), sent };
}

function append(route: LeasedPushRoute, userId: string, options: { existing?: { epoch: string; position: number }; publishedAt?: number; via?: DynamoEventBuffer } = {}): Promise<StreamEvent> {
  return appendRouteEvent(options.via ?? buffer, route, userId, options);
}

describe('appending to a stream with conditional writes', () => {
  it('gives 30 concurrent appenders in three execution environments positions 1..30, each route recording its own event', async () => {
    const user = uid('race');
    const environments = [newBuffer(), newBuffer(), newBuffer()];
    const routes = await Promise.all(Array.from({ length: 30 }, () => leasedPushRoute(user)));

    const stored = await Promise.all(routes.map((route, i) => append(route, user, { via: environments[i % 3]! })));

    const events = await buffer.readAfter(user, 0, 100, Date.now());
    expect(events.map((e) => e.position)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(new Set(events.map((e) => e.event_id)).size).toBe(30);
    for (const [i, route] of routes.entries()) {
      const recorded = await recordedPosition(route);
      expect(recorded?.position).toBe(stored[i]!.position);
      expect(events[recorded!.position - 1]!.event_id).toBe(`${route.notificationId}/${route.routeId}`);
    }
    expect(await buffer.getHead(user)).toEqual({ epoch: events[0]!.epoch, position: 30 });
  });

  it('hands a retry whose earlier attempt stored the event that same event, and appends nothing', async () => {
    const user = uid('retry');
    const route = await leasedPushRoute(user);
    const first = await append(route, user);
    const watched = watchedBuffer();

    // Its position is at the head: the retry reads what is there instead of writing.
    const again = await append(route, user, { existing: await recordedPosition(route), via: watched.buffer });

    expect(again).toEqual(first);
    expect(watched.sent).toEqual(['QueryCommand', 'BatchGetCommand']);
    expect((await buffer.readAfter(user, 0, 10, 0)).map((e) => e.position)).toEqual([1]);
  });

  it('never writes behind the head: a retry whose event expired and was deleted appends after the head', async () => {
    // Prepare: the route's event at 1, two more events after it, then TTL deletes event 1.
    const user = uid('expired');
    const route = await leasedPushRoute(user);
    const first = await append(route, user);
    for (let i = 0; i < 2; i += 1) await append(await leasedPushRoute(user), user);
    await documents.send(new DeleteCommand({ TableName: streamsTable, Key: { pk: streamPk(user), sk: eventSk(1) } }));

    const again = await append(route, user, { existing: { epoch: first.epoch, position: 1 } });

    expect(again.position).toBe(4);
    expect(await recordedPosition(route)).toEqual({ epoch: first.epoch, position: 4 });
    expect((await buffer.readAfter(user, 0, 10, 0)).map((e) => e.position)).toEqual([2, 3, 4]);
  });

  it('stores the event at the position a crashed attempt recorded but never filled', async () => {
    const user = uid('reserved');
    const other = await leasedPushRoute(user);
    await append(other, user);
    const route = await leasedPushRoute(user);
    const head = await buffer.tail(user, Date.now());
    // The crashed attempt got as far as recording position 2 on the route.
    await documents.send(new UpdateCommand({
      TableName: outputs.tableName, Key: routeKey(route.notificationId, route.routeId),
      UpdateExpression: 'SET stream_epoch = :e, stream_position = :p', ExpressionAttributeValues: { ':e': head.epoch, ':p': 2 },
    }));

    const event = await append(route, user, { existing: { epoch: head.epoch, position: 2 } });

    expect(event.position).toBe(2);
    expect((await buffer.readAfter(user, 0, 10, 0)).map((e) => e.event_id)).toEqual([`${other.notificationId}/push:${user}`, `${route.notificationId}/push:${user}`]);
  });

  it('moves a retry on when another route took the position it had recorded: next free position, no gap, route updated', async () => {
    const user = uid('taken');
    const head = await buffer.tail(user, Date.now());
    const crashed = await leasedPushRoute(user);
    await documents.send(new UpdateCommand({
      TableName: outputs.tableName, Key: routeKey(crashed.notificationId, crashed.routeId),
      UpdateExpression: 'SET stream_epoch = :e, stream_position = :p', ExpressionAttributeValues: { ':e': head.epoch, ':p': 1 },
    }));
    const other = await leasedPushRoute(user);
    expect((await append(other, user)).position).toBe(1);

    const event = await append(crashed, user, { existing: { epoch: head.epoch, position: 1 } });

    expect(event.position).toBe(2);
    expect(await recordedPosition(crashed)).toEqual({ epoch: head.epoch, position: 2 });
    expect((await buffer.readAfter(user, 0, 10, 0)).map((e) => e.position)).toEqual([1, 2]);
  });

  it('refuses an attempt that no longer holds the lease: push_buffer_write_failed, nothing stored', async () => {
    const user = uid('stale');
    const route = await leasedPushRoute(user, 'someone-else');

    const failure = await append({ ...route, leaseToken: 'mine' }, user).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(DispatchError);
    expect(failure).toMatchObject({ classification: 'push_buffer_write_failed', retryable: true });
    expect(await buffer.readAfter(user, 0, 10, 0)).toEqual([]);
    expect(await recordedPosition(route)).toBeUndefined();
  });

  describe('a head read moments ago (accept records the position after it on the route it attempts)', () => {
    async function routeHoldingNextPosition(via: DynamoEventBuffer, user: string) {
      await append(await leasedPushRoute(user), user);
      const head = (await via.getHead(user))!;
      const route = await leasedPushRoute(user);
      const slot = { epoch: head.epoch, position: head.position + 1 };
      await recordPosition(route, slot);
      return { route, slot };
    }

    it('stands in for reading the head again: the append is the claim alone', async () => {
      const user = uid('recent');
      const watched = watchedBuffer();
      const { route, slot } = await routeHoldingNextPosition(watched.buffer, user);
      watched.sent.length = 0;

      const event = await append(route, user, { existing: slot, via: watched.buffer });

      expect(event.position).toBe(2);
      expect(watched.sent).toEqual(['PutCommand']);
      expect((await buffer.readAfter(user, 0, 10, 0)).map((e) => e.event_id)).toEqual([expect.any(String), `${route.notificationId}/push:${user}`]);
    });

    it('when another appender took that position since, the append moves on past it: no gap, no duplicate', async () => {
      const user = uid('recent-taken');
      const watched = watchedBuffer();
      const { route, slot } = await routeHoldingNextPosition(watched.buffer, user);
      const other = await append(await leasedPushRoute(user), user);
      expect(other.position).toBe(slot.position);

      const event = await append(route, user, { existing: slot, via: watched.buffer });

      expect(event.position).toBe(3);
      expect(await recordedPosition(route)).toEqual({ epoch: slot.epoch, position: 3 });
      expect((await buffer.readAfter(user, 0, 10, 0)).map((e) => e.position)).toEqual([1, 2, 3]);
    });

    it('is used once: a second append of the route reads the head, finds its own event and stores nothing', async () => {
      const user = uid('recent-once');
      const watched = watchedBuffer();
      const { route, slot } = await routeHoldingNextPosition(watched.buffer, user);
      watched.sent.length = 0;

      const event = await append(route, user, { existing: slot, via: watched.buffer });
      const again = await append(route, user, { existing: slot, via: watched.buffer });

      expect(again).toEqual(event);
      expect(watched.sent).toEqual(['PutCommand', 'QueryCommand', 'BatchGetCommand']);
      expect((await buffer.readAfter(user, 0, 10, 0)).map((e) => e.position)).toEqual([1, 2]);
    });

    it('is not used once older than recentHeadMs: the head is read again', async () => {
      const user = uid('recent-old');
      const watched = watchedBuffer({ recentHeadMs: 0 });
      const { route, slot } = await routeHoldingNextPosition(watched.buffer, user);
      watched.sent.length = 0;

      const event = await append(route, user, { existing: slot, via: watched.buffer });

      expect(event.position).toBe(2);
      expect(watched.sent).toEqual(['QueryCommand', 'PutCommand']);
    });
  });

  describe('the last position, told by the newest event (the head item is written per epoch, not per event)', () => {
    const day = 86_400_000;

    async function seedHead(user: string, head: { epoch: string; position: number; created_at: number }): Promise<void> {
      await documents.send(new PutCommand({ TableName: streamsTable, Item: { pk: streamPk(user), sk: HEAD_SK, ...head } }));
    }

    /** An event (freshness window one day) that TTL may delete from `deletableAt` on. */
    async function seedEvent(user: string, epoch: string, position: number, options: { deletableAt: number }): Promise<void> {
      const expiresAtMs = options.deletableAt - EVENT_KEEP_AFTER_FRESHNESS_MS;
      await documents.send(new PutCommand({
        TableName: streamsTable,
        Item: {
          pk: streamPk(user), sk: eventSk(position), user_id: user, epoch, position, event_id: `seeded-${position}`, notification_id: 'n',
          kind: 'chat.message', payload: {}, published_at: expiresAtMs - day, expires_at_ms: expiresAtMs, expires_at: Math.ceil(options.deletableAt / 1000),
        },
      }));
    }

    const storedHead = async (user: string) => (await documents.send(new GetCommand({ TableName: streamsTable, Key: { pk: streamPk(user), sk: HEAD_SK } }))).Item;

    it('stores each event with a TTL a week past its freshness window, and writes no head for it', async () => {
      const user = uid('ttl');
      const watched = watchedBuffer();
      await buffer.tail(user, Date.now());

      const event = await append(await leasedPushRoute(user), user, { via: watched.buffer });

      const item = (await documents.send(new GetCommand({ TableName: streamsTable, Key: { pk: streamPk(user), sk: eventSk(1) } }))).Item!;
      expect(item['expires_at']).toBe(Math.ceil((event.expires_at_ms + EVENT_KEEP_AFTER_FRESHNESS_MS) / 1000));
      expect(watched.sent).toEqual(['QueryCommand', 'UpdateCommand', 'PutCommand']);
      expect((await storedHead(user))?.['position']).toBe(0);
      expect(await buffer.getHead(user)).toEqual({ epoch: event.epoch, position: 1 });
    });

    it('keeps counting in the same epoch after a quiet day: events past the freshness window still tell the position', async () => {
      const user = uid('quiet-day');
      const now = Date.now();
      await seedHead(user, { epoch: 'quietday0001', position: 0, created_at: now - 3 * day });
      for (const position of [1, 2, 3]) await seedEvent(user, 'quietday0001', position, { deletableAt: now - 2 * day + EVENT_KEEP_AFTER_FRESHNESS_MS });

      const event = await append(await leasedPushRoute(user), user);

      expect(event).toMatchObject({ epoch: 'quietday0001', position: 4 });
      expect(await buffer.readAfter(user, 0, 10, now)).toEqual([event]);
    });

    it('begins a new epoch above the old positions when the newest event is about to be deleted (a stream quiet for a week)', async () => {
      const user = uid('quiet-week');
      const now = Date.now();
      await seedHead(user, { epoch: 'quietweek001', position: 0, created_at: now - 9 * day });
      for (const position of [1, 2, 3]) await seedEvent(user, 'quietweek001', position, { deletableAt: now + 10 * 60_000 });

      const event = await append(await leasedPushRoute(user), user);

      expect(event.epoch).not.toBe('quietweek001');
      expect(event.position).toBe(3 + NEW_EPOCH_SKIP + 1);
      expect(await storedHead(user)).toMatchObject({ epoch: event.epoch, position: 3 + NEW_EPOCH_SKIP });
      expect(await buffer.tail(user, Date.now())).toEqual({ epoch: event.epoch, position: 3 + NEW_EPOCH_SKIP + 1 });
    });

    it('keeps an append that read the old head just before a new epoch began out of the new epoch\'s positions', async () => {
      const user = uid('straddle');
      const now = Date.now();
      await seedHead(user, { epoch: 'straddle0001', position: 0, created_at: now - 9 * day });
      for (const position of [1, 2, 3]) await seedEvent(user, 'straddle0001', position, { deletableAt: now + DELETION_MARGIN_MS + 5_000 });
      // An append reads the head: still the old epoch (the newest event vouched for, just).
      const lateBuffer = newBuffer();
      expect(await lateBuffer.getHead(user)).toEqual({ epoch: 'straddle0001', position: 3 });
      const late = await leasedPushRoute(user);
      const lateSlot = { epoch: 'straddle0001', position: 4 };
      await recordPosition(late, lateSlot);
      // Ten seconds on, another append finds the newest event too close to deletion: new epoch.
      const fresh = await append(await leasedPushRoute(user), user, { publishedAt: now + 10_000 });

      // The first append claims on the head it read before that.
      const stale = await append(late, user, { existing: lateSlot, publishedAt: now, via: lateBuffer });
      const next = await append(await leasedPushRoute(user), user, { publishedAt: now + 10_000 });

      expect(fresh).toMatchObject({ epoch: expect.not.stringMatching(/^straddle0001$/), position: 3 + NEW_EPOCH_SKIP + 1 });
      expect(stale).toMatchObject({ epoch: 'straddle0001', position: 4 });
      expect(next).toMatchObject({ epoch: fresh.epoch, position: fresh.position + 1 });
      expect((await buffer.readAfter(user, 3 + NEW_EPOCH_SKIP, 10, now)).map((e) => e.epoch)).toEqual([fresh.epoch, fresh.epoch]);
    });

    it('begins a new epoch when an old epoch has no event left (all deleted), so no cursor of it is ever continued', async () => {
      const user = uid('deleted');
      await seedHead(user, { epoch: 'deleted00001', position: 0, created_at: Date.now() - 8 * day });

      const head = await buffer.tail(user, Date.now());
      const event = await append(await leasedPushRoute(user), user);

      expect(head).toEqual({ epoch: expect.not.stringMatching(/^deleted00001$/), position: NEW_EPOCH_SKIP });
      expect(event).toMatchObject({ epoch: head.epoch, position: NEW_EPOCH_SKIP + 1 });
    });

    it('keeps the epoch of a stream begun before its first event (a client resumed first)', async () => {
      const user = uid('begun');
      const head = await buffer.tail(user, Date.now());

      const event = await append(await leasedPushRoute(user), user);

      expect(event).toMatchObject({ epoch: head.epoch, position: 1 });
    });

    it('begins a new epoch above an event of another epoch stored past the base (an append that raced a purge)', async () => {
      const user = uid('leftover');
      const now = Date.now();
      await seedHead(user, { epoch: 'current00001', position: 0, created_at: now });
      await seedEvent(user, 'purged000001', 5, { deletableAt: now + 8 * day });

      const event = await append(await leasedPushRoute(user), user);

      expect(event.epoch).not.toMatch(/^(current00001|purged000001)$/);
      expect(event.position).toBe(5 + NEW_EPOCH_SKIP + 1);
    });

    it('begins a stream well above events a purge has not deleted yet (its head item already gone)', async () => {
      const user = uid('purging');
      await seedEvent(user, 'purged000002', 7, { deletableAt: Date.now() + 8 * day });

      const event = await append(await leasedPushRoute(user), user);

      expect(event.epoch).not.toBe('purged000002');
      expect(event.position).toBe(7 + NEW_EPOCH_SKIP + 1);
      expect(await storedHead(user)).toMatchObject({ epoch: event.epoch, position: 7 + NEW_EPOCH_SKIP });
    });

    it('gives 12 concurrent appenders to a stream quiet for a week one new epoch and 12 gapless positions above the old ones', async () => {
      const user = uid('quiet-race');
      const now = Date.now();
      await seedHead(user, { epoch: 'quietrace001', position: 0, created_at: now - 9 * day });
      for (const position of [1, 2, 3]) await seedEvent(user, 'quietrace001', position, { deletableAt: now + 60_000 });
      const environments = [newBuffer(), newBuffer(), newBuffer()];
      const routes = await Promise.all(Array.from({ length: 12 }, () => leasedPushRoute(user)));

      const stored = await Promise.all(routes.map((route, i) => append(route, user, { via: environments[i % 3]! })));

      expect(new Set(stored.map((e) => e.epoch)).size).toBe(1);
      expect(stored[0]!.epoch).not.toBe('quietrace001');
      expect(stored.map((e) => e.position).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => 3 + NEW_EPOCH_SKIP + 1 + i));
    });
  });
});

describe("purging a user's stream (a deleted user)", () => {
  it('deletes every event across query pages of 500 keys, and the head, and counts them', async () => {
    const user = uid('purged');
    const events = 1_201;
    const now = Date.now();
    await documents.send(new PutCommand({ TableName: streamsTable, Item: { pk: streamPk(user), sk: HEAD_SK, epoch: 'purgeall0001', position: 0, created_at: now } }));
    const items = Array.from({ length: events }, (_, i) => ({
      pk: streamPk(user), sk: eventSk(i + 1), user_id: user, epoch: 'purgeall0001', position: i + 1, event_id: `seeded-${i + 1}`, notification_id: 'n',
      kind: 'chat.message', payload: {}, published_at: now, expires_at_ms: now + 86_400_000, expires_at: Math.ceil(now / 1000) + 86_400,
    }));
    for (const group of chunk(items, DYNAMODB_BATCH_WRITE_SIZE)) await batchWriteAll(documents, streamsTable, group.map((Item) => ({ PutRequest: { Item } })));

    expect(await buffer.purge(user)).toBe(events + 1);

    const left = await documents.send(new QueryCommand({ TableName: streamsTable, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': streamPk(user) }, ConsistentRead: true }));
    expect(left.Items).toEqual([]);
  });
});
