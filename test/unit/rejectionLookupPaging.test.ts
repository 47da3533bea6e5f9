import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoRejectionStore } from '../../functions/adapters/DynamoRejectionStore.ts';
import { rejectionPk } from '../../functions/adapters/dynamoKeys.ts';

// DynamoDB reads at most 1 MB a page and filters afterwards, so a filtered page can come back empty
// with a LastEvaluatedKey. DynamoDB Local caps the page after filtering (it never returns such a
// page), so this paging is checked here against scripted Query answers instead of the emulator.
function scriptedStore(pages: Record<string, { Items: Record<string, unknown>[]; LastEvaluatedKey?: Record<string, unknown> }[]>) {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }));
  const queries: QueryCommandInput[] = [];
  const served = new Map<string, number>();
  client.send = (async (command: QueryCommand) => {
    if (!(command instanceof QueryCommand)) throw new Error(`unexpected ${command}`);
    const input = { ...command.input };
    queries.push(input);
    const pk = String(input.ExpressionAttributeValues?.[':pk']);
    const page = served.get(pk) ?? 0;
    served.set(pk, page + 1);
    return pages[pk]?.[page] ?? { Items: [] };
  }) as never;
  return { store: new DynamoRejectionStore(client, { tableName: 'herald', retentionMs: 86_400_000 }), queries };
}

const DAY = Date.UTC(2026, 10, 24);
const YESTERDAY = DAY - 86_400_000;
const match = { pk: rejectionPk(DAY), sk: 'x', source_id: 'm-1', reason: 'schema_violation' };

describe('DynamoRejectionStore.find: paging a filtered query', () => {
  it('follows LastEvaluatedKey past empty filtered pages to the match', async () => {
    const { store, queries } = scriptedStore({
      [rejectionPk(DAY)]: [{ Items: [], LastEvaluatedKey: { sk: 'a' } }, { Items: [], LastEvaluatedKey: { sk: 'b' } }, { Items: [match] }],
    });

    expect(await store.find({ source_id: 'm-1' }, { days: [DAY] })).toMatchObject({ source_id: 'm-1' });
    expect(queries.map((q) => q.ExclusiveStartKey)).toEqual([undefined, { sk: 'a' }, { sk: 'b' }]);
  });

  it('reads at most maxPages pages a day, then goes on to the next day', async () => {
    const endless = Array.from({ length: 20 }, (_, i) => ({ Items: [], LastEvaluatedKey: { sk: `p${i}` } }));
    const { store, queries } = scriptedStore({ [rejectionPk(DAY)]: endless, [rejectionPk(YESTERDAY)]: [{ Items: [{ ...match, pk: rejectionPk(YESTERDAY) }] }] });

    expect(await store.find({ source_id: 'm-1' }, { days: [DAY, YESTERDAY], maxPages: 3 })).toMatchObject({ source_id: 'm-1' });
    expect(queries.map((q) => q.ExpressionAttributeValues?.[':pk'])).toEqual([rejectionPk(DAY), rejectionPk(DAY), rejectionPk(DAY), rejectionPk(YESTERDAY)]);
  });

  it('stops at the last page and answers undefined when nothing matches', async () => {
    const { store, queries } = scriptedStore({ [rejectionPk(DAY)]: [{ Items: [], LastEvaluatedKey: { sk: 'a' } }, { Items: [] }] });

    expect(await store.find({ notification_id: 'n_1' }, { days: [DAY] })).toBeUndefined();
    expect(queries).toHaveLength(2);
    expect(queries[0]).toMatchObject({ FilterExpression: '#match = :value', ExpressionAttributeNames: { '#match': 'notification_id' }, ScanIndexForward: false });
  });
});
