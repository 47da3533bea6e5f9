import { describe, expect, it } from 'vitest';
import {
  attachRequestAccounting,
  mergeLedgers,
  tablesOf,
  transactItemsOf,
  transactionWriteUnits,
  withRequestAccounting,
  type RequestLedger,
} from '../../functions/adapters/requestAccounting.ts';

type Handler = (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>;
type Middleware = (next: Handler, context: { commandName?: string }) => Handler;

/** A client with just a middleware stack: the test plays the service behind it. */
function fakeClient() {
  const added: Middleware[] = [];
  return { added, middlewareStack: { add: (m: unknown) => added.push(m as Middleware) } };
}

function call(middleware: Middleware, commandName: string, input: Record<string, unknown>, answer: (input: Record<string, unknown>) => Record<string, unknown> | Error) {
  return middleware(async (args) => {
    const result = answer(args.input);
    if (result instanceof Error) throw result;
    return { output: result };
  }, { commandName })({ input });
}

function named(name: string): Error {
  return Object.assign(new Error(name), { name });
}

describe('request accounting middleware', () => {
  it('is not attached at all when the flag is off', () => {
    const client = fakeClient();
    withRequestAccounting(client, 'dynamodb', {});
    expect(client.added).toHaveLength(0);
    withRequestAccounting(client, 'dynamodb', { HERALD_REQUEST_ACCOUNTING: '1' });
    expect(client.added).toHaveLength(1);
  });

  it('asks DynamoDB for capacity and splits table from index units', async () => {
    const ledger: RequestLedger = {};
    const client = attachRequestAccounting(fakeClient(), 'dynamodb', () => ledger);
    let seen: Record<string, unknown> = {};
    await call(client.added[0]!, 'UpdateCommand', { TableName: 't' }, (input) => {
      seen = input;
      return { ConsumedCapacity: { TableName: 't', CapacityUnits: 3, Table: { CapacityUnits: 1 }, GlobalSecondaryIndexes: { due: { CapacityUnits: 1 }, open: { CapacityUnits: 1 } } } };
    });
    await call(client.added[0]!, 'GetCommand', {}, () => ({ ConsumedCapacity: { TableName: 't', CapacityUnits: 1, Table: { CapacityUnits: 1 } } }));
    expect(seen['ReturnConsumedCapacity']).toBe('INDEXES');
    expect(ledger['dynamodb.UpdateItem']).toMatchObject({ requests: 1, writeUnits: 1, indexWriteUnits: 2, readUnits: 0 });
    expect(ledger['dynamodb.GetItem']).toMatchObject({ requests: 1, readUnits: 1, writeUnits: 0 });
  });

  it('bills a failed conditional write one unit, and a cancelled transaction one per item', async () => {
    const ledger: RequestLedger = {};
    const client = attachRequestAccounting(fakeClient(), 'dynamodb', () => ledger);
    await expect(call(client.added[0]!, 'PutCommand', {}, () => named('ConditionalCheckFailedException'))).rejects.toThrow();
    await expect(call(client.added[0]!, 'TransactWriteCommand', { TransactItems: [{}, {}, {}] }, () => named('TransactionCanceledException'))).rejects.toThrow();
    expect(ledger['dynamodb.PutItem']).toMatchObject({ requests: 1, failed: 1, estimatedWriteUnits: 1, writeUnits: 0 });
    expect(ledger['dynamodb.TransactWriteItems']).toMatchObject({ requests: 1, failed: 1, estimatedWriteUnits: 3 });
  });

  it('bills a transaction 2 units per item even where the emulator reports 2 per table', async () => {
    const ledger: RequestLedger = {};
    const client = attachRequestAccounting(fakeClient(), 'dynamodb', () => ledger);
    const input = { TransactItems: [{ Update: {} }, { Put: { Item: { pk: 'S#u', sk: 'E#1', payload: 'x'.repeat(1500) } } }, { Update: {} }] };
    await call(client.added[0]!, 'TransactWriteCommand', input, () => ({
      ConsumedCapacity: [{ TableName: 'streams', CapacityUnits: 2, Table: { CapacityUnits: 2 } }, { TableName: 'routes', CapacityUnits: 2, Table: { CapacityUnits: 2 } }],
    }));
    // 2 (head) + 2 × 2 KB (event) + 2 (route).
    expect(transactionWriteUnits(input)).toBe(8);
    expect(ledger['dynamodb.TransactWriteItems']!.writeUnits).toBe(8);
  });

  it('counts SQS in 64 KB request units and keeps empty receives apart', async () => {
    const ledger: RequestLedger = {};
    const client = attachRequestAccounting(fakeClient(), 'sqs', () => ledger);
    await call(client.added[0]!, 'SendMessageBatchCommand', { Entries: [{ MessageBody: 'x'.repeat(40_000) }, { MessageBody: 'y'.repeat(40_000) }] }, () => ({}));
    await call(client.added[0]!, 'ReceiveMessageCommand', {}, () => ({ Messages: [] }));
    await call(client.added[0]!, 'ReceiveMessageCommand', {}, () => ({ Messages: [{ Body: 'z' }] }));
    expect(ledger['sqs.SendMessageBatch']).toMatchObject({ requests: 1, billedUnits: 2, payloadBytes: 80_000 });
    expect(ledger['sqs.ReceiveMessage']).toMatchObject({ requests: 2, emptyReceives: 1, billedUnits: 2 });
  });

  it('counts API Gateway messages in 32 KB units', async () => {
    const ledger: RequestLedger = {};
    const client = attachRequestAccounting(fakeClient(), 'apigateway', () => ledger);
    await call(client.added[0]!, 'PostToConnectionCommand', { Data: new Uint8Array(32 * 1024 + 1) }, () => ({}));
    await call(client.added[0]!, 'PostToConnectionCommand', { Data: '{"type":"event"}' }, () => ({}));
    expect(ledger['apigateway.PostToConnection']).toMatchObject({ requests: 2, billedUnits: 3 });
  });

  it('counts a request in the ledger that is current when it ends', async () => {
    let ledger: RequestLedger = {};
    const client = attachRequestAccounting(fakeClient(), 'sqs', () => ledger);
    let finish!: () => void;
    const pending = client.added[0]!(() => new Promise((resolve) => (finish = () => resolve({ output: { Messages: [] } }))), { commandName: 'ReceiveMessageCommand' })({ input: {} });
    const before = ledger;
    ledger = {};
    finish();
    await pending;
    expect(before).toEqual({});
    expect(ledger['sqs.ReceiveMessage']).toMatchObject({ requests: 1, emptyReceives: 1 });
  });

  it('merges ledgers field by field', () => {
    const a: RequestLedger = { 'sqs.SendMessage': { requests: 1, failed: 0, readUnits: 0, writeUnits: 0, indexWriteUnits: 0, estimatedWriteUnits: 0, billedUnits: 1, payloadBytes: 10, emptyReceives: 0 } };
    const merged = mergeLedgers(a, a, {});
    expect(merged['sqs.SendMessage']).toMatchObject({ requests: 2, billedUnits: 2, payloadBytes: 20 });
    expect(a['sqs.SendMessage']!.requests).toBe(1);
  });

  it('merges the per-table request counts of DynamoDB operations', () => {
    const put = (tables: Record<string, number>): RequestLedger => ({ 'dynamodb.BatchGetItem': { requests: 1, failed: 0, readUnits: 1, writeUnits: 0, indexWriteUnits: 0, estimatedWriteUnits: 0, billedUnits: 1, payloadBytes: 0, emptyReceives: 0, tables } });
    expect(mergeLedgers(put({ notifications: 1 }), put({ notifications: 1, streams: 1 }))['dynamodb.BatchGetItem']!.tables).toEqual({ notifications: 2, streams: 1 });
  });

  it('names the tables of a request: TableName, batch RequestItems and transaction items, each once', () => {
    expect(tablesOf({ TableName: 'routes', Key: {} })).toEqual(['routes']);
    expect(tablesOf({ RequestItems: { routes: {}, streams: {} } })).toEqual(['routes', 'streams']);
    expect(tablesOf({ TransactItems: [{ Update: { TableName: 'streams' } }, { Put: { TableName: 'streams' } }, { Update: { TableName: 'routes' } }] })).toEqual(['streams', 'routes']);
    expect(tablesOf({ QueueUrl: 'q' })).toEqual([]);
  });

  it("names a transaction's items by action and table, for checking IAM grants per item", () => {
    expect(transactItemsOf({ TransactItems: [{ Update: { TableName: 'streams' } }, { Put: { TableName: 'streams' } }, { ConditionCheck: { TableName: 'routes' } }] }))
      .toEqual(['Update streams', 'Put streams', 'ConditionCheck routes']);
    expect(transactItemsOf({ TableName: 'routes', Key: {} })).toEqual([]);
    const txn = (items: Record<string, number>): RequestLedger => ({ 'dynamodb.TransactWriteItems': { requests: 1, failed: 0, readUnits: 0, writeUnits: 0, indexWriteUnits: 0, estimatedWriteUnits: 0, billedUnits: 1, payloadBytes: 0, emptyReceives: 0, transactItems: items } });
    expect(mergeLedgers(txn({ 'Put streams': 1 }), txn({ 'Put streams': 1, 'Update routes': 1 }))['dynamodb.TransactWriteItems']!.transactItems).toEqual({ 'Put streams': 2, 'Update routes': 1 });
  });
});
