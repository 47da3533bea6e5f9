import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { randomBytes } from 'node:crypto';
import { DYNAMODB_BATCH_WRITE_SIZE } from '../core/constants.ts';
import { DispatchError } from '../core/errors.ts';
import type { EventBuffer } from '../core/push/pushPorts.ts';
import type { StreamEvent, StreamHead } from '../core/push/pushTypes.ts';
import { batchGetAll } from './batchGetAll.ts';
import { batchWriteAll } from './batchWriteAll.ts';
import { chunk } from './chunk.ts';
import { Coalescer } from './Coalescer.ts';
import { routeKey } from './dynamoKeys.ts';

export const streamPk = (userId: string) => `S#${userId}`;
export const HEAD_SK = 'HEAD';
export const eventSk = (position: number) => `E#${String(position).padStart(15, '0')}`;

export interface DynamoEventBufferOptions {
  readonly streamsTable: string;
  readonly notificationsTable: string;
  /** Appends that find their position taken move on to the next one, this many times. */
  readonly maxAppendAttempts?: number;
  /**
   * How long a head this buffer read stands in for reading it again, for the append of the position
   * right after it (default 5 s; far inside any freshness window, so no event at or above that
   * position can have expired in between).
   */
  readonly recentHeadMs?: number;
}

/** At most this many remembered head reads; more means they are not being used (cleared, not evicted one by one). */
const RECENT_HEADS_LIMIT = 1_000;

/**
 * Per-user event streams in DynamoDB, appended with plain conditional writes (no transaction):
 *
 * 1. reserve: record the slot (epoch, head + 1) on the route, if `lease_token = ours` and the route
 *    has no slot yet (or still the one it had);
 * 2. claim: put the event at that slot if nothing is there;
 * 3. advance the head to the slot, if it is behind (`advanceHead`, a hint for the next append).
 *
 * An event is only ever put at a position p + 1 after p was seen taken (by the head, which only
 * advances to stored events, or by a failed claim), so positions are gapless and committed in
 * order. A route only puts its event at the slot it holds (never at or below the head), and moves
 * its slot only after finding it taken by another event, so it appends at most once: a retry finds
 * its own event there (once that has expired and been deleted, it is stored anew). The
 * head may lag behind the stream (a crash after the claim); appends probe past it and `tail`
 * reads past it. See docs/push.md for why this replaced a transaction of the three writes.
 */
export class DynamoEventBuffer implements EventBuffer {
  public constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: DynamoEventBufferOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** Head reads of the last few seconds by user, each used at most once by an append (see `recentHeadBefore`). */
  private readonly recentHeads = new Map<string, { readonly head: StreamHead; readonly readAt: number }>();

  public async appendForRoute(input: Parameters<EventBuffer['appendForRoute']>[0]): Promise<StreamEvent> {
    const { event } = input;
    let held = input.existing;
    let taken: StreamHead | undefined;
    const attempts = this.options.maxAppendAttempts ?? 30;
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      const head = (attempt === 1 ? this.recentHeadBefore(event.user_id, held) : undefined) ?? (await this.headOrCreate(event.user_id, event.published_at));
      let slot: StreamHead | undefined;
      if (held !== undefined && taken === undefined && held.epoch === head.epoch) {
        if (held.position > head.position) {
          slot = held;
        } else {
          // At or below the head a position is taken, or its event expired and was deleted: look,
          // never write there (that would put a new event behind cursors already past it).
          const there = await this.storedAt(event.user_id, held.position);
          if (there?.event_id === event.event_id) return there;
          taken = held;
        }
      }
      if (slot === undefined) {
        // Past the head, and past the slot we found taken (the head may lag behind it).
        const after = taken?.epoch === head.epoch ? Math.max(head.position, taken.position) : head.position;
        slot = { epoch: head.epoch, position: after + 1 };
        await this.reserve(input, slot, held);
        held = slot;
      }
      const stored: StreamEvent = { ...event, ...slot };
      const occupant = await this.claim(stored);
      if (occupant === undefined) return stored;
      // An earlier attempt of this route stored it (and stopped before completing the route).
      if (occupant.event_id === event.event_id) return occupant;
      taken = slot;
      // Another appender was first; several in a row means a busy stream: spread the retries out.
      if (attempt >= 3) await sleep(Math.min(100, 2 ** attempt) * this.random());
    }
    throw new DispatchError('push_buffer_write_failed', `stream of ${event.user_id} stayed contended for ${attempts} attempts`, true);
  }

  /** Records `slot` as the route's position, if we still hold its lease and it still holds `held` (or nothing). */
  private async reserve(input: Parameters<EventBuffer['appendForRoute']>[0], slot: StreamHead, held: StreamHead | undefined): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.options.notificationsTable,
          Key: routeKey(input.notificationId, input.routeId),
          UpdateExpression: 'SET stream_epoch = :epoch, stream_position = :position',
          ConditionExpression: held === undefined
            ? 'lease_token = :token AND attribute_not_exists(stream_position)'
            : 'lease_token = :token AND stream_epoch = :heldEpoch AND stream_position = :heldPosition',
          ExpressionAttributeValues: {
            ':epoch': slot.epoch,
            ':position': slot.position,
            ':token': input.leaseToken,
            ...(held === undefined ? {} : { ':heldEpoch': held.epoch, ':heldPosition': held.position }),
          },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new DispatchError('push_buffer_write_failed', 'the route lost its lease (or its stream position moved) while appending', true);
      }
      throw error;
    }
  }

  /** Puts the event at its position if the position is free; otherwise returns what is there. */
  private async claim(stored: StreamEvent): Promise<StreamEvent | undefined> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.options.streamsTable,
          Item: { pk: streamPk(stored.user_id), sk: eventSk(stored.position), ...stored, expires_at: Math.ceil(stored.expires_at_ms / 1000) },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException && error.Item) return toEvent(unmarshall(error.Item));
      throw error;
    }
  }

  public async advanceHead(event: StreamEvent): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.options.streamsTable,
          Key: { pk: streamPk(event.user_id), sk: HEAD_SK },
          UpdateExpression: 'SET #position = :position',
          ConditionExpression: 'epoch = :epoch AND #position < :position',
          ExpressionAttributeNames: { '#position': 'position' },
          ExpressionAttributeValues: { ':epoch': event.epoch, ':position': event.position },
        }),
      );
    } catch (error) {
      // Already at or past it (a later append advanced it first), or the stream was reset.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /**
   * The head item as stored: its position may lag behind the last stored event. Strongly consistent.
   * Remembered for a few seconds: accept records head + 1 on the route it attempts, and that
   * route's append then needs no second read (`recentHeadBefore`).
   */
  public async getHead(userId: string): Promise<StreamHead | undefined> {
    const head = await this.heads.load(userId);
    if (head !== undefined) {
      if (this.recentHeads.size >= RECENT_HEADS_LIMIT) this.recentHeads.clear();
      this.recentHeads.set(userId, { head, readAt: performance.now() });
    }
    return head;
  }

  /**
   * The head read moments ago just below the position the route holds, if there is one (used once).
   * Standing in for a new read is safe: if that position has been taken since, the claim fails on
   * the occupant and the next attempt reads the head; an event stored there since cannot have
   * expired yet. What a new read could still catch is a purge in between (the user deleted that
   * moment): the event then lands after the purge, as it can in the moment between any head read
   * and its claim — this only widens that moment by accept's route write. A deleted user gets no
   * connections and no intents, and the event expires with the freshness window.
   */
  private recentHeadBefore(userId: string, held: StreamHead | undefined): StreamHead | undefined {
    const recent = this.recentHeads.get(userId);
    if (recent === undefined || held === undefined) return undefined;
    this.recentHeads.delete(userId);
    const fresh = performance.now() - recent.readAt < (this.options.recentHeadMs ?? 5_000);
    return fresh && recent.head.epoch === held.epoch && recent.head.position + 1 === held.position ? recent.head : undefined;
  }

  /** Heads asked for together (the parallel records of a batch) share one BatchGetItem. */
  private readonly heads = new Coalescer<string, StreamHead | undefined>(async (userIds) => {
    const items = await batchGetAll(this.client, this.options.streamsTable, userIds.map((u) => ({ pk: streamPk(u), sk: HEAD_SK })), { consistentRead: true });
    const found = new Map(items.map((item) => [item['pk'] as string, { epoch: item['epoch'] as string, position: item['position'] as number }]));
    return new Map(userIds.map((userId) => [userId, found.get(streamPk(userId))]));
  });

  private async headOrCreate(userId: string, now: number): Promise<StreamHead> {
    const existing = await this.getHead(userId);
    if (existing) return existing;
    const head = { epoch: newEpoch(), position: 0 };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.options.streamsTable,
          Item: { pk: streamPk(userId), sk: HEAD_SK, ...head, created_at: now },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return head;
    } catch (error) {
      // A concurrent append or resume created it first: use theirs.
      if (error instanceof ConditionalCheckFailedException) return (await this.getHead(userId))!;
      throw error;
    }
  }

  /** The stream's epoch and last stored position: the head, moved past any events stored beyond it. */
  public async tail(userId: string, now: number): Promise<StreamHead> {
    const head = await this.headOrCreate(userId, now);
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.options.streamsTable,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeNames: { '#position': 'position' },
        ExpressionAttributeValues: { ':pk': streamPk(userId), ':from': eventSk(head.position + 1), ':to': eventSk(999_999_999_999_999) },
        ProjectionExpression: 'epoch, #position',
        ScanIndexForward: false,
        ConsistentRead: true,
        Limit: 1,
      }),
    );
    const last = Items[0];
    return last !== undefined && last['epoch'] === head.epoch ? { epoch: head.epoch, position: last['position'] as number } : head;
  }

  public async readAfter(userId: string, after: number, limit: number, now: number): Promise<StreamEvent[]> {
    const events: StreamEvent[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.options.streamsTable,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': streamPk(userId), ':from': eventSk(after + 1), ':to': eventSk(999_999_999_999_999) },
          ConsistentRead: true,
          Limit: limit - events.length,
          ExclusiveStartKey: startKey,
        }),
      );
      // TTL deletion is lazy: expired items may still be returned, so filter on read.
      for (const item of page.Items ?? []) if ((item['expires_at_ms'] as number) > now) events.push(toEvent(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined && events.length < limit);
    return events;
  }

  /** Head first, so a concurrent append starts a new epoch rather than continuing the old one. */
  public async purge(userId: string): Promise<number> {
    const table = this.options.streamsTable;
    await this.client.send(new DeleteCommand({ TableName: table, Key: { pk: streamPk(userId), sk: HEAD_SK } }));
    let deleted = 1;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': streamPk(userId) },
          ProjectionExpression: 'pk, sk',
          Limit: 500,
          ExclusiveStartKey: startKey,
        }),
      );
      const keys = page.Items ?? [];
      for (const group of chunk(keys, DYNAMODB_BATCH_WRITE_SIZE)) {
        await batchWriteAll(this.client, table, group.map((Key) => ({ DeleteRequest: { Key } })));
      }
      deleted += keys.length;
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return deleted;
  }

  /** The event stored at `position`, expired or not. Strongly consistent. */
  private async storedAt(userId: string, position: number): Promise<StreamEvent | undefined> {
    const [item] = await batchGetAll(this.client, this.options.streamsTable, [{ pk: streamPk(userId), sk: eventSk(position) }], { consistentRead: true });
    return item === undefined ? undefined : toEvent(item);
  }
}

function toEvent(item: Record<string, unknown>): StreamEvent {
  const { pk: _pk, sk: _sk, expires_at: _ttl, ...event } = item;
  return event as unknown as StreamEvent;
}

/** 12 base-36 characters of randomness; a new one per stream (re)creation. */
function newEpoch(): string {
  return BigInt(`0x${randomBytes(8).toString('hex')}`).toString(36).padStart(12, '0').slice(-12);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
