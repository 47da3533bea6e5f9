import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TransientError } from '../core/errors.ts';
import { mapWithConcurrency } from '../core/mapWithConcurrency.ts';
import { chunk } from './chunk.ts';

/** DynamoDB's limit on keys per BatchGetItem. */
const BATCH_GET_SIZE = 100;

export interface BatchGetOptions {
  readonly consistentRead?: boolean;
  /** Attribute names to return; must include the key attributes when items are matched by key. */
  readonly projection?: string;
  /** Names for `#placeholders` in the projection (reserved words such as `position`). */
  readonly names?: Readonly<Record<string, string>>;
}

/**
 * Reads items by key with BatchGetItem (100 keys per call, 4 calls in flight), retrying
 * unprocessed keys with exponential backoff as DynamoDB asks callers to. Keys must be distinct.
 * Missing items are simply absent from the result; the order is DynamoDB's.
 */
export async function batchGetAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Record<string, unknown>[],
  options: BatchGetOptions = {},
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  await mapWithConcurrency(chunk(keys, BATCH_GET_SIZE), 4, async (group) => {
    let pending = group;
    for (let round = 0; pending.length > 0; round += 1) {
      if (round >= 8) throw new TransientError(`BatchGetItem left ${pending.length} keys unprocessed after ${round} rounds`);
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 25 * 2 ** round)));
      const result = await client.send(
        new BatchGetCommand({
          RequestItems: {
            [tableName]: {
              Keys: pending,
              ...(options.consistentRead ? { ConsistentRead: true } : {}),
              ...(options.projection ? { ProjectionExpression: options.projection } : {}),
              ...(options.names ? { ExpressionAttributeNames: options.names } : {}),
            },
          },
        }),
      );
      found.push(...(result.Responses?.[tableName] ?? []));
      pending = (result.UnprocessedKeys?.[tableName]?.Keys ?? []) as Record<string, unknown>[];
    }
  });
  return found;
}
