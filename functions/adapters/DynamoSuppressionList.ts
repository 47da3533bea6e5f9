import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SuppressionEntry } from '../core/email/emailFeedback.ts';
import type { SuppressionList } from '../core/email/RecordEmailFeedback.ts';
import { suppressionKey } from './dynamoKeys.ts';
import { fromItem } from './DynamoNotificationStore.ts';

/**
 * Herald's suppression list: one item per address (`E#<address>` / `SUPPRESSION`) in the
 * notifications table, kept until removed (as SES keeps its account-level list). Acceptance reads
 * it through DynamoUserStates.suppressedAmong, in the BatchGetItem it already makes.
 */
export class DynamoSuppressionList implements SuppressionList {
  public constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  public async suppress(entry: SuppressionEntry): Promise<'added' | 'already_suppressed'> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...suppressionKey(entry.email), ...entry },
          // The first reason stays: a complaint after a bounce does not rewrite why it was listed.
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return 'added';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'already_suppressed';
      throw error;
    }
  }

  public async get(email: string): Promise<SuppressionEntry | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: suppressionKey(email), ConsistentRead: true }));
    return Item === undefined ? undefined : fromItem<SuppressionEntry>(Item);
  }

  public async remove(email: string): Promise<boolean> {
    const { Attributes } = await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: suppressionKey(email), ReturnValues: 'ALL_OLD' }));
    return Attributes !== undefined;
  }
}
