import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { UserStateStore } from '../core/lifecycle/lifecyclePorts.ts';
import { userStateKey } from './dynamoKeys.ts';
import { batchGetAll } from './batchGetAll.ts';
import { Coalescer } from './Coalescer.ts';

/** One item per user (`U#<user>` / `LIFECYCLE`) in the notifications table. */
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
        UpdateExpression: 'SET user_id = :user, deleted_at = :at, deleted_until = :until, expires_at = :ttl',
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
    const unique = [...new Set(userIds)];
    const deletedUntil = await Promise.all(unique.map((userId) => this.deletedUntil.load(userId)));
    return new Set(unique.filter((_, i) => deletedUntil[i] !== undefined && deletedUntil[i]! > now));
  }

  private readonly deletedUntil = new Coalescer<string, number | undefined>(async (userIds) => {
    const items = await batchGetAll(this.client, this.tableName, userIds.map(userStateKey), { projection: 'user_id, deleted_until' });
    const found = new Map(items.map((item) => [item['user_id'] as string, item['deleted_until'] as number | undefined]));
    return new Map(userIds.map((userId) => [userId, found.get(userId)]));
  });
}

const appliedAttribute = (eventKey: string) => `applied:${eventKey}`;
