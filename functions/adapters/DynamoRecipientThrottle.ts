import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { RecipientThrottle, ThrottleRequest } from '../core/throttle/recipientThrottle.ts';
import { throttleKey } from './dynamoKeys.ts';
import { mapWithConcurrency } from '../core/mapWithConcurrency.ts';

/** Kept a day past its window's end, then TTL'd (the window no longer decides anything). */
const KEEP_AFTER_WINDOW_MS = 86_400_000;

/**
 * One item per recipient, type and window in the notifications table, holding the count and the
 * (shortened) ids of the notifications admitted. One conditional UpdateItem per admission: the
 * condition makes it exact under concurrency, the id set makes a retried write — or a resumed
 * acceptance — find its own admission instead of counting twice.
 */
export class DynamoRecipientThrottle implements RecipientThrottle {
  public constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** An intent names up to 1,000 recipients: 25 admissions in flight at a time. */
  public admit(requests: readonly ThrottleRequest[]): Promise<boolean[]> {
    return mapWithConcurrency(requests, 25, (request) => this.admitOne(request));
  }

  private async admitOne(request: ThrottleRequest): Promise<boolean> {
    const member = memberOf(request.notificationId);
    const windowEnd = request.windowStart + request.policy.windowSeconds * 1000;
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: throttleKey(request.userId, request.notificationType, request.windowStart),
          UpdateExpression: 'SET user_id = :user, expires_at = :ttl ADD admitted :one, ids :ids',
          ConditionExpression: 'attribute_not_exists(admitted) OR (admitted < :limit AND NOT contains(ids, :id))',
          ExpressionAttributeValues: {
            ':user': request.userId,
            ':ttl': Math.ceil((windowEnd + KEEP_AFTER_WINDOW_MS) / 1000),
            ':one': 1,
            ':ids': new Set([member]),
            ':id': member,
            ':limit': request.policy.limit,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // Already in: this notification's earlier admission (or this very write, applied before its answer was lost).
      const ids = error.Item === undefined ? undefined : (unmarshall(error.Item)['ids'] as Set<string> | undefined);
      return ids?.has(member) ?? false;
    }
  }
}

/** 64 bits of the notification id (itself 128 bits of a hash) keep the item small: 100 ids ≈ 2 KB. */
const memberOf = (notificationId: string) => notificationId.replace(/^n_/, '').slice(0, 16);
