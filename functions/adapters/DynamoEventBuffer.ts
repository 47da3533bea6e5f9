import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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
  /** Appends that lose the race for the head are retried this many times. */
  readonly maxAppendAttempts?: number;
}

/**
 * Per-user event streams in DynamoDB. An append is one transaction of three conditional writes:
 * advance the head from the position we read (`position = p`), put the event at p + 1
 * (`attribute_not_exists`), and record p + 1 on the route (`lease_token = ours AND no position
 * yet`). Either all happen or none, so positions are gapless and strictly increasing in commit
 * order, and a route gets at most one position. See docs/push.md for the cost.
 */
export class DynamoEventBuffer implements EventBuffer {
  public constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: DynamoEventBufferOptions,
    private readonly random: () => number = Math.random,
  ) {}

  public async appendForRoute(input: Parameters<EventBuffer['appendForRoute']>[0]): Promise<StreamEvent> {
    const { event } = input;
    if (input.existing) return { ...event, ...input.existing };
    const attempts = this.options.maxAppendAttempts ?? 30;
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      const head = await this.getHead(event.user_id);
      const epoch = head?.epoch ?? newEpoch();
      const position = (head?.position ?? 0) + 1;
      const stored: StreamEvent = { ...event, epoch, position };
      try {
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              head === undefined
                ? {
                    Put: {
                      TableName: this.options.streamsTable,
                      Item: { pk: streamPk(event.user_id), sk: HEAD_SK, epoch, position, created_at: event.published_at },
                      ConditionExpression: 'attribute_not_exists(pk)',
                    },
                  }
                : {
                    Update: {
                      TableName: this.options.streamsTable,
                      Key: { pk: streamPk(event.user_id), sk: HEAD_SK },
                      UpdateExpression: 'SET #position = :next',
                      ConditionExpression: '#position = :current AND epoch = :epoch',
                      ExpressionAttributeNames: { '#position': 'position' },
                      ExpressionAttributeValues: { ':next': position, ':current': head.position, ':epoch': epoch },
                    },
                  },
              {
                Put: {
                  TableName: this.options.streamsTable,
                  Item: { pk: streamPk(event.user_id), sk: eventSk(position), ...stored, expires_at: Math.ceil(event.expires_at_ms / 1000) },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
              {
                Update: {
                  TableName: this.options.notificationsTable,
                  Key: routeKey(input.notificationId, input.routeId),
                  UpdateExpression: 'SET stream_epoch = :epoch, stream_position = :next',
                  ConditionExpression: 'lease_token = :token AND attribute_not_exists(stream_position)',
                  ExpressionAttributeValues: { ':epoch': epoch, ':next': position, ':token': input.leaseToken },
                },
              },
            ],
          }),
        );
        return stored;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const reasons = error.CancellationReasons ?? [];
        if (reasons[2]?.Code === 'ConditionalCheckFailed') {
          throw new DispatchError('push_buffer_write_failed', 'the route lost its lease (or already has a position) while appending', true);
        }
        // Another append moved the head first (or a transaction conflict): read it again.
        await sleep(Math.min(200, 5 * 2 ** attempt) * (0.5 + this.random()));
      }
    }
    throw new DispatchError('push_buffer_write_failed', `stream head of ${event.user_id} stayed contended for ${attempts} attempts`, true);
  }

  /** Strongly consistent. Heads asked for together (the parallel records of a batch) share one BatchGetItem. */
  public getHead(userId: string): Promise<StreamHead | undefined> {
    return this.heads.load(userId);
  }

  private readonly heads = new Coalescer<string, StreamHead | undefined>(async (userIds) => {
    const items = await batchGetAll(this.client, this.options.streamsTable, userIds.map((u) => ({ pk: streamPk(u), sk: HEAD_SK })), { consistentRead: true });
    const found = new Map(items.map((item) => [item['pk'] as string, { epoch: item['epoch'] as string, position: item['position'] as number }]));
    return new Map(userIds.map((userId) => [userId, found.get(streamPk(userId))]));
  });

  public async ensureHead(userId: string, now: number): Promise<StreamHead> {
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

  public async getEvent(userId: string, position: number, now: number): Promise<StreamEvent | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.options.streamsTable, Key: { pk: streamPk(userId), sk: eventSk(position) }, ConsistentRead: true }),
    );
    return Item && (Item['expires_at_ms'] as number) > now ? toEvent(Item) : undefined;
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
