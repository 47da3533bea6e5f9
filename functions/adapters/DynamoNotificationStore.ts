import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  paginateQuery,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { payloadOf, payloadText } from './storedPayload.ts';
import { queryUpTo } from './queryUpTo.ts';
import { DYNAMODB_BATCH_WRITE_SIZE } from '../core/constants.ts';
import type { BeginAcceptanceResult, NotificationStore, RouteRef, RouteState } from '../core/ports.ts';
import type { AttemptOutcome } from '../core/route/routeTransitions.ts';
import type { EmailFeedbackRecord } from '../core/email/emailFeedback.ts';
import type { EmailFeedbackStore } from '../core/email/RecordEmailFeedback.ts';
import { effectiveNotification, effectiveRoute, eventIdOf, needsEvidence, successMayGoUnwritten, type RouteEvidence } from '../core/route/effectiveStatus.ts';
import { TERMINAL_STATUSES, type NotificationRecord, type RouteAddress, type RouteRecord } from '../core/types.ts';
import { eventSk, streamPk } from './DynamoEventBuffer.ts';
import { batchWriteAll } from './batchWriteAll.ts';
import { itemBytes } from './itemSize.ts';
import { mapWithConcurrency } from '../core/mapWithConcurrency.ts';
import { chunk } from './chunk.ts';
import { batchGetAll } from './batchGetAll.ts';
import { Coalescer, settled } from './Coalescer.ts';
import {
  DEAD_LETTERS_INDEX,
  deadLetterDay,
  DUE_INDEX,
  NOTIFICATION_ATTRIBUTES,
  NOTIFICATION_SK,
  notificationKey,
  OPEN_BY_USER_INDEX,
  routeItemKey,
  routeKey,
  STORAGE_ATTRIBUTES,
} from './dynamoKeys.ts';

export interface DynamoNotificationStoreOptions {
  readonly tableName: string;
  /** Notifications and routes expire (TTL) this long after acceptance; also the idempotency window. */
  readonly retentionMs: number;
  /** Parallel BatchWriteItem calls when writing a large fan-out. */
  readonly writeConcurrency?: number;
  /**
   * The push event buffer: where a route whose success may be unwritten finds its event (see
   * core/route/effectiveStatus.ts). Without it, reading such a route is an error.
   */
  readonly streamsTable?: string;
}

const OPEN_STATUSES = { ':pending': 'pending', ':failed': 'failed' } as const;

/** DynamoDB bills a write per started KB of the item (the larger of before and after, for an update). */
const WRITE_UNIT_BYTES = 1024;
/**
 * What a route's life adds to its item on the way to `published`, with a margin: a lease (token,
 * expiry; ≈ 70 B), a stream position (≈ 40 B), the completion's times (≈ 70 B).
 */
const ROUTE_GROWTH_BYTES = 200;
/** An acceptance lease token is a UUID. */
const ACCEPTANCE_LEASE_TOKEN_SIZED = '00000000-0000-0000-0000-000000000000';

/** SET clauses giving a route a due time; `open_user` goes with it, so both sparse route indexes hold the route. */
const setDueAt = (value: string) => `due_at = ${value}, open_user = user_id`;

/**
 * Notifications and routes in one DynamoDB table; every route change is a conditional write. A
 * notification's routes each have an item of their own, except a notification's only route,
 * which may be stored in the notification's item (`stored_with_notification`): one write creates
 * both, and the route's terminal outcome completes the acceptance in the same write.
 */
export class DynamoNotificationStore implements NotificationStore, EmailFeedbackStore {
  public constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: DynamoNotificationStoreOptions,
  ) {}

  public async beginAcceptance(record: NotificationRecord, leaseToken: string, leaseExpiresAt: number, onlyRoute?: RouteRecord): Promise<BeginAcceptanceResult> {
    if (onlyRoute !== undefined && (!onlyRoute.stored_with_notification || onlyRoute.notification_id !== record.notification_id || record.route_count !== 1)) {
      throw new Error(`route ${onlyRoute.route_id} cannot be stored with notification ${record.notification_id}`);
    }
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: this.notificationItem(record, leaseToken, leaseExpiresAt, onlyRoute),
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { kind: 'created' };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException && error.Item) {
        const item = unmarshall(error.Item);
        // Our own write, applied before an answer was lost (the SDK retried it): created, by us.
        if (item['accept_lease_token'] === leaseToken) return { kind: 'created' };
        const [record] = await this.effectiveNotifications([item]);
        const stored = item['route_id'] === undefined ? undefined : routeFromItem(item);
        const byEvent = stored !== undefined && record!.state === 'accepted' && stored.status === 'pending' ? stored : undefined;
        return { kind: 'exists', record: record!, ...(byEvent ? { publishedByEvent: byEvent } : {}) };
      }
      throw error;
    }
  }

  /**
   * Yes when the notification and its only route (as first created) fit in 1 KB together, with
   * room for what the route's lease, stream position and completion add: each write of the route
   * then costs the 1 WRU it costs in an item of its own. A larger notification keeps its route
   * apart, or every route write would pay for the payload too. With `payloadInEvent` (the route is
   * pushed at acceptance) the item is written without the payload, so the payload's size does not count.
   */
  public storesRouteWithNotification(record: NotificationRecord, route: RouteRecord, payloadInEvent = false): boolean {
    const item = this.notificationItem(payloadInEvent ? { ...record, payload: {} } : record, ACCEPTANCE_LEASE_TOKEN_SIZED, record.accepted_at, { ...route, stored_with_notification: true });
    return itemBytes(item) + ROUTE_GROWTH_BYTES <= WRITE_UNIT_BYTES;
  }

  /**
   * The notification's item. When its only route is pushed at acceptance (its success may go
   * unwritten), the payload is left out: the route's event holds it, and the attempt writes it here
   * only if it does not publish (see completeRoute) — so the success path writes the payload once.
   */
  private notificationItem(record: NotificationRecord, leaseToken: string, leaseExpiresAt: number, onlyRoute?: RouteRecord): Record<string, unknown> {
    const { payload, ...rest } = record;
    const payloadInEvent = onlyRoute !== undefined && successMayGoUnwritten(onlyRoute);
    return {
      ...notificationKey(record.notification_id),
      ...(onlyRoute ? routeAttributes(onlyRoute) : {}),
      ...rest,
      ...(payloadInEvent ? { payload_in_event: true } : { payload: payloadText(payload) }),
      accept_lease_token: leaseToken,
      accept_lease_expires_at: leaseExpiresAt,
      expires_at: this.expiresAt(record.accepted_at),
    };
  }

  public async takeOverAcceptance(notificationId: string, leaseToken: string, leaseExpiresAt: number, now: number, payload: Record<string, unknown>): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: notificationKey(notificationId),
        // The payload, if the item was written without it (its route's event was to hold it): the
        // routes the resumed acceptance enqueues are delivered from here.
        UpdateExpression: 'SET accept_lease_token = :token, accept_lease_expires_at = :expires, payload = if_not_exists(payload, :payload)',
        // Or ours already: a retry of this very write whose first answer was lost.
        ConditionExpression: '#state = :accepting AND (accept_lease_expires_at <= :now OR accept_lease_token = :token)',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':token': leaseToken, ':expires': leaseExpiresAt, ':now': now, ':accepting': 'accepting', ':payload': payloadText(payload) },
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

  public async releaseAcceptance(notificationId: string, leaseToken: string): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: notificationKey(notificationId),
        UpdateExpression: 'SET accept_lease_expires_at = :expired',
        ConditionExpression: '#state = :accepting AND accept_lease_token = :token',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':expired': 0, ':token': leaseToken, ':accepting': 'accepting' },
      }),
    );
  }

  public async completeAcceptance(notificationId: string, leaseToken: string, now: number): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: notificationKey(notificationId),
        UpdateExpression: 'SET #state = :accepted, accepted_complete_at = :now REMOVE accept_lease_token, accept_lease_expires_at',
        // Or completed by this very write already (its answer lost, the SDK retrying): the token is
        // gone then, and the completion time it set is this call's.
        ConditionExpression: 'accept_lease_token = :token OR (#state = :accepted AND accepted_complete_at = :now)',
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
    const records = await this.effectiveNotifications(items);
    const found = new Map(records.map((record) => [record.notification_id, record]));
    return new Map(ids.map((id) => [id, found.get(id)]));
  });

  /**
   * Notifications from their items, each as it stands (see effectiveNotification); one whose item
   * has no payload gets its event's (read anyway to tell its route's status).
   */
  private async effectiveNotifications(items: readonly Record<string, unknown>[]): Promise<NotificationRecord[]> {
    const stored = items.map((item) => ({ record: notificationFromItem(item), route: item['route_id'] === undefined ? undefined : routeFromItem(item) }));
    const routes = stored.flatMap(({ route }) => (route ? [route] : []));
    const evidence = await this.evidenceFor(routes);
    return stored.map(({ record, route }) => {
      const event = route && evidence.get(eventIdOf(route));
      const current = effectiveNotification(record, route, route && effectiveRoute(route, event));
      return current.payload === undefined && event?.payload !== undefined ? { ...current, payload: event.payload } : current;
    });
  }

  /** Routes as they stand: a route whose success may be unwritten is looked up in the event buffer (one consistent BatchGetItem for all). */
  private async effectiveRoutes(routes: readonly RouteRecord[]): Promise<RouteRecord[]> {
    const evidence = await this.evidenceFor(routes);
    return routes.map((route) => effectiveRoute(route, evidence.get(eventIdOf(route))));
  }

  /** The events of routes that need them, by event id, with their payloads (a projection would not make the read cheaper: it is billed by item size). */
  private async evidenceFor(routes: readonly RouteRecord[]): Promise<Map<string, RouteEvidence & { readonly payload?: Record<string, unknown> }>> {
    const waiting = routes.filter(needsEvidence);
    if (waiting.length === 0) return new Map();
    const table = this.options.streamsTable;
    if (table === undefined) {
      throw new Error(`route ${eventIdOf(waiting[0]!)} is published if its event is stored, and this store was given no streams table to look in`);
    }
    const keys = new Map(waiting.map((r) => [`${r.user_id}/${r.stream_position}`, { pk: streamPk(r.user_id), sk: eventSk(r.stream_position!) }]));
    const items = await batchGetAll(this.client, table, [...keys.values()], {
      consistentRead: true,
      projection: 'event_id, epoch, #position, published_at, payload',
      names: { '#position': 'position' },
    });
    return new Map(items.map((item) => [item['event_id'] as string, {
      event_id: item['event_id'] as string,
      epoch: item['epoch'] as string,
      position: item['position'] as number,
      published_at: item['published_at'] as number,
      ...(item['payload'] !== undefined ? { payload: payloadOf(item['payload']) } : {}),
    }]));
  }

  /**
   * Writes the published status a route's event proves (the route's success went unwritten), before
   * the event goes (a purge of the user's stream): conditional on the route still waiting on that
   * very event. False when it does not (written meanwhile, or another route's event).
   */
  public async recordPublishedByEvent(evidence: RouteEvidence & { readonly user_id: string }, now: number): Promise<boolean> {
    const slash = evidence.event_id.indexOf('/');
    const notificationId = evidence.event_id.slice(0, slash);
    const routeId = evidence.event_id.slice(slash + 1);
    return this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: notificationKey(notificationId),
        UpdateExpression:
          'SET #status = :published, published_at = :at, terminal_at = :at, updated_at = :now, #state = :accepted, accepted_complete_at = if_not_exists(accepted_complete_at, :now)' +
          ' REMOVE lease_token, lease_expires_at, accept_lease_token, accept_lease_expires_at',
        ConditionExpression:
          'route_id = :route AND #status = :pending AND attribute_exists(lease_token) AND attribute_not_exists(due_at) AND stream_epoch = :epoch AND stream_position = :position',
        ExpressionAttributeNames: { '#status': 'status', '#state': 'state' },
        ExpressionAttributeValues: {
          ':published': 'published', ':accepted': 'accepted', ':pending': 'pending', ':at': evidence.published_at, ':now': now,
          ':route': routeId, ':epoch': evidence.epoch, ':position': evidence.position,
        },
      }),
    );
  }

  public async listRouteStates(notificationId: string): Promise<Map<string, RouteState>> {
    const states = new Map<string, RouteState>();
    for (const route of await this.listRoutes(notificationId)) {
      states.set(route.route_id, {
        status: route.status,
        ...(route.due_at !== undefined ? { due_at: route.due_at } : {}),
        ...(route.stored_with_notification ? { stored_with_notification: true } : {}),
      });
    }
    return states;
  }

  public async markDue(route: RouteAddress, dueAt: number): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: routeItemKey(route),
        UpdateExpression: `SET ${setDueAt(':due')}`,
        ConditionExpression: 'attribute_not_exists(due_at) AND #status IN (:pending, :failed)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':due': dueAt, ...OPEN_STATUSES },
      }),
    );
  }

  /** Every route of a notification, in route id order, as it stands. */
  public async listRoutes(notificationId: string): Promise<RouteRecord[]> {
    const routes: RouteRecord[] = [];
    for await (const route of this.queryRoutes(notificationId)) routes.push(route);
    return this.effectiveRoutes(routes);
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
        batch.map((route) => ({ PutRequest: { Item: {
          ...routeKey(route.notification_id, route.route_id),
          ...routeAttributes(route),
          expires_at: this.expiresAt(route.updated_at),
        } } })),
      ));
      for (const route of batch) written.set(keyOf(route), outcome);
    });
    return new Map(routes.map((r) => [r, written.get(keyOf(r))!]));
  });

  /** Looks in both places a route can be, with one consistent BatchGetItem. */
  public async getRoute(notificationId: string, routeId: string): Promise<RouteRecord | undefined> {
    const items = await batchGetAll(this.client, this.options.tableName, [routeKey(notificationId, routeId), notificationKey(notificationId)], { consistentRead: true });
    const item = items.find((i) => i['route_id'] === routeId);
    return item === undefined ? undefined : (await this.effectiveRoutes([routeFromItem(item)]))[0];
  }

  public async leaseRoute(route: RouteAddress, leaseToken: string, leaseExpiresAt: number, now: number): ReturnType<NotificationStore['leaseRoute']> {
    const result = await this.leaseRouteAt(routeItemKey(route), route.route_id, leaseToken, leaseExpiresAt, now);
    // An address that does not say where the route is (a message sent before routes could be
    // stored with their notification, or by hand): a route not in an item of its own may be there.
    if (result.leased || result.route !== undefined || route.stored_with_notification) return result;
    return this.leaseRouteAt(notificationKey(route.notification_id), route.route_id, leaseToken, leaseExpiresAt, now);
  }

  private async leaseRouteAt(key: Record<string, string>, routeId: string, leaseToken: string, leaseExpiresAt: number, now: number): ReturnType<NotificationStore['leaseRoute']> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: key,
          UpdateExpression:
            // due_at stays: the sweeper's grace outlasts any attempt, and moving it would rewrite both indexes.
            'SET lease_token = :token, lease_expires_at = :expires, attempts = attempts + :one, updated_at = :now',
          ConditionExpression:
            'route_id = :route AND #status IN (:pending, :failed) AND next_attempt_at <= :now AND attempts < max_attempts' +
            ' AND (attribute_not_exists(lease_expires_at) OR lease_expires_at <= :now) AND attribute_not_exists(cancel_requested)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':route': routeId, ':token': leaseToken, ':expires': leaseExpiresAt, ':one': 1, ':now': now, ...OPEN_STATUSES },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { leased: true as const, route: routeFromItem(Attributes!) };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        // A notification's item without this route in it is no route.
        const item = error.Item ? unmarshall(error.Item) : undefined;
        if (item?.['route_id'] !== routeId) return { leased: false as const };
        // Leased by this very write, whose answer was lost before the SDK retried it.
        if (item['lease_token'] === leaseToken) return { leased: true as const, route: routeFromItem(item) };
        return { leased: false as const, route: routeFromItem(item) };
      }
      throw error;
    }
  }

  public async completeRoute(route: RouteRecord, leaseToken: string, outcome: AttemptOutcome, now: number, payload?: Record<string, unknown>): Promise<boolean> {
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = { ':token': leaseToken, ':to': outcome.status, ':now': now, ...OPEN_STATUSES };
    let update: string;
    // A notification item written without its payload keeps it from now on: the route is retried
    // (or redriven) from the route queue, and deliver reads the payload here.
    const keepPayload = payload !== undefined && outcome.status !== 'published' ? ' payload = if_not_exists(payload, :payload),' : '';
    if (keepPayload) values[':payload'] = payloadText(payload!);
    // The only route of a notification, ending: nothing is left for the acceptance to do.
    const acceptanceComplete = route.stored_with_notification && outcome.status !== 'failed';
    if (acceptanceComplete) {
      names['#state'] = 'state';
      values[':accepted'] = 'accepted';
    }
    const completeAcceptance = acceptanceComplete ? ' #state = :accepted, accepted_complete_at = if_not_exists(accepted_complete_at, :now),' : '';
    if (outcome.status === 'published') {
      // An email's SES message id: what its feedback events name.
      const messageId = outcome.messageId === undefined ? '' : ' email_message_id = :message_id,';
      if (messageId) values[':message_id'] = outcome.messageId;
      update = `SET${completeAcceptance}${messageId} #status = :to, published_at = :now, terminal_at = :now, updated_at = :now REMOVE lease_token, lease_expires_at, due_at, open_user`;
    } else {
      values[':class'] = outcome.classification;
      values[':message'] = outcome.message;
      if (outcome.status === 'failed') {
        values[':next'] = outcome.nextAttemptAt;
        // A first attempt made at acceptance had no due time: now the route needs the safety nets.
        update =
          `SET${keepPayload} #status = :to, next_attempt_at = :next, ${setDueAt(':next')}, last_failure_classification = :class,` +
          ' last_failure_message = :message, last_failure_at = :now, updated_at = :now REMOVE lease_token, lease_expires_at';
      } else {
        update =
          `SET${completeAcceptance}${keepPayload} #status = :to, terminal_at = :now, dead_lettered_at = :now, dl_day = :day, last_failure_classification = :class,` +
          ' last_failure_message = :message, last_failure_at = :now, updated_at = :now REMOVE lease_token, lease_expires_at, due_at, open_user';
        values[':day'] = deadLetterDay(now);
      }
    }
    // A failed attempt of a route whose cancellation was requested ends it as cancelled instead.
    // Either may find its own write already applied (an answer lost, the SDK retrying): the
    // status it set, at its time, and no lease left.
    const appliedAlready = ' OR (#status = :to AND updated_at = :now AND attribute_not_exists(lease_token))';
    const condition = outcome.status === 'failed'
      ? `(lease_token = :token AND #status IN (:pending, :failed) AND attribute_not_exists(cancel_requested))${appliedAlready}`
      : `(lease_token = :token AND #status IN (:pending, :failed))${appliedAlready}`;
    const recorded = await this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: routeItemKey(route),
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
        Key: routeItemKey(route),
        UpdateExpression:
          'SET #status = :cancelled, cancel_reason = cancel_requested, terminal_at = :now, updated_at = :now,' +
          ' last_failure_classification = :class, last_failure_message = :message, last_failure_at = :now' +
          ' REMOVE lease_token, lease_expires_at, due_at, open_user, cancel_requested',
        ConditionExpression:
          '(lease_token = :token AND #status IN (:pending, :failed) AND attribute_exists(cancel_requested))' +
          ' OR (#status = :cancelled AND updated_at = :now AND attribute_not_exists(lease_token))',
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
    const key = routeItemKey(route);
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
      ...(inNotificationItem(item) ? { stored_with_notification: true as const } : {}),
    }));
    return { routes, ...(page.LastEvaluatedKey ? { next: page.LastEvaluatedKey } : {}) };
  }

  public async deadLetterCrashedRoute(route: RouteRecord, now: number): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: routeItemKey(route),
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
    const items = await queryUpTo(
      this.client,
      { TableName: this.options.tableName, IndexName: DEAD_LETTERS_INDEX, KeyConditionExpression: 'dl_day = :day', ExpressionAttributeValues: { ':day': day }, ScanIndexForward: false },
      limit,
    );
    return items.map(routeFromItem);
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
        Key: routeItemKey(route),
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
    // The index has the table's keys: where each route is stored.
    const keys = Items.map((item) => ({ pk: item['pk'] as string, sk: item['sk'] as string }));
    const keyOf = (item: Record<string, unknown>) => `${item['pk']}/${item['sk']}`;
    const found = new Map((await batchGetAll(this.client, this.options.tableName, keys, { consistentRead: true })).map((item) => [keyOf(item), item]));
    // In the index's due order, as the query returned them.
    const routes = keys.flatMap((key) => {
      const item = found.get(keyOf(key));
      return item === undefined ? [] : [routeFromItem(item)];
    });
    return routes.filter((r) => !TERMINAL_STATUSES.has(r.status) && r.due_at !== undefined && r.due_at <= dueBefore);
  }

  public async postponeDue(route: RouteRecord, dueAt: number): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: routeItemKey(route),
        UpdateExpression: 'SET due_at = :due',
        ConditionExpression: 'due_at = :old AND #status IN (:pending, :failed)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':due': dueAt, ':old': route.due_at ?? -1, ...OPEN_STATUSES },
      }),
    );
  }

  /** The notification's routes: its item (when the only route is stored there) and the routes' own items. */
  private async *queryRoutes(notificationId: string): AsyncGenerator<RouteRecord> {
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.options.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': notificationKey(notificationId).pk },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) if (item['route_id'] !== undefined) yield routeFromItem(item);
    }
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

  public async recordEmailFeedback(route: RouteAddress, feedback: EmailFeedbackRecord): Promise<'recorded' | 'kept_earlier' | 'route_missing'> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: routeItemKey(route),
          UpdateExpression: 'SET email_feedback = :feedback',
          // Only on the route that exists (an item of a purged or expired route is not made anew),
          // and only over an outcome of lower rank: events in any order, or twice, end the same.
          ConditionExpression: 'route_id = :route AND (attribute_not_exists(email_feedback) OR email_feedback.#rank < :rank)',
          ExpressionAttributeNames: { '#rank': 'rank' },
          ExpressionAttributeValues: { ':feedback': feedback, ':route': route.route_id, ':rank': feedback.rank },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'recorded';
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return error.Item?.['route_id']?.S === route.route_id ? 'kept_earlier' : 'route_missing';
    }
  }

  private expiresAt(from: number): number {
    return Math.floor((from + this.options.retentionMs) / 1000);
  }
}

/** A route's attributes as stored: the due time only while open, with `open_user` (both sparse route indexes hold it). */
function routeAttributes({ due_at: dueAt, stored_with_notification: _itsKeySaysSo, ...route }: RouteRecord): Record<string, unknown> {
  return { ...route, ...(dueAt !== undefined && !TERMINAL_STATUSES.has(route.status) ? { due_at: dueAt, open_user: route.user_id } : {}) };
}

/** Whether a route's item (from the table or an index, which carries the table's keys) is its notification's. */
const inNotificationItem = (item: Record<string, unknown>) => item['sk'] === NOTIFICATION_SK;

/** The route in an item: its own, or the notification's (which then has the notification's attributes too). */
function routeFromItem(item: Record<string, unknown>): RouteRecord {
  if (!inNotificationItem(item)) return fromItem<RouteRecord>(item);
  const route = fromItem<Record<string, unknown>>(item);
  for (const attribute of NOTIFICATION_ATTRIBUTES) delete route[attribute];
  return { ...(route as unknown as RouteRecord), stored_with_notification: true };
}

/** The notification in its item, without the attributes of a route stored with it. */
function notificationFromItem(item: Record<string, unknown>): NotificationRecord {
  const stored = fromItem<Record<string, unknown>>(item);
  const withPayload = (record: Record<string, unknown>) =>
    (record['payload'] === undefined ? record : { ...record, payload: payloadOf(record['payload']) }) as unknown as NotificationRecord;
  if (stored['route_id'] === undefined) return withPayload(stored);
  const record: Record<string, unknown> = { notification_id: stored['notification_id'] };
  for (const attribute of NOTIFICATION_ATTRIBUTES) if (stored[attribute] !== undefined) record[attribute] = stored[attribute];
  return withPayload(record);
}


/** Strips storage bookkeeping from an item. */
export function fromItem<T>(item: Record<string, unknown>): T {
  const record = { ...item };
  for (const attribute of STORAGE_ATTRIBUTES) delete record[attribute];
  return record as T;
}
