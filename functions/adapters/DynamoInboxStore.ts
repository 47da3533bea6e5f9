import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, paginateQuery, QueryCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CountsByDay, InboxAction, InboxItemStatus } from '../core/inbox/inbox.ts';
import { parseInboxItemId, type InboxFilter, type InboxItem, type InboxPage, type InboxStore, type StoredCounts } from '../core/inbox/InboxService.ts';
import type { StreamEvent, StreamHead } from '../core/push/pushTypes.ts';
import { batchGetAll } from './batchGetAll.ts';
import { deleteAll } from './batchWriteAll.ts';
import { eventItem, type DynamoEventBuffer } from './DynamoEventBuffer.ts';
import { payloadOf, payloadText } from './storedPayload.ts';

const inboxPk = (userId: string) => `I#${userId}`;
const COUNTS_SK = 'COUNTS';
/** Items sort newest first by creation time: `T#<created_at, 15 digits>#<notification_id>`. */
const itemSk = (createdAt: number, notificationId: string) => `T#${String(createdAt).padStart(15, '0')}#${notificationId}`;
/** Above every item sk created at `before` ('~' sorts after the notification id's characters). */
const itemSkUpTo = (before: number) => `T#${String(before).padStart(15, '0')}#~`;
/** Below every item sk created at or after `since`. */
const itemSkFrom = (since: number) => `T#${String(since).padStart(15, '0')}#`;

/**
 * Inboxes in the notifications table: per user (`I#<user>`) one item per notification
 * (`T#<created>#<notification_id>`) and the counts (`COUNTS`, with a version). Every change is one
 * TransactWriteItems with the change's event in the streams table (see InboxStore).
 */
export class DynamoInboxStore implements InboxStore {
  public constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: { readonly tableName: string; readonly streamsTable: string; readonly buffer: Pick<DynamoEventBuffer, 'tail'> },
  ) {}

  public async counts(userId: string): Promise<StoredCounts> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.options.tableName, Key: { pk: inboxPk(userId), sk: COUNTS_SK }, ConsistentRead: true }));
    return { byDay: (Item?.['by_day'] as CountsByDay | undefined) ?? {}, version: (Item?.['version'] as number | undefined) ?? 0 };
  }

  public async getItems(userId: string, itemIds: readonly string[]): Promise<InboxItem[]> {
    const keys = itemIds.flatMap((id) => {
      const parsed = parseInboxItemId(id);
      return parsed ? [{ pk: inboxPk(userId), sk: itemSk(parsed.createdAt, parsed.notificationId) }] : [];
    });
    if (keys.length === 0) return [];
    const items = await batchGetAll(this.client, this.options.tableName, keys, { consistentRead: true });
    return items.map(toItem);
  }

  public async usersWithItem(userIds: readonly string[], itemId: string): Promise<Set<string>> {
    const parsed = parseInboxItemId(itemId);
    if (parsed === undefined || userIds.length === 0) return new Set();
    const keys = [...new Set(userIds)].map((userId) => ({ pk: inboxPk(userId), sk: itemSk(parsed.createdAt, parsed.notificationId) }));
    const found = await batchGetAll(this.client, this.options.tableName, keys, { consistentRead: true, projection: 'pk, sk' });
    return new Set(found.map((item) => String(item['pk']).slice(inboxPk('').length)));
  }

  public async list(userId: string, options: { filter: InboxFilter; since: number; type?: string; limit: number; cursor?: string; before?: number; wouldChange?: InboxAction }): Promise<InboxPage> {
    const filters: string[] = [];
    // From the oldest item still kept (retention) to `before`.
    const values: Record<string, unknown> = { ':pk': inboxPk(userId), ':low': itemSkFrom(options.since), ':high': options.before === undefined ? 'T#~' : itemSkUpTo(options.before) };
    const where = (expression: string, extra: Record<string, unknown>) => {
      filters.push(expression);
      Object.assign(values, extra);
    };
    if (options.filter === 'archived') where('archived = :yes', { ':yes': true });
    else if (options.filter !== 'all') where('archived = :no', { ':no': false });
    if (options.filter === 'unread') where('#state <> :read', { ':read': 'read' });
    if (options.type !== undefined) where('notification_type = :type', { ':type': options.type });
    if (options.wouldChange) where(WOULD_CHANGE[options.wouldChange].expression, WOULD_CHANGE[options.wouldChange].values);
    const names: Record<string, string> = filters.some((f) => f.includes('#state')) ? { '#state': 'state' } : {};
    let startKey: Record<string, unknown> | undefined = options.cursor === undefined ? undefined : { pk: inboxPk(userId), sk: cursorSk(options.cursor) };
    const items: InboxItem[] = [];
    for (;;) {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :low AND :high',
          ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
          ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
          ConsistentRead: true,
          Limit: Math.max(options.limit * 2, 20),
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        if (items.length === options.limit) {
          // Full, and more matched: the next page starts after the last item returned.
          return { items, next: cursorOf(items[items.length - 1]!) };
        }
        items.push(toItem(item));
      }
      if (page.LastEvaluatedKey === undefined) return { items };
      startKey = page.LastEvaluatedKey;
      if (items.length === options.limit) return { items, next: cursorOf(items[items.length - 1]!) };
    }
  }

  public head(userId: string, now: number): Promise<StreamHead> {
    return this.options.buffer.tail(userId, now);
  }

  public async add(item: InboxItem, counts: StoredCounts, after: CountsByDay, event: StreamEvent): Promise<'added' | 'exists' | 'conflict'> {
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.options.tableName,
                Item: { pk: inboxPk(item.user_id), sk: itemSk(item.created_at, item.notification_id), ...item, payload: payloadText(item.payload), expires_at: Math.ceil(item.expires_at_ms / 1000) },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            this.countsWrite(item.user_id, counts, after),
            this.eventPut(event),
          ],
        }),
      );
      return 'added';
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (reasons === undefined) throw error;
      return reasons[0] === 'ConditionalCheckFailed' ? 'exists' : 'conflict';
    }
  }

  public async change(userId: string, changes: readonly { readonly item: InboxItem; readonly to: InboxItemStatus }[], counts: StoredCounts, after: CountsByDay, event: StreamEvent): Promise<'changed' | 'conflict'> {
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            ...changes.map(({ item, to }) => ({
              Update: {
                TableName: this.options.tableName,
                Key: { pk: inboxPk(userId), sk: itemSk(item.created_at, item.notification_id) },
                UpdateExpression: 'SET #state = :to, archived = :toArchived',
                // Only from the status read: another device's change in between cancels this one.
                ConditionExpression: '#state = :from AND archived = :fromArchived',
                ExpressionAttributeNames: { '#state': 'state' },
                ExpressionAttributeValues: { ':to': to.state, ':toArchived': to.archived, ':from': item.state, ':fromArchived': item.archived },
              },
            })),
            this.countsWrite(userId, counts, after),
            this.eventPut(event),
          ],
        }),
      );
      return 'changed';
    } catch (error) {
      if (cancellationReasons(error) === undefined) throw error;
      return 'conflict';
    }
  }

  public async purge(userId: string): Promise<number> {
    let deleted = 0;
    const pages = paginateQuery(
      { client: this.client },
      { TableName: this.options.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': inboxPk(userId) }, ProjectionExpression: 'pk, sk' },
    );
    for await (const { Items: items = [] } of pages) {
      await deleteAll(this.client, this.options.tableName, items.map((item) => ({ pk: item['pk'], sk: item['sk'] })));
      deleted += items.filter((item) => item['sk'] !== COUNTS_SK).length;
    }
    return deleted;
  }

  /** The counts, conditional on the version read: changes to one inbox are applied one at a time. */
  private countsWrite(userId: string, read: StoredCounts, after: CountsByDay) {
    return {
      Update: {
        TableName: this.options.tableName,
        Key: { pk: inboxPk(userId), sk: COUNTS_SK },
        UpdateExpression: 'SET by_day = :byDay, version = :next',
        ConditionExpression: read.version === 0 ? 'attribute_not_exists(version)' : 'version = :version',
        ExpressionAttributeValues: { ':byDay': after, ':next': read.version + 1, ...(read.version === 0 ? {} : { ':version': read.version }) },
      },
    };
  }

  /** The change's event at its position, if the position is still free (the stream's append rule: docs/push.md). */
  private eventPut(event: StreamEvent) {
    return { Put: { TableName: this.options.streamsTable, Item: eventItem(event), ConditionExpression: 'attribute_not_exists(pk)' } };
  }
}

/** What each action changes, as a filter: mark-all pages through only those items. */
const WOULD_CHANGE: Record<InboxAction, { expression: string; values: Record<string, unknown> }> = {
  seen: { expression: '#state = :unseen', values: { ':unseen': 'unseen' } },
  read: { expression: '#state <> :isRead', values: { ':isRead': 'read' } },
  unread: { expression: '#state = :wasRead', values: { ':wasRead': 'read' } },
  archive: { expression: 'archived = :notArchived', values: { ':notArchived': false } },
  unarchive: { expression: 'archived = :wasArchived', values: { ':wasArchived': true } },
};

function toItem(stored: Record<string, unknown>): InboxItem {
  const { pk: _pk, sk: _sk, ...item } = stored;
  return { ...item, payload: payloadOf(item['payload']) } as unknown as InboxItem;
}

function cursorOf(item: InboxItem): string {
  return Buffer.from(itemSk(item.created_at, item.notification_id), 'utf8').toString('base64url');
}

/** The sort key a cursor names; a malformed cursor throws InvalidInboxCursorError. */
function cursorSk(cursor: string): string {
  const sk = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^T#\d{15}#n_[0-9a-f]{32}$/.test(sk)) throw new InvalidInboxCursorError();
  return sk;
}

export class InvalidInboxCursorError extends Error {
  public constructor() {
    super('cursor is not one this API returned');
    this.name = 'InvalidInboxCursorError';
  }
}

/** The cancellation reasons of a cancelled transaction (one per action, 'None' for those that passed); undefined for other errors. */
function cancellationReasons(error: unknown): string[] | undefined {
  if (!(error instanceof TransactionCanceledException)) return undefined;
  const reasons = error.CancellationReasons?.map((r) => r.Code ?? 'None');
  if (reasons && reasons.length > 0) return reasons;
  // Without structured reasons, DynamoDB's message lists them: "… [ConditionalCheckFailed, None, None]".
  const listed = /\[([^\]]*)\]/.exec(error.message)?.[1];
  return listed === undefined ? ['Unknown'] : listed.split(',').map((r) => r.trim());
}
