import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DYNAMODB_BATCH_WRITE_SIZE } from '../core/constants.ts';
import type { BeginAcceptanceResult, NotificationStore, RouteRef, RouteState } from '../core/ports.ts';
import type { AttemptOutcome } from '../core/route/routeTransitions.ts';
import { TERMINAL_STATUSES, type NotificationRecord, type RouteRecord } from '../core/types.ts';
import { batchWriteAll } from './batchWriteAll.ts';
import { mapWithConcurrency } from './mapWithConcurrency.ts';
import { chunk } from './chunk.ts';
import { batchGetAll } from './batchGetAll.ts';
import { Coalescer, settled } from './Coalescer.ts';
import { DEAD_LETTERS_INDEX, deadLetterDay, DUE_INDEX, notificationKey, OPEN_BY_USER_INDEX, ROUTE_SK_PREFIX, routeKey, STORAGE_ATTRIBUTES } from './dynamoKeys.ts';

export interface DynamoNotificationStoreOptions {
  readonly tableName: string;
  /** Notifications and routes expire (TTL) this long after acceptance; also the idempotency window. */
  readonly retentionMs: number;
  /** Parallel BatchWriteItem calls when writing a large fan-out. */
  readonly writeConcurrency?: number;
}

const OPEN_STATUSES = { ':pending': 'pending', ':failed': 'failed' } as const;

/** SET clauses giving a route a due time; `open_user` goes with it, so both sparse route indexes hold the route. */
const setDueAt = (value: string) => `due_at = ${value}, open_user = user_id`;

/** Notifications and routes in one DynamoDB table; every route change is a conditional write. */
export class DynamoNotificationStore implements NotificationStore {
  public constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: DynamoNotificationStoreOptions,
  ) {}

  public async beginAcceptance(record: NotificationRecord, leaseToken: string, leaseExpiresAt: number): Promise<BeginAcceptanceResult> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: {
            ...notificationKey(record.notification_id),
            ...record,
            accept_lease_token: leaseToken,
            accept_lease_expires_at: leaseExpiresAt,
            expires_at: this.expiresAt(record.accepted_at),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { kind: 'created' };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException && error.Item) {
        return { kind: 'exists', record: fromItem<NotificationRecord>(unmarshall(error.Item)) };
      }
      throw error;
    }
  }

  public async takeOverAcceptance(notificationId: string, leaseToken: string, leaseExpiresAt: number, now: number): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: notificationKey(notificationId),
        UpdateExpression: 'SET accept_lease_token = :token, accept_lease_expires_at = :expires',
        ConditionExpression: '#state = :accepting AND accept_lease_expires_at <= :now',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':token': leaseToken, ':expires': leaseExpiresAt, ':now': now, ':accepting': 'accepting' },
      }),
    );
  }

  public async abandonAcceptance(notificationId: string, leaseToken: string): Promise<boolean> {
    return this.conditional(
      new DeleteCommand({
        TableName: this.options.tableName,
        Key: notificationKey(notificationId),
        ConditionExpression: '#state = :accepting AND accept_lease_token = :token',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':token': leaseToken, ':accepting': 'accepting' },
      }),
    );
  }

  public async completeAcceptance(notificationId: string, leaseToken: string, now: number): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: notificationKey(notificationId),
        UpdateExpression: 'SET #state = :accepted, accepted_complete_at = :now REMOVE accept_lease_token, accept_lease_expires_at',
        ConditionExpression: 'accept_lease_token = :token',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':accepted': 'accepted', ':token': leaseToken, ':now': now },
      }),
    );
  }

  /** Strongly consistent. Reads asked for together (the parallel records of a batch) share one BatchGetItem. */
  public getNotification(notificationId: string): Promise<NotificationRecord | undefined> {
    return this.notifications.load(notificationId);
  }

  private readonly notifications = new Coalescer<string, NotificationRecord | undefined>(async (ids) => {
    const items = await batchGetAll(this.client, this.options.tableName, ids.map(notificationKey), { consistentRead: true });
    const found = new Map(items.map((item) => [item['notification_id'] as string, fromItem<NotificationRecord>(item)]));
    return new Map(ids.map((id) => [id, found.get(id)]));
  });

  public async listRouteStates(notificationId: string): Promise<Map<string, RouteState>> {
    const states = new Map<string, RouteState>();
    for await (const route of this.queryRoutes(notificationId, 'route_id, #status, due_at')) {
      states.set(route.route_id, { status: route.status, ...(route.due_at !== undefined ? { due_at: route.due_at } : {}) });
    }
    return states;
  }

  public async markDue(notificationId: string, routeId: string, dueAt: number): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: routeKey(notificationId, routeId),
        UpdateExpression: `SET ${setDueAt(':due')}`,
        ConditionExpression: 'attribute_not_exists(due_at) AND #status IN (:pending, :failed)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':due': dueAt, ...OPEN_STATUSES },
      }),
    );
  }

  /** Every route of a notification, in route id order. */
  public async listRoutes(notificationId: string): Promise<RouteRecord[]> {
    const routes: RouteRecord[] = [];
    for await (const route of this.queryRoutes(notificationId)) routes.push(route);
    return routes;
  }

  /**
   * Unconditional puts (only ever of routes that do not exist yet), 25 per BatchWriteItem. Calls
   * made together (the parallel intents of one accept batch) share batches; a call resolves when
   * its own routes are written.
   */
  public async putRoutes(routes: readonly RouteRecord[]): Promise<void> {
    await Promise.all(routes.map((route) => this.routeWrites.load(route)));
  }

  private readonly routeWrites = new Coalescer<RouteRecord, true>(async (routes) => {
    // A batch may not name one key twice; the same route asked for twice is written once.
    const keyOf = (route: RouteRecord) => `${route.notification_id}/${route.route_id}`;
    const distinct = [...new Map(routes.map((r) => [keyOf(r), r])).values()];
    const written = new Map<string, true | Error>();
    await mapWithConcurrency(chunk(distinct, DYNAMODB_BATCH_WRITE_SIZE), this.options.writeConcurrency ?? 4, async (batch) => {
      const outcome = await settled(batchWriteAll(
        this.client,
        this.options.tableName,
        batch.map(({ due_at: dueAt, ...route }) => ({ PutRequest: { Item: {
          ...routeKey(route.notification_id, route.route_id),
          ...route,
          // A route with a due time is in both sparse indexes: the sweeper's and the lifecycle service's.
          ...(dueAt !== undefined && !TERMINAL_STATUSES.has(route.status) ? { due_at: dueAt, open_user: route.user_id } : {}),
          expires_at: this.expiresAt(route.updated_at),
        } } })),
      ));
      for (const route of batch) written.set(keyOf(route), outcome);
    });
    return new Map(routes.map((r) => [r, written.get(keyOf(r))!]));
  });

  public async getRoute(notificationId: string, routeId: string): Promise<RouteRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.options.tableName, Key: routeKey(notificationId, routeId), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : (fromItem<RouteRecord>(Item));
  }

  public async leaseRoute(notificationId: string, routeId: string, leaseToken: string, leaseExpiresAt: number, now: number) {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: routeKey(notificationId, routeId),
          UpdateExpression:
            // due_at stays: the sweeper's grace outlasts any attempt, and moving it would rewrite both indexes.
            'SET lease_token = :token, lease_expires_at = :expires, attempts = attempts + :one, updated_at = :now',
          ConditionExpression:
            'attribute_exists(pk) AND #status IN (:pending, :failed) AND next_attempt_at <= :now AND attempts < max_attempts' +
            ' AND (attribute_not_exists(lease_expires_at) OR lease_expires_at <= :now) AND attribute_not_exists(cancel_requested)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':token': leaseToken, ':expires': leaseExpiresAt, ':one': 1, ':now': now, ...OPEN_STATUSES },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { leased: true as const, route: fromItem<RouteRecord>(Attributes!) };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        return error.Item ? { leased: false as const, route: fromItem<RouteRecord>(unmarshall(error.Item)) } : { leased: false as const };
      }
      throw error;
    }
  }

  public async completeRoute(route: RouteRecord, leaseToken: string, outcome: AttemptOutcome, now: number): Promise<boolean> {
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = { ':token': leaseToken, ':to': outcome.status, ':now': now, ...OPEN_STATUSES };
    let update: string;
    if (outcome.status === 'published') {
      update = 'SET #status = :to, published_at = :now, terminal_at = :now, updated_at = :now REMOVE lease_token, lease_expires_at, due_at, open_user';
    } else {
      values[':class'] = outcome.classification;
      values[':message'] = outcome.message;
      if (outcome.status === 'failed') {
        values[':next'] = outcome.nextAttemptAt;
        // A first attempt made at acceptance had no due time: now the route needs the safety nets.
        update =
          `SET #status = :to, next_attempt_at = :next, ${setDueAt(':next')}, last_failure_classification = :class,` +
          ' last_failure_message = :message, last_failure_at = :now, updated_at = :now REMOVE lease_token, lease_expires_at';
      } else {
        update =
          'SET #status = :to, terminal_at = :now, dead_lettered_at = :now, dl_day = :day, last_failure_classification = :class,' +
          ' last_failure_message = :message, last_failure_at = :now, updated_at = :now REMOVE lease_token, lease_expires_at, due_at, open_user';
        values[':day'] = deadLetterDay(now);
      }
    }
    // A failed attempt of a route whose cancellation was requested ends it as cancelled instead.
    const condition = outcome.status === 'failed'
      ? 'lease_token = :token AND #status IN (:pending, :failed) AND attribute_not_exists(cancel_requested)'
      : 'lease_token = :token AND #status IN (:pending, :failed)';
    const recorded = await this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: routeKey(route.notification_id, route.route_id),
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
    if (recorded || outcome.status !== 'failed') return recorded;
    return this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: routeKey(route.notification_id, route.route_id),
        UpdateExpression:
          'SET #status = :cancelled, cancel_reason = cancel_requested, terminal_at = :now, updated_at = :now,' +
          ' last_failure_classification = :class, last_failure_message = :message, last_failure_at = :now' +
          ' REMOVE lease_token, lease_expires_at, due_at, open_user, cancel_requested',
        ConditionExpression: 'lease_token = :token AND #status IN (:pending, :failed) AND attribute_exists(cancel_requested)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: {
          ':cancelled': 'cancelled',
          ':token': leaseToken,
          ':now': now,
          ':class': values[':class'],
          ':message': values[':message'],
          ...OPEN_STATUSES,
        },
      }),
    );
  }

  public async cancelRoute(route: RouteRef, reason: string, now: number): Promise<'cancelled' | 'requested' | 'none'> {
    const key = routeKey(route.notification_id, route.route_id);
    const cancelled = await this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: key,
        UpdateExpression:
          'SET #status = :cancelled, cancel_reason = :reason, terminal_at = :now, updated_at = :now' +
          ' REMOVE lease_token, lease_expires_at, due_at, open_user, cancel_requested',
        ConditionExpression: '#status IN (:pending, :failed) AND (attribute_not_exists(lease_expires_at) OR lease_expires_at <= :now)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':cancelled': 'cancelled', ':reason': reason, ':now': now, ...OPEN_STATUSES },
      }),
    );
    if (cancelled) return 'cancelled';
    const requested = await this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: key,
        UpdateExpression: 'SET cancel_requested = :reason, updated_at = :now',
        ConditionExpression: '#status IN (:pending, :failed) AND lease_expires_at > :now',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':reason': reason, ':now': now, ...OPEN_STATUSES },
      }),
    );
    return requested ? 'requested' : 'none';
  }

  public async listOpenRoutesOfUser(userId: string, limit: number, startKey?: unknown): Promise<{ routes: RouteRef[]; next?: unknown }> {
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.options.tableName,
        IndexName: OPEN_BY_USER_INDEX,
        KeyConditionExpression: 'open_user = :user',
        ExpressionAttributeValues: { ':user': userId },
        Limit: limit,
        ExclusiveStartKey: startKey as Record<string, unknown> | undefined,
      }),
    );
    const routes = (page.Items ?? []).map((item): RouteRef => ({
      notification_id: item['notification_id'] as string,
      route_id: item['route_id'] as string,
      user_id: item['user_id'] as string,
      channel: item['channel'] as RouteRef['channel'],
      ...(item['device_session_id'] !== undefined ? { device_session_id: item['device_session_id'] as string } : {}),
    }));
    return { routes, ...(page.LastEvaluatedKey ? { next: page.LastEvaluatedKey } : {}) };
  }

  public async deadLetterCrashedRoute(route: RouteRecord, now: number): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: routeKey(route.notification_id, route.route_id),
        UpdateExpression:
          'SET #status = :to, terminal_at = :now, dead_lettered_at = :now, dl_day = :day, last_failure_classification = :class,' +
          ' last_failure_message = :message, last_failure_at = :now, updated_at = :now REMOVE lease_token, lease_expires_at, due_at, open_user',
        ConditionExpression:
          '#status IN (:pending, :failed) AND attempts = :attempts AND attempts >= max_attempts' +
          ' AND (attribute_not_exists(lease_expires_at) OR lease_expires_at <= :now)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':to': 'dead_letter',
          ':now': now,
          ':class': 'worker_crashed',
          ':message': `attempt ${route.attempts} of ${route.max_attempts} started but never completed (its lease expired)`,
          ':attempts': route.attempts,
          ':day': deadLetterDay(now),
          ...OPEN_STATUSES,
        },
      }),
    );
  }

  /** Dead-lettered routes of one UTC day, newest first. */
  public async listDeadLetters(day: string, limit: number): Promise<RouteRecord[]> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.options.tableName,
        IndexName: DEAD_LETTERS_INDEX,
        KeyConditionExpression: 'dl_day = :day',
        ExpressionAttributeValues: { ':day': day },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return Items.map((item) => fromItem<RouteRecord>(item));
  }

  /**
   * Gives a dead-lettered route another chance: back to `failed`, due now, with `extraAttempts`
   * more attempts (or a fresh budget when `resetAttempts`). Conditional on it still being dead-lettered.
   */
  public async redriveDeadLetter(route: RouteRecord, options: { resetAttempts: boolean; extraAttempts: number }, now: number): Promise<boolean> {
    const maxAttempts = options.resetAttempts ? route.max_attempts : route.attempts + options.extraAttempts;
    return this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: routeKey(route.notification_id, route.route_id),
        UpdateExpression:
          `SET #status = :failed, attempts = :attempts, max_attempts = :max, next_attempt_at = :now, ${setDueAt(':now')},` +
          ' updated_at = :now, redriven_at = :now REMOVE dl_day, terminal_at, lease_token, lease_expires_at',
        ConditionExpression: '#status = :dead',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':failed': 'failed',
          ':dead': 'dead_letter',
          ':attempts': options.resetAttempts ? 0 : route.attempts,
          ':max': maxAttempts,
          ':now': now,
        },
      }),
    );
  }

  /**
   * Open routes of one shard due before `dueBefore`. The index carries ids only (so route updates
   * do not rewrite it); the hits are read back whole with one consistent BatchGetItem, and one
   * that moved on meanwhile is left out.
   */
  public async listDueRoutes(shard: number, dueBefore: number, limit: number): Promise<RouteRecord[]> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.options.tableName,
        IndexName: DUE_INDEX,
        KeyConditionExpression: 'due_shard = :shard AND due_at <= :before',
        ExpressionAttributeValues: { ':shard': shard, ':before': dueBefore },
        Limit: limit,
      }),
    );
    const keys = Items.map((item) => routeKey(item['notification_id'] as string, item['route_id'] as string));
    const keyOf = (item: Record<string, unknown>) => `${item['pk']}/${item['sk']}`;
    const found = new Map((await batchGetAll(this.client, this.options.tableName, keys, { consistentRead: true })).map((item) => [keyOf(item), item]));
    // In the index's due order, as the query returned them.
    const routes = keys.flatMap((key) => {
      const item = found.get(keyOf(key));
      return item === undefined ? [] : [fromItem<RouteRecord>(item)];
    });
    return routes.filter((r) => !TERMINAL_STATUSES.has(r.status) && r.due_at !== undefined && r.due_at <= dueBefore);
  }

  public async postponeDue(route: RouteRecord, dueAt: number): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: routeKey(route.notification_id, route.route_id),
        UpdateExpression: 'SET due_at = :due',
        ConditionExpression: 'due_at = :old AND #status IN (:pending, :failed)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':due': dueAt, ':old': route.due_at ?? -1, ...OPEN_STATUSES },
      }),
    );
  }

  private async *queryRoutes(notificationId: string, projection?: string): AsyncGenerator<RouteRecord> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :routes)',
          ExpressionAttributeValues: { ':pk': notificationKey(notificationId).pk, ':routes': ROUTE_SK_PREFIX },
          ...(projection ? { ProjectionExpression: projection, ExpressionAttributeNames: { '#status': 'status' } } : {}),
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) yield fromItem<RouteRecord>(item);
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
  }

  private async conditional(command: UpdateCommand | PutCommand | DeleteCommand): Promise<boolean> {
    try {
      await this.client.send(command as UpdateCommand);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  private expiresAt(from: number): number {
    return Math.floor((from + this.options.retentionMs) / 1000);
  }
}

/** Strips storage bookkeeping from an item. */
export function fromItem<T>(item: Record<string, unknown>): T {
  const record = { ...item };
  for (const attribute of STORAGE_ATTRIBUTES) delete record[attribute];
  return record as T;
}

