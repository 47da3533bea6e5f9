import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RecipientState, UserStateStore } from '../core/lifecycle/lifecyclePorts.ts';
import type { UserPreferences } from '../core/preferences/preferences.ts';
import { suppressionKey, userStateKey } from './dynamoKeys.ts';
import { batchGetAll } from './batchGetAll.ts';
import { Coalescer } from './Coalescer.ts';

/**
 * One item per user (`U#<user>` / `LIFECYCLE`) in the notifications table: what the lifecycle
 * service applied and remembers (a deletion), and the user's notification preferences (JSON text) —
 * together, so that acceptance reads both, and the suppression entries of the recipients'
 * addresses (DynamoSuppressionList), in the one BatchGetItem it makes per batch of recipients.
 */
export class DynamoUserStates implements UserStateStore {
  public constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  public async markDeleted(userId: string, occurredAtMs: number, until: number): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: userStateKey(userId),
        // A deleted user's preferences go with them.
        UpdateExpression: 'SET user_id = :user, deleted_at = :at, deleted_until = :until, expires_at = :ttl REMOVE preferences, preferences_updated_at',
        ExpressionAttributeValues: { ':user': userId, ':at': occurredAtMs, ':until': until, ':ttl': Math.ceil(until / 1000) },
      }),
    );
  }

  public async appliedAt(userId: string, eventKey: string): Promise<number | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: userStateKey(userId), ConsistentRead: true, ProjectionExpression: '#k', ExpressionAttributeNames: { '#k': appliedAttribute(eventKey) } }),
    );
    return Item?.[appliedAttribute(eventKey)] as number | undefined;
  }

  public async markApplied(userId: string, eventKey: string, occurredAtMs: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: userStateKey(userId),
          UpdateExpression: 'SET user_id = :user, #k = :at',
          ConditionExpression: 'attribute_not_exists(#k) OR #k < :at',
          ExpressionAttributeNames: { '#k': appliedAttribute(eventKey) },
          ExpressionAttributeValues: { ':user': userId, ':at': occurredAtMs },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /**
   * Users among `userIds` whose deletion still holds at `now`. Calls made together (the parallel
   * intents of one batch) share one BatchGetItem.
   */
  public async deletedAmong(userIds: readonly string[], now: number): Promise<Set<string>> {
    const states = await this.recipientStates(userIds, now);
    return new Set([...states].filter(([, state]) => state.deleted).map(([userId]) => userId));
  }

  public async recipientStates(userIds: readonly string[], now: number): Promise<Map<string, RecipientState>> {
    const unique = [...new Set(userIds)];
    const stored = await Promise.all(unique.map((userId) => this.stored.load(userStateKey(userId).pk)));
    return new Map(unique.map((userId, i) => {
      const item = stored[i];
      const deletedUntil = item?.['deleted_until'] as number | undefined;
      const preferences = preferencesOf(item?.['preferences']);
      return [userId, { deleted: deletedUntil !== undefined && deletedUntil > now, ...(preferences ? { preferences } : {}) }];
    }));
  }

  /**
   * The addresses among `emails` (normalized) on the suppression list. Asked in the same turn as
   * recipientStates, it shares that BatchGetItem: acceptance reads a recipient's state and address in one request.
   */
  public async suppressedAmong(emails: readonly string[]): Promise<Set<string>> {
    const unique = [...new Set(emails)];
    const stored = await Promise.all(unique.map((email) => this.stored.load(suppressionKey(email).pk)));
    return new Set(unique.filter((_, i) => stored[i] !== undefined));
  }

  /**
   * Eventually consistent: a deletion, a preference change or a suppression takes effect within
   * about a second. Keyed by partition key: `U#<user>` (state) or `E#<address>` (suppression).
   */
  private readonly stored = new Coalescer<string, Record<string, unknown> | undefined>(async (pks) => {
    const keys = pks.map((pk) => ({ pk, sk: pk.startsWith('E#') ? SUPPRESSION_SK : USER_STATE_SK }));
    const items = await batchGetAll(this.client, this.tableName, keys, { projection: 'pk, deleted_until, preferences' });
    const found = new Map(items.map((item) => [item['pk'] as string, item]));
    return new Map(pks.map((pk) => [pk, found.get(pk)]));
  });

  /** The user's preferences as stored (strongly consistent), and when they were last set. */
  public async getPreferences(userId: string): Promise<{ preferences: UserPreferences; updatedAt?: number; deleted: boolean }> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: userStateKey(userId), ConsistentRead: true, ProjectionExpression: 'preferences, preferences_updated_at, deleted_until' }),
    );
    const deletedUntil = Item?.['deleted_until'] as number | undefined;
    return {
      preferences: preferencesOf(Item?.['preferences']) ?? {},
      ...(Item?.['preferences_updated_at'] !== undefined ? { updatedAt: Item['preferences_updated_at'] as number } : {}),
      deleted: deletedUntil !== undefined && deletedUntil > Date.now(),
    };
  }

  /**
   * Replaces the user's preferences (already validated), unless the user is deleted ('deleted').
   * Conditional on the version read when `expectedUpdatedAt` is given (0: never set), so two
   * read-modify-write changes cannot lose one another.
   */
  public async putPreferences(userId: string, preferences: UserPreferences, now: number, expectedUpdatedAt?: number): Promise<'stored' | 'deleted' | 'changed'> {
    const versioned = expectedUpdatedAt === undefined ? '' : expectedUpdatedAt === 0 ? ' AND attribute_not_exists(preferences_updated_at)' : ' AND preferences_updated_at = :expected';
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: userStateKey(userId),
          UpdateExpression: 'SET user_id = :user, preferences = :preferences, preferences_updated_at = :now',
          ConditionExpression: `(attribute_not_exists(deleted_until) OR deleted_until <= :now)${versioned}`,
          ExpressionAttributeValues: {
            ':user': userId,
            ':preferences': JSON.stringify(preferences),
            ':now': now,
            ...(expectedUpdatedAt !== undefined && expectedUpdatedAt !== 0 ? { ':expected': expectedUpdatedAt } : {}),
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'stored';
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const deletedUntil = error.Item?.['deleted_until']?.N;
      return deletedUntil !== undefined && Number(deletedUntil) > now ? 'deleted' : 'changed';
    }
  }
}

/** Preferences are stored as JSON text (like payloads: no DynamoDB map rules to meet, no marshalling). */
function preferencesOf(stored: unknown): UserPreferences | undefined {
  return typeof stored === 'string' ? (JSON.parse(stored) as UserPreferences) : undefined;
}

const USER_STATE_SK = userStateKey('').sk;
const SUPPRESSION_SK = suppressionKey('').sk;

const appliedAttribute = (eventKey: string) => `applied:${eventKey}`;
