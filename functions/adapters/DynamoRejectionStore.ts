import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { randomUUID } from 'node:crypto';
import { paginateQuery, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RejectionRecord, RejectionStore } from '../core/ports.ts';
import { rejectionPk, rejectionSk, rejectionSkFrom } from './dynamoKeys.ts';
import { queryUpTo } from './queryUpTo.ts';
import { fromItem } from './DynamoNotificationStore.ts';

/** Which rejection to look for: the one of an intake message, or one of a notification id. */
export type RejectionMatch = { readonly source_id: string } | { readonly notification_id: string };

/** Rejected intents, one item per intake message, grouped by UTC day of sending. */
export class DynamoRejectionStore implements RejectionStore {
  public constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: { readonly tableName: string; readonly retentionMs: number },
  ) {}

  public async record(rejection: RejectionRecord): Promise<'recorded' | 'already'> {
    // Names this call's write: two deliveries of one message can reject it in the same millisecond.
    const writeToken = randomUUID();
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: {
            pk: rejectionPk(rejection.source_sent_at),
            sk: rejectionSk(rejection.source_sent_at, rejection.source_id),
            ...rejection,
            write_token: writeToken,
            expires_at: Math.floor((rejection.rejected_at + this.options.retentionMs) / 1000),
          },
          // A redelivered bad message records once.
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'recorded';
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // This very write, applied before its answer was lost (the SDK retried it): recorded by us.
      return error.Item !== undefined && unmarshall(error.Item)['write_token'] === writeToken ? 'recorded' : 'already';
    }
  }

  /** Rejections of one UTC day (the day of `at`), newest first. */
  public async listDay(at: number, limit = 100): Promise<RejectionRecord[]> {
    const items = await queryUpTo(
      this.client,
      { TableName: this.options.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': rejectionPk(at) }, ScanIndexForward: false },
      limit,
    );
    return items.map((item) => fromItem<RejectionRecord>(item));
  }

  /**
   * The newest rejection matching `match` on the UTC days of `days` (in that order), sent at or after
   * `sentAfter`. Filtered in DynamoDB, at most `maxPages` pages a day, so a day of many rejections
   * costs a bounded read.
   */
  public async find(match: RejectionMatch, options: { readonly days: readonly number[]; readonly sentAfter?: number; readonly maxPages?: number }): Promise<RejectionRecord | undefined> {
    const [name, value] = Object.entries(match)[0]!;
    const from = options.sentAfter === undefined ? {} : { ':from': rejectionSkFrom(options.sentAfter) };
    for (const pk of new Set(options.days.map(rejectionPk))) {
      const pages = paginateQuery(
        { client: this.client },
        {
          TableName: this.options.tableName,
          KeyConditionExpression: options.sentAfter === undefined ? 'pk = :pk' : 'pk = :pk AND sk >= :from',
          FilterExpression: '#match = :value',
          ExpressionAttributeNames: { '#match': name },
          ExpressionAttributeValues: { ':pk': pk, ':value': value, ...from },
          ScanIndexForward: false,
        },
      );
      let pagesRead = 0;
      for await (const { Items = [] } of pages) {
        if (Items[0]) return fromItem<RejectionRecord>(Items[0]);
        pagesRead += 1;
        if (pagesRead >= (options.maxPages ?? 10)) break;
      }
    }
    return undefined;
  }
}
