import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, paginateQuery, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { payloadOf, payloadText } from './storedPayload.ts';
import { randomBytes } from 'node:crypto';
import { DispatchError } from '../core/errors.ts';
import type { EventBuffer } from '../core/push/pushPorts.ts';
import type { StreamEvent, StreamHead } from '../core/push/pushTypes.ts';
import { EVENT_KEEP_AFTER_FRESHNESS_MS, readStreamHead, type StreamHeadReading } from '../core/push/streamHead.ts';
import { batchGetAll } from './batchGetAll.ts';
import { deleteAll } from './batchWriteAll.ts';
import { routeItemKey } from './dynamoKeys.ts';
import type { RouteEvidence } from '../core/route/effectiveStatus.ts';

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
 * 2. claim: put the event at that slot if nothing is there.
 *
 * The head is not written per event: one consistent Query reads the head item (epoch and the
 * position its first event follows) with the newest event, which tells the last position
 * (`readStreamHead`, with the rule for when it cannot and the epoch starts over).
 *
 * An event is only ever put at a position p + 1 after p was seen taken (the newest stored event,
 * the epoch's base, or a failed claim), so positions are gapless and committed in order. A route
 * only puts its event at the slot it holds (never at or below the head), and moves its slot only
 * after finding it taken by another event, so it appends at most once: a retry finds its own
 * event there (once that has expired and been deleted, it is stored anew). See docs/push.md.
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
      const head = (attempt === 1 ? this.recentHeadBefore(event.user_id, held) : undefined) ?? (await this.currentHead(event.user_id, event.published_at));
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
          Key: routeItemKey(input.route),
          UpdateExpression: 'SET stream_epoch = :epoch, stream_position = :position',
          // Or set to this slot already: this very write, applied before its answer was lost.
          ConditionExpression: held === undefined
            ? 'lease_token = :token AND (attribute_not_exists(stream_position) OR (stream_epoch = :epoch AND stream_position = :position))'
            : 'lease_token = :token AND ((stream_epoch = :heldEpoch AND stream_position = :heldPosition) OR (stream_epoch = :epoch AND stream_position = :position))',
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
          Item: eventItem(stored),
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

  /**
   * The stream's epoch and last stored position, or undefined when there is no stream yet or it
   * must begin a new epoch (the next append does that). Strongly consistent. Remembered for a few
   * seconds: accept records head + 1 on the route it attempts, and that route's append then needs
   * no second read (`recentHeadBefore`).
   */
  public async getHead(userId: string): Promise<StreamHead | undefined> {
    const reading = await this.readHead(userId, Date.now());
    if (reading.kind !== 'known') return undefined;
    if (this.recentHeads.size >= RECENT_HEADS_LIMIT) this.recentHeads.clear();
    this.recentHeads.set(userId, { head: reading.head, readAt: performance.now() });
    return reading.head;
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

  /** The head item and the newest event item in one consistent Query ('HEAD' sorts after every 'E#…'). */
  private async readHead(userId: string, now: number): Promise<StreamHeadReading> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.options.streamsTable,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeNames: { '#position': 'position' },
        ExpressionAttributeValues: { ':pk': streamPk(userId) },
        ProjectionExpression: 'sk, epoch, #position, created_at, expires_at',
        ScanIndexForward: false,
        ConsistentRead: true,
        Limit: 2,
      }),
    );
    const [first, second] = Items;
    const headItem = first?.['sk'] === HEAD_SK ? first : undefined;
    const newestItem = headItem === undefined ? first : second;
    return readStreamHead(
      headItem && { epoch: headItem['epoch'] as string, base: headItem['position'] as number, startedAt: headItem['created_at'] as number },
      newestItem && { epoch: newestItem['epoch'] as string, position: newestItem['position'] as number, deletableAt: (newestItem['expires_at'] as number) * 1000 },
      now,
    );
  }

  /** The head, beginning the stream or a new epoch of it first if need be (a conditional write on the head item). */
  private async currentHead(userId: string, now: number): Promise<StreamHead> {
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      const reading = await this.readHead(userId, now);
      if (reading.kind === 'known') return reading.head;
      const head = { epoch: newEpoch(), position: reading.base };
      try {
        if (reading.kind === 'absent') {
          await this.client.send(
            new PutCommand({
              TableName: this.options.streamsTable,
              Item: { pk: streamPk(userId), sk: HEAD_SK, ...head, created_at: now },
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          );
        } else {
          await this.client.send(
            new UpdateCommand({
              TableName: this.options.streamsTable,
              Key: { pk: streamPk(userId), sk: HEAD_SK },
              UpdateExpression: 'SET epoch = :epoch, #position = :position, created_at = :now',
              ConditionExpression: 'epoch = :old',
              ExpressionAttributeNames: { '#position': 'position' },
              ExpressionAttributeValues: { ':epoch': head.epoch, ':position': head.position, ':now': now, ':old': reading.epoch },
            }),
          );
        }
        return head;
      } catch (error) {
        // A concurrent append or resume began it first (or a purge removed it): read again.
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    throw new DispatchError('push_buffer_write_failed', `the stream of ${userId} kept changing while it was being begun`, true);
  }

  /** The stream's epoch and last stored position (beginning the stream, or a new epoch, if need be). */
  public tail(userId: string, now: number): Promise<StreamHead> {
    return this.currentHead(userId, now);
  }

  public async readAfter(userId: string, after: number, limit: number, now: number): Promise<StreamEvent[]> {
    const events: StreamEvent[] = [];
    // Paged by hand, not with paginateQuery: each page asks only for what is still missing.
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

  /**
   * Head first, so a concurrent append starts a new epoch rather than continuing the old one. An
   * event that is the only record of its route's success (`keep_until_ms`) is handed to
   * `beforeDelete` first, which writes that success where it outlives the event.
   */
  public async purge(userId: string, beforeDelete?: (evidence: readonly RouteEvidence[]) => Promise<void>): Promise<number> {
    const table = this.options.streamsTable;
    await this.client.send(new DeleteCommand({ TableName: table, Key: { pk: streamPk(userId), sk: HEAD_SK } }));
    let deleted = 1;
    const pages = paginateQuery(
      { client: this.client, pageSize: 500 },
      {
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': streamPk(userId) },
        ProjectionExpression: 'pk, sk, event_id, epoch, #position, published_at, keep_until_ms',
        ExpressionAttributeNames: { '#position': 'position' },
      },
    );
    for await (const { Items: items = [] } of pages) {
      const evidence = items.filter((item) => item['keep_until_ms'] !== undefined).map((item): RouteEvidence => ({
        event_id: item['event_id'] as string,
        epoch: item['epoch'] as string,
        position: item['position'] as number,
        published_at: item['published_at'] as number,
      }));
      if (evidence.length > 0 && beforeDelete) await beforeDelete(evidence);
      await deleteAll(this.client, table, items.map((item) => ({ pk: item['pk'], sk: item['sk'] })));
      deleted += items.length;
    }
    return deleted;
  }

  /** The event stored at `position`, expired or not. Strongly consistent. */
  private async storedAt(userId: string, position: number): Promise<StreamEvent | undefined> {
    const [item] = await batchGetAll(this.client, this.options.streamsTable, [{ pk: streamPk(userId), sk: eventSk(position) }], { consistentRead: true });
    return item === undefined ? undefined : toEvent(item);
  }
}

/**
 * The stored item of an event: TTL deletes it `EVENT_KEEP_AFTER_FRESHNESS_MS` after it leaves the
 * freshness window (replay skips it from the end of the window on; until deleted it keeps telling
 * the stream's last position), or at `keep_until_ms` if that is later (the event is the only
 * record of its route's success, kept as long as its notification).
 */
export function eventItem(event: StreamEvent): Record<string, unknown> {
  const deletableAt = Math.max(event.expires_at_ms + EVENT_KEEP_AFTER_FRESHNESS_MS, event.keep_until_ms ?? 0);
  return { pk: streamPk(event.user_id), sk: eventSk(event.position), ...event, payload: payloadText(event.payload), expires_at: Math.ceil(deletableAt / 1000) };
}

function toEvent(item: Record<string, unknown>): StreamEvent {
  const { pk: _pk, sk: _sk, expires_at: _ttl, ...event } = item;
  return { ...event, payload: payloadOf(event['payload']) } as unknown as StreamEvent;
}

/** 12 base-36 characters of randomness; a new one per stream (re)creation. */
function newEpoch(): string {
  return BigInt(`0x${randomBytes(8).toString('hex')}`).toString(36).padStart(12, '0').slice(-12);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
