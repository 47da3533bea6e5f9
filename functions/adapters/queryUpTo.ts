import { paginateQuery, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';

/**
 * The first `limit` items a Query finds, read across as many pages as that takes: one Query
 * answers at most 1 MB, so a single page of large items (rejections with their raw bodies,
 * dead letters with long messages) held only part of what was asked for.
 */
export async function queryUpTo(client: DynamoDBDocumentClient, input: QueryCommandInput, limit: number): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for await (const page of paginateQuery({ client, pageSize: limit }, { ...input, Limit: limit })) {
    items.push(...(page.Items ?? []));
    if (items.length >= limit) break;
  }
  return items.slice(0, limit);
}
