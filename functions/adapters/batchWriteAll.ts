import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DYNAMODB_BATCH_WRITE_SIZE } from '../core/constants.ts';
import { TransientError } from '../core/errors.ts';
import { chunk } from './chunk.ts';

type WriteRequest = { PutRequest: { Item: Record<string, unknown> } } | { DeleteRequest: { Key: Record<string, unknown> } };

/**
 * One BatchWriteItem (≤ 25 requests) that retries unprocessed items with exponential backoff, as
 * DynamoDB asks callers to; throws a TransientError if some are still unprocessed after 8 rounds.
 */
export async function batchWriteAll(client: DynamoDBDocumentClient, tableName: string, requests: readonly WriteRequest[]): Promise<void> {
  let pending = [...requests];
  for (let round = 0; pending.length > 0; round += 1) {
    if (round >= 8) throw new TransientError(`BatchWriteItem left ${pending.length} items unprocessed after ${round} rounds`);
    if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 25 * 2 ** round)));
    const { UnprocessedItems } = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
    pending = (UnprocessedItems?.[tableName] ?? []) as WriteRequest[];
  }
}

/** Deletes these items by key: a BatchWriteItem of 25 at a time, one after another. */
export async function deleteAll(client: DynamoDBDocumentClient, tableName: string, keys: readonly Record<string, unknown>[]): Promise<void> {
  for (const group of chunk(keys, DYNAMODB_BATCH_WRITE_SIZE)) await batchWriteAll(client, tableName, group.map((Key) => ({ DeleteRequest: { Key } })));
}
