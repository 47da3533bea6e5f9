import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { UserStateStore } from '../core/lifecycle/lifecyclePorts.ts';
import { userStateKey } from './dynamoKeys.ts';
import { mapWithConcurrency } from './mapWithConcurrency.ts';

const BATCH_GET_SIZE = 100;

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

  public async deletedAmong(userIds: readonly string[], now: number): Promise<Set<string>> {
    const unique = [...new Set(userIds)];
    const batches: string[][] = [];
    for (let i = 0; i < unique.length; i += BATCH_GET_SIZE) batches.push(unique.slice(i, i + BATCH_GET_SIZE));
    const deleted = new Set<string>();
    await mapWithConcurrency(batches, 4, async (batch) => {
      let keys: Record<string, unknown>[] = batch.map(userStateKey);
      for (let round = 0; keys.length > 0; round += 1) {
        if (round > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** round)));
        if (round >= 8) throw new Error(`BatchGetItem left ${keys.length} keys unprocessed`);
        const result = await this.client.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ProjectionExpression: 'user_id, deleted_until' } } }),
        );
        for (const item of result.Responses?.[this.tableName] ?? []) {
          if ((item['deleted_until'] as number | undefined) !== undefined && (item['deleted_until'] as number) > now) deleted.add(item['user_id'] as string);
        }
        keys = (result.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
      }
    });
    return deleted;
  }
}

const appliedAttribute = (eventKey: string) => `applied:${eventKey}`;
