import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoEventBuffer, eventSk, streamPk } from '../../functions/adapters/DynamoEventBuffer.ts';
import { routeKey } from '../../functions/adapters/dynamoKeys.ts';
import { DispatchError } from '../../functions/core/errors.ts';
import type { StreamEvent } from '../../functions/core/push/pushTypes.ts';
import { appendRouteEvent, documents, endpoints, leasedPushRoute, outputs, store, uid, type LeasedPushRoute } from './support.ts';

// The event buffer's append against DynamoDB Local: conditional writes only, so every race and
// every crash point between them is checked here on the real emulator.
const streamsTable = endpoints.outputs['HeraldStreamsTableName']!;
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

    const stored = await Promise.all(routes.map(async (route, i) => {
      const event = await append(route, user, { via: environments[i % 3]! });
      await environments[i % 3]!.advanceHead(event);
      return event;
    }));

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
    const first = await append(route, user, { publishedAt: 1_000 });

    // The head not yet moved up: the retry's claim fails on its own event.
    const again = await append(route, user, { existing: await recordedPosition(route), publishedAt: 2_000 });
    await buffer.advanceHead(first);
    // The head at its position: the retry reads instead of writing.
    const later = await append(route, user, { existing: await recordedPosition(route), publishedAt: 3_000 });

    expect(again).toEqual(first);
    expect(later).toEqual(first);
    expect((await buffer.readAfter(user, 0, 10, 0)).map((e) => e.position)).toEqual([1]);
  });

  it('never writes behind the head: a retry whose event expired and was deleted appends after the head', async () => {
    // Prepare: the route's event at 1, two more events after it, then TTL deletes event 1.
    const user = uid('expired');
    const route = await leasedPushRoute(user);
    const first = await append(route, user);
    for (let i = 0; i < 2; i += 1) await buffer.advanceHead(await append(await leasedPushRoute(user), user));
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

  it('looks past a head left behind by a crash after the event was stored: the next append and the tail', async () => {
    const user = uid('lag');
    await append(await leasedPushRoute(user), user); // no advanceHead: the attempt died here
    expect((await buffer.getHead(user))?.position).toBe(0);
    expect((await buffer.tail(user, Date.now())).position).toBe(1);

    const next = await append(await leasedPushRoute(user), user);
    await buffer.advanceHead(next);

    expect(next.position).toBe(2);
    expect((await buffer.getHead(user))?.position).toBe(2);
    expect((await buffer.readAfter(user, 0, 10, 0)).map((e) => e.position)).toEqual([1, 2]);
  });

  describe('a head read moments ago (accept records the position after it on the route it attempts)', () => {
    async function routeHoldingNextPosition(via: DynamoEventBuffer, user: string) {
      await append(await leasedPushRoute(user), user).then((e) => buffer.advanceHead(e));
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
      expect(watched.sent).toEqual(['PutCommand', 'BatchGetCommand', 'PutCommand']);
      expect((await buffer.readAfter(user, 0, 10, 0)).map((e) => e.position)).toEqual([1, 2]);
    });

    it('is not used once older than recentHeadMs: the head is read again', async () => {
      const user = uid('recent-old');
      const watched = watchedBuffer({ recentHeadMs: 0 });
      const { route, slot } = await routeHoldingNextPosition(watched.buffer, user);
      watched.sent.length = 0;

      const event = await append(route, user, { existing: slot, via: watched.buffer });

      expect(event.position).toBe(2);
      expect(watched.sent).toEqual(['BatchGetCommand', 'PutCommand']);
    });
  });
});
