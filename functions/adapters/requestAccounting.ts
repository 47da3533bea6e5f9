/**
 * Request accounting: an AWS SDK middleware that counts requests, consumed DynamoDB capacity and
 * billable payload units per service and operation, so a benchmark can turn "N routes delivered"
 * into requests and dollars per route. Enabled by `HERALD_REQUEST_ACCOUNTING=1`; when the flag is
 * off no middleware is attached at all, so it costs nothing.
 *
 * Counts go to a ledger on `globalThis` (one per JavaScript realm: each Lambda execution
 * environment, each offline worker thread), which the offline stack reads out of its workers.
 */

export const REQUEST_ACCOUNTING_FLAG = 'HERALD_REQUEST_ACCOUNTING';

/** What one service operation cost so far. */
export interface OperationCount {
  requests: number;
  /** Requests that failed (a failed conditional write is still billed by DynamoDB). */
  failed: number;
  /** DynamoDB read request units, as the service reported them (ConsumedCapacity). */
  readUnits: number;
  /** DynamoDB write request units on the table itself. */
  writeUnits: number;
  /** DynamoDB write request units on global secondary indexes. */
  indexWriteUnits: number;
  /** Units not reported by the service but billed: 1 WRU per item of a failed conditional write. */
  estimatedWriteUnits: number;
  /** SQS: 64 KB request units; API Gateway: 32 KB message units; others: one per request. */
  billedUnits: number;
  /** Payload bytes that the unit count was computed from (SQS bodies, @connections data). */
  payloadBytes: number;
  /** SQS ReceiveMessage calls that returned nothing (the event source's idle polling). */
  emptyReceives: number;
  /** DynamoDB: requests per table named in them (a batch or transaction counts once per table). */
  tables?: Record<string, number>;
  /** DynamoDB transactions: items per `<Action> <table>` (Put, Update, Delete, ConditionCheck), for IAM checks. */
  transactItems?: Record<string, number>;
}

export type RequestLedger = Record<string, OperationCount>;

const LEDGER_KEY = Symbol.for('herald.requestLedger');
const SQS_UNIT_BYTES = 64 * 1024;
const API_GATEWAY_UNIT_BYTES = 32 * 1024;

const DYNAMODB_CAPACITY_OPERATIONS = new Set([
  'PutItem', 'UpdateItem', 'DeleteItem', 'GetItem', 'Query', 'Scan', 'BatchGetItem', 'BatchWriteItem', 'TransactWriteItems', 'TransactGetItems',
]);
const DYNAMODB_WRITE_OPERATIONS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
/** lib-dynamodb's document commands, by the low-level operation they send. */
const DOCUMENT_COMMANDS: Record<string, string> = {
  Put: 'PutItem', Get: 'GetItem', Update: 'UpdateItem', Delete: 'DeleteItem', BatchWrite: 'BatchWriteItem',
  BatchGet: 'BatchGetItem', TransactWrite: 'TransactWriteItems', TransactGet: 'TransactGetItems', Query: 'Query', Scan: 'Scan',
};

export function requestAccountingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[REQUEST_ACCOUNTING_FLAG] === '1';
}

/** This realm's ledger (created on first use). */
export function requestLedger(): RequestLedger {
  const holder = globalThis as unknown as Record<symbol, RequestLedger | undefined>;
  holder[LEDGER_KEY] ??= {};
  return holder[LEDGER_KEY];
}

/** Adds ledgers operation by operation. */
export function mergeLedgers(...ledgers: RequestLedger[]): RequestLedger {
  const merged: RequestLedger = {};
  for (const ledger of ledgers) {
    for (const [key, count] of Object.entries(ledger)) {
      const into = (merged[key] ??= emptyCount());
      const { tables, transactItems, ...numbers } = count;
      for (const [field, n] of Object.entries(numbers) as [Exclude<keyof OperationCount, 'tables' | 'transactItems'>, number][]) into[field] += n;
      for (const [table, n] of Object.entries(tables ?? {})) countIn(into, 'tables', table, n);
      for (const [item, n] of Object.entries(transactItems ?? {})) countIn(into, 'transactItems', item, n);
    }
  }
  return merged;
}

function countIn(count: OperationCount, field: 'tables' | 'transactItems', key: string, n: number): void {
  const counts = (count[field] ??= {});
  counts[key] = (counts[key] ?? 0) + n;
}

interface MiddlewareClient {
  middlewareStack: { add(middleware: unknown, options: Record<string, unknown>): void };
}

/** Attaches the accounting middleware when the flag is set; otherwise returns the client untouched. */
export function withRequestAccounting<C extends MiddlewareClient>(client: C, service: string, env: NodeJS.ProcessEnv = process.env): C {
  return requestAccountingEnabled(env) ? attachRequestAccounting(client, service) : client;
}

/** Attaches the accounting middleware unconditionally (the offline host counts the event source's requests). */
export function attachRequestAccounting<C extends MiddlewareClient>(client: C, service: string, ledger: () => RequestLedger = requestLedger): C {
  client.middlewareStack.add(
    (next: (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>, context: { commandName?: string }) =>
      async (args: { input: Record<string, unknown> }) => {
        const operation = operationName(context.commandName ?? 'Unknown');
        if (service === 'dynamodb' && DYNAMODB_CAPACITY_OPERATIONS.has(operation) && args.input['ReturnConsumedCapacity'] === undefined) {
          args.input = { ...args.input, ReturnConsumedCapacity: 'INDEXES' };
        }
        // Counted when the request ends, into the ledger of that moment: a long poll that spans a
        // reset belongs wholly to the period it finished in.
        const countOf = () => {
          const count = (ledger()[`${service}.${operation}`] ??= emptyCount());
          count.requests += 1;
          if (service === 'dynamodb') {
            for (const table of tablesOf(args.input)) countIn(count, 'tables', table, 1);
            for (const item of transactItemsOf(args.input)) countIn(count, 'transactItems', item, 1);
          }
          return count;
        };
        let result;
        try {
          result = await next(args);
        } catch (error) {
          const count = countOf();
          count.failed += 1;
          if (service === 'dynamodb' && DYNAMODB_WRITE_OPERATIONS.has(operation)) count.estimatedWriteUnits += failedWriteItems(operation, args.input, error);
          throw error;
        }
        recordSuccess(service, operation, args.input, result.output, countOf());
        return result;
      },
    { step: 'initialize', name: 'heraldRequestAccounting', priority: 'high', override: true },
  );
  return client;
}

function recordSuccess(service: string, operation: string, input: Record<string, unknown>, output: Record<string, unknown>, count: OperationCount): void {
  switch (service) {
    case 'dynamodb': {
      const write = DYNAMODB_WRITE_OPERATIONS.has(operation);
      const consumed = output['ConsumedCapacity'];
      let tableWriteUnits = 0;
      for (const capacity of (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) as Capacity[]) {
        const indexUnits = Object.values(capacity.GlobalSecondaryIndexes ?? {}).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0)
          + Object.values(capacity.LocalSecondaryIndexes ?? {}).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
        const tableUnits = capacity.Table?.CapacityUnits ?? (capacity.CapacityUnits ?? 0) - indexUnits;
        if (write) {
          tableWriteUnits += tableUnits;
          count.indexWriteUnits += indexUnits;
        } else {
          count.readUnits += tableUnits + indexUnits;
        }
      }
      // DynamoDB Local reports a transaction as 2 units per table, whatever its item count.
      count.writeUnits += operation === 'TransactWriteItems' ? Math.max(tableWriteUnits, transactionWriteUnits(input)) : tableWriteUnits;
      count.billedUnits += 1;
      return;
    }
    case 'sqs': {
      if (operation === 'ReceiveMessage') {
        const messages = (output['Messages'] as { Body?: string }[] | undefined) ?? [];
        if (messages.length === 0) count.emptyReceives += 1;
        const bytes = messages.reduce((sum, m) => sum + Buffer.byteLength(m.Body ?? ''), 0);
        count.payloadBytes += bytes;
        count.billedUnits += Math.max(1, Math.ceil(bytes / SQS_UNIT_BYTES));
        return;
      }
      const bytes = operation === 'SendMessage'
        ? Buffer.byteLength(String(input['MessageBody'] ?? ''))
        : operation === 'SendMessageBatch'
          ? ((input['Entries'] as { MessageBody?: string }[] | undefined) ?? []).reduce((sum, e) => sum + Buffer.byteLength(e.MessageBody ?? ''), 0)
          : 0;
      count.payloadBytes += bytes;
      count.billedUnits += Math.max(1, Math.ceil(bytes / SQS_UNIT_BYTES));
      return;
    }
    case 'apigateway': {
      const data = input['Data'] as Uint8Array | string | undefined;
      const bytes = data === undefined ? 0 : typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
      count.payloadBytes += bytes;
      count.billedUnits += operation === 'PostToConnection' ? Math.max(1, Math.ceil(bytes / API_GATEWAY_UNIT_BYTES)) : 1;
      return;
    }
    default:
      count.billedUnits += 1;
  }
}

interface Capacity {
  CapacityUnits?: number;
  Table?: { CapacityUnits?: number };
  GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
  LocalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
}

/**
 * What DynamoDB bills for a write transaction: 2 WRU per item per started KB. A put's size is
 * estimated from its JSON form (an overestimate: DynamoDB counts names and values only); updates, deletes and
 * condition checks are taken as one KB, which holds for Herald's routes and stream heads.
 */
export function transactionWriteUnits(input: Record<string, unknown>): number {
  const items = (input['TransactItems'] as { Put?: { Item?: unknown } }[] | undefined) ?? [];
  return items.reduce((sum, item) => {
    const kilobytes = item.Put?.Item === undefined ? 1 : Math.max(1, Math.ceil(Buffer.byteLength(JSON.stringify(item.Put.Item)) / 1024));
    return sum + 2 * kilobytes;
  }, 0);
}

/** DynamoDB bills a write whose condition failed (1 WRU per item up to 1 KB) but reports no capacity for it. */
function failedWriteItems(operation: string, input: Record<string, unknown>, error: unknown): number {
  const name = (error as { name?: string }).name;
  if (name === 'ConditionalCheckFailedException') return 1;
  if (name === 'TransactionCanceledException' && operation === 'TransactWriteItems') {
    return ((input['TransactItems'] as unknown[] | undefined) ?? []).length;
  }
  return 0;
}

/** The tables a DynamoDB request names: TableName, a batch's RequestItems, a transaction's items. */
export function tablesOf(input: Record<string, unknown>): string[] {
  const names = new Set<string>();
  if (typeof input['TableName'] === 'string') names.add(input['TableName']);
  for (const table of Object.keys((input['RequestItems'] as Record<string, unknown> | undefined) ?? {})) names.add(table);
  for (const item of (input['TransactItems'] as Record<string, { TableName?: string }>[] | undefined) ?? []) {
    for (const action of Object.values(item)) if (action?.TableName) names.add(action.TableName);
  }
  return [...names];
}

/** A transaction's items as `<Action> <table>` (e.g. `Update streams`), in order, repeats kept. */
export function transactItemsOf(input: Record<string, unknown>): string[] {
  return ((input['TransactItems'] as Record<string, { TableName?: string }>[] | undefined) ?? []).flatMap((item) =>
    Object.entries(item).flatMap(([action, body]) => (body?.TableName ? [`${action} ${body.TableName}`] : [])),
  );
}

function operationName(commandName: string): string {
  const bare = commandName.replace(/Command$/, '');
  return DOCUMENT_COMMANDS[bare] ?? bare;
}

function emptyCount(): OperationCount {
  return { requests: 0, failed: 0, readUnits: 0, writeUnits: 0, indexWriteUnits: 0, estimatedWriteUnits: 0, billedUnits: 0, payloadBytes: 0, emptyReceives: 0 };
}
