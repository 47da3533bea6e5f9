import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RejectionRecord, RejectionStore } from '../core/ports.ts';
import { rejectionPk, rejectionSk } from './dynamoKeys.ts';
import { fromItem } from './DynamoNotificationStore.ts';

/** Rejected intents, one item per intake message, grouped by UTC day of sending. */
export class DynamoRejectionStore implements RejectionStore {
  public constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: { readonly tableName: string; readonly retentionMs: number },
  ) {}

  public async record(rejection: RejectionRecord): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: {
            pk: rejectionPk(rejection.source_sent_at),
            sk: rejectionSk(rejection.source_sent_at, rejection.source_id),
            ...rejection,
            expires_at: Math.floor((rejection.rejected_at + this.options.retentionMs) / 1000),
          },
          // A redelivered bad message records once.
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** Rejections of one UTC day (the day of `at`), newest first. */
  public async listDay(at: number, limit = 100): Promise<RejectionRecord[]> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.options.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': rejectionPk(at) },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return Items.map((item) => fromItem<RejectionRecord>(item));
  }
}
