import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { notificationIdFor } from '../functions/core/route/identifiers.ts';
import { statSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { DynamoEventBuffer, eventItem, HEAD_SK, streamPk } from '../functions/adapters/DynamoEventBuffer.ts';
import { batchWriteAll } from '../functions/adapters/batchWriteAll.ts';
import { chunk } from '../functions/adapters/chunk.ts';
import { DYNAMODB_BATCH_WRITE_SIZE } from '../functions/core/constants.ts';
import { encodeCursor } from '../functions/core/push/cursorCodec.ts';
import { BenchClient } from './benchClient.ts';
import { EMAIL_TYPE, INBOX_TYPE, nowMs, PUSH_TYPE, sleep, type BenchStack } from './benchStack.ts';
import { DynamoInboxStore } from '../functions/adapters/DynamoInboxStore.ts';
import { InboxService } from '../functions/core/inbox/InboxService.ts';
import { PRICES } from './prices.ts';
import { costPerRoute, type MeasuredRun, type RouteCost } from './costModel.ts';
import { median, percentile, round } from './stats.ts';

const runId = () => randomUUID().slice(0, 8);

function pushIntent(userId: string, key: string, payload: Record<string, unknown>) {
  return { notification_type: PUSH_TYPE, producer: 'bench', idempotency_key: key, audience: { kind: 'user', user_id: userId }, payload };
}

/** Connects one client per (user, device) and waits until each is registered and its stream exists. */
async function connectClients(bench: BenchStack, users: readonly string[], devicesPerUser: number): Promise<Map<string, BenchClient[]>> {
  const clients = new Map<string, BenchClient[]>();
  for (const user of users) {
    const devices: BenchClient[] = [];
    for (let d = 0; d < devicesPerUser; d += 1) {
      const client = await BenchClient.connect(bench.endpoints.websocket, await bench.token(user, `device-${d}`));
      const done = client.next('replay_complete');
      client.send({ action: 'resume', cursor: '' });
      await done;
      devices.push(client);
    }
    clients.set(user, devices);
  }
  return clients;
}

async function closeAll(clients: Map<string, BenchClient[]>): Promise<void> {
  await Promise.all([...clients.values()].flat().map((c) => c.close()));
}

/** Sends one message every 1/rate seconds without waiting for earlier sends (open loop). */
async function sendOpenLoop(count: number, rate: number, send: (i: number) => Promise<void>): Promise<{ sendErrors: number; offeredSeconds: number }> {
  const started = performance.now();
  const pending: Promise<void>[] = [];
  let sendErrors = 0;
  for (let i = 0; i < count; i += 1) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(send(i).catch(() => void (sendErrors += 1)));
  }
  const offeredSeconds = (performance.now() - started) / 1000;
  await Promise.all(pending);
  return { sendErrors, offeredSeconds };
}

// ── emulator ceiling ─────────────────────────────────────────────────────────────────────────────

export interface CeilingResult {
  readonly concurrency: number;
  readonly seconds: number;
  readonly dynamodbPutItemPerSecond: number;
  readonly sqsSendMessagePerSecond: number;
}

/** Raw DynamoDB Local PutItem and SQS SendMessage rates at a fixed concurrency, in this run. */
export async function measureEmulatorCeiling(bench: BenchStack, seconds: number, concurrency = 16): Promise<CeilingResult> {
  const config = { region: bench.endpoints.region, credentials: bench.endpoints.credentials };
  const dynamo = new DynamoDBClient({ ...config, endpoint: bench.endpoints.dynamodb });
  const sqs = new SQSClient({ ...config, endpoint: bench.endpoints.sqs });
  const table = `bench-ceiling-${runId()}`;
  await dynamo.send(new CreateTableCommand({
    TableName: table, BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
  }));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `bench-ceiling-${runId()}` }));
  const item = 'x'.repeat(300);
  const rate = async (op: (i: number) => Promise<unknown>) => {
    const deadline = performance.now() + seconds * 1000;
    let done = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await op(done);
        done += 1;
      }
    }));
    return done / ((performance.now() - started) / 1000);
  };
  const puts = await rate((i) => dynamo.send(new PutItemCommand({ TableName: table, Item: { pk: { S: `k${i}-${Math.random()}` }, v: { S: item } } })));
  const sends = await rate(() => sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: item })));
  dynamo.destroy();
  sqs.destroy();
  return { concurrency, seconds, dynamodbPutItemPerSecond: round(puts, 0), sqsSendMessagePerSecond: round(sends, 0) };
}

// ── request accounting and cost ──────────────────────────────────────────────────────────────────

/** `push_1_device_backlog`: single-device push again, with the intake queue loaded ahead of the event source. */
export type CostCase =
  | 'push_1_device'
  | 'push_3_devices'
  | 'email'
  | 'push_1_device_backlog'
  | 'push_1_device_1kib'
  | 'push_1_device_backlog_1kib'
  | 'push_1_device_8kib'
  | 'inbox_1_device';

/** The payload size (UTF-8 bytes of its JSON) of a cost case: ~100 B unless the case names one. */
export function payloadBytesOf(kind: CostCase): number {
  return kind.endsWith('_8kib') ? 8 * 1024 : kind.endsWith('_1kib') ? 1024 : 100;
}

/** A payload of exactly `bytes` bytes of JSON (at least its smallest form), e.g. a chat message with metadata. */
export function payloadOfSize(n: number, bytes: number): Record<string, unknown> {
  const base = { n, text: '' };
  return { ...base, text: 'x'.repeat(Math.max(0, bytes - Buffer.byteLength(JSON.stringify(base)))) };
}

/**
 * How the intents were offered: one SendMessage each at this many per second (open loop), or
 * `backlog` — SendMessageBatch, ten to a request, as fast as the producer can, so the event source
 * receives full batches (the shape of high-volume traffic).
 */
export type OfferedLoad = number | 'backlog';

export interface CostResult {
  readonly case: CostCase;
  readonly routes: number;
  readonly offeredRate: OfferedLoad;
  readonly cost: RouteCost;
  readonly run: MeasuredRun;
}

/**
 * Delivers `routes` single-recipient routes offered as `load` with every counter zeroed first,
 * then turns what was counted into units and dollars per route.
 */
export async function measureCost(bench: BenchStack, kind: CostCase, routes: number, load: OfferedLoad): Promise<CostResult> {
  const run = runId();
  const users = Array.from({ length: routes }, (_, i) => `cost-${run}-${i}`);
  const clients = kind === 'email' ? new Map<string, BenchClient[]>() : await connectClients(bench, users, kind === 'push_3_devices' ? 3 : 1);
  const bytes = payloadBytesOf(kind);
  await bench.settle();
  await bench.resetMeasurements();
  const before = bench.published;
  const intent = (i: number) =>
    kind === 'email'
      ? { notification_type: EMAIL_TYPE, producer: 'bench', idempotency_key: `${run}-${i}`, audience: { kind: 'user', user_id: users[i], email: `${users[i]}@bench.example.com` }, payload: payloadOfSize(i, bytes) }
      : kind === 'inbox_1_device'
        ? { ...pushIntent(users[i]!, `${run}-${i}`, payloadOfSize(i, bytes)), notification_type: INBOX_TYPE }
        : pushIntent(users[i]!, `${run}-${i}`, payloadOfSize(i, bytes));
  if (load === 'backlog') await bench.sendIntentsBatched(Array.from({ length: routes }, (_, i) => intent(i)));
  else await sendOpenLoop(routes, load, (i) => bench.sendIntent(intent(i)));
  await bench.waitForPublished(before, routes, 120_000);
  await bench.settle();
  const notificationIds = Array.from({ length: routes }, (_, i) => notificationIdFor('bench', `${run}-${i}`));
  const measured = await bench.measure(routes, { notificationIds, users });
  await closeAll(clients);
  // X-Ray's reservoir samples by the rate a function is invoked at: one per intent sent one by one, one per batch of ten from a backlog.
  const invocationsPerSecond = load === 'backlog' ? undefined : load;
  return { case: kind, routes, offeredRate: load, cost: costPerRoute(measured, { requestsPerSecond: invocationsPerSecond }), run: measured };
}

// ── latency ──────────────────────────────────────────────────────────────────────────────────────

export interface LatencyResult {
  readonly offeredRate: number;
  readonly seconds: number;
  readonly sent: number;
  readonly received: number;
  readonly sendErrors: number;
  readonly p50Ms?: number;
  readonly p95Ms?: number;
  readonly p99Ms?: number;
  readonly maxMs?: number;
  /** When the rate was run several times: every run's figures (this result is the median-p50 run). */
  readonly repeats?: readonly { p50Ms?: number; p95Ms?: number; p99Ms?: number; maxMs?: number }[];
}

/**
 * Open-loop latency: `rate` intents/s for `seconds` to `users` connected users, each timed from
 * just before SendMessage to the `event` frame at the client.
 */
export async function measureLatency(bench: BenchStack, rate: number, seconds: number, userCount: number): Promise<LatencyResult> {
  const run = runId();
  const users = Array.from({ length: userCount }, (_, i) => `lat-${run}-${i}`);
  const clients = await connectClients(bench, users, 1);
  const latencies: number[] = [];
  for (const [, [client]] of clients) {
    client!.onFrame(({ at, frame }) => {
      if (frame.type !== 'event') return;
      const sentAt = (frame['payload'] as { sent_at?: number } | undefined)?.sent_at;
      if (typeof sentAt === 'number') latencies.push(at - sentAt);
    });
  }
  // Warm every execution environment first; cold starts are reported with the bundles.
  const warmBefore = bench.published;
  await sendOpenLoop(20, 20, (i) => bench.sendIntent(pushIntent(users[i % userCount]!, `${run}-warm-${i}`, { warmup: true })));
  await bench.waitForPublished(warmBefore, 20, 60_000);
  await bench.settle(500);

  const count = Math.round(rate * seconds);
  const { sendErrors } = await sendOpenLoop(count, rate, (i) =>
    bench.sendIntent(pushIntent(users[i % userCount]!, `${run}-${i}`, { seq: i, sent_at: nowMs() })),
  );
  const deadline = Date.now() + 60_000;
  while (latencies.length < count - sendErrors && Date.now() < deadline) await sleep(50);
  await closeAll(clients);
  const ms = (v: number | undefined) => (v === undefined ? undefined : round(v, 1));
  return {
    offeredRate: rate,
    seconds,
    sent: count - sendErrors,
    received: latencies.length,
    sendErrors,
    p50Ms: ms(percentile(latencies, 50)),
    p95Ms: ms(percentile(latencies, 95)),
    p99Ms: ms(percentile(latencies, 99)),
    maxMs: ms(percentile(latencies, 100)),
  };
}

// ── throughput ───────────────────────────────────────────────────────────────────────────────────

export interface ThroughputResult {
  readonly case: 'push_single_recipient' | 'push_fan_out';
  readonly intents: number;
  readonly recipientsPerIntent: number;
  readonly routes: number;
  readonly seconds: number;
  readonly routesPerSecond: number;
  /** DynamoDB write requests (API calls) per route in this run: batching makes fan-out cheaper per route. */
  readonly writeRequestsPerRoute: number;
}

/**
 * Sustained routes/s to terminal state: the intake queue is loaded as fast as the producer can,
 * and the clock stops when the last route is logged published.
 */
export async function measureThroughput(bench: BenchStack, intents: number, recipientsPerIntent: number): Promise<ThroughputResult> {
  const run = runId();
  const recipientsOf = (i: number) =>
    recipientsPerIntent === 1
      ? { kind: 'user', user_id: `tp-${run}-${i % 50}` }
      : { kind: 'users', recipients: Array.from({ length: recipientsPerIntent }, (_, r) => ({ user_id: `fan-${run}-${r}` })) };
  const all = Array.from({ length: intents }, (_, i) => ({
    notification_type: PUSH_TYPE, producer: 'bench', idempotency_key: `${run}-${i}`, audience: recipientsOf(i), payload: { n: i },
  }));
  await bench.settle(500);
  await bench.resetMeasurements();
  const before = bench.published;
  const started = performance.now();
  await bench.sendIntentsBatched(all);
  const routes = intents * recipientsPerIntent;
  const finished = await bench.waitForPublished(before, routes, 300_000);
  const seconds = (finished - started) / 1000;
  await bench.settle(500);
  const { units } = costPerRoute(await bench.measure(routes));
  return {
    case: recipientsPerIntent === 1 ? 'push_single_recipient' : 'push_fan_out',
    intents,
    recipientsPerIntent,
    routes,
    seconds: round(seconds, 2),
    routesPerSecond: round(routes / seconds, 1),
    writeRequestsPerRoute: round(units.dynamodbWriteRequests, 3),
  };
}

// ── replay ───────────────────────────────────────────────────────────────────────────────────────

export interface ReplayResult {
  readonly events: number;
  readonly runs: number;
  readonly medianMs: number;
  readonly frames: number;
  readonly bytes: number;
  readonly replayedEvents: number;
}

/** A reconnecting client that missed `events` events: time from `resume` to `replay_complete`. */
export async function measureReplay(bench: BenchStack, events: number, runs: number): Promise<ReplayResult> {
  const timings: number[] = [];
  let frames = 0;
  let bytes = 0;
  let replayedEvents = 0;
  for (let r = 0; r < runs; r += 1) {
    const user = `replay-${runId()}`;
    const epoch = `bench${runId()}`.slice(0, 12);
    const now = Date.now();
    await bench.documents.send(new PutCommand({ TableName: bench.streamsTable, Item: { pk: streamPk(user), sk: HEAD_SK, epoch, position: 0, created_at: now } }));
    const items = Array.from({ length: events }, (_, i) => ({
      PutRequest: {
        Item: eventItem({
          user_id: user, epoch, position: i + 1,
          event_id: `n-${i}/push:${user}`, notification_id: `n-${i}`, kind: PUSH_TYPE,
          payload: { n: i, text: 'a missed notification with a realistic short body' },
          published_at: now, expires_at_ms: now + 3_600_000,
        }),
      },
    }));
    for (const group of chunk(items, DYNAMODB_BATCH_WRITE_SIZE)) await batchWriteAll(bench.documents, bench.streamsTable, group);
    const client = await BenchClient.connect(bench.endpoints.websocket, await bench.token(user, 'replaying'));
    const firstFrame = client.frames.length;
    const complete = client.next('replay_complete', 60_000);
    const started = nowMs();
    client.send({ action: 'resume', cursor: encodeCursor({ epoch, position: 0 }) });
    const done = await complete;
    timings.push(done.at - started);
    const received = client.frames.slice(firstFrame).filter((f) => f.frame.type === 'events' || f.frame.type === 'event');
    frames = received.length;
    bytes = received.reduce((sum, f) => sum + f.bytes, 0);
    replayedEvents = received.reduce((sum, f) => sum + (f.frame.type === 'events' ? (f.frame['events'] as unknown[]).length : 1), 0);
    await client.close();
  }
  return { events, runs, medianMs: round(median(timings)!, 1), frames, bytes, replayedEvents };
}

// ── bundles ──────────────────────────────────────────────────────────────────────────────────────

export interface BundleResult {
  readonly fn: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly memorySize: number;
  readonly coldInitMs: number[];
  readonly medianColdInitMs: number;
}

/**
 * Bundle size per function, and cold init: a fresh Node.js process (this one's binary, Node 24
 * under npm) imports the bundle — which constructs the handler, with the environment the template
 * gives it — and reports how long that took.
 */
export async function measureBundles(bench: BenchStack, runs: number): Promise<BundleResult[]> {
  const results: BundleResult[] = [];
  for (const fn of bench.stack.allFunctions()) {
    const { entry, handlerName, environment } = fn.bundle;
    // As on Lambda: the offline stack's own POWERTOOLS_TRACE_ENABLED=false is left out (a stack with
    // tracing: true loads the Tracer here, as it would there).
    const { POWERTOOLS_TRACE_ENABLED: _offline, ...lambdaEnvironment } = environment;
    const timings: number[] = [];
    for (let r = 0; r < runs; r += 1) timings.push(await coldImport(entry, handlerName, lambdaEnvironment));
    results.push({
      fn: fn.name,
      bytes: statSync(entry).size,
      gzipBytes: gzipSync(readFileSync(entry)).byteLength,
      memorySize: fn.memorySize,
      coldInitMs: timings.map((t) => round(t, 1)),
      medianColdInitMs: round(median(timings)!, 1),
    });
  }
  return results;
}

function coldImport(entry: string, handlerName: string, environment: Record<string, string>): Promise<number> {
  const script = `const t = performance.now(); const m = await import(${JSON.stringify(pathToFileURL(entry).href)});
if (typeof m[${JSON.stringify(handlerName)}] !== 'function') throw new Error('no handler');
process.stdout.write(String(performance.now() - t)); process.exit(0);`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`cold import of ${entry} failed (${code}): ${err.slice(0, 500)}`))));
  });
}

// ── client messages ──────────────────────────────────────────────────────────────────────────────

export interface ClientMessageCost {
  readonly message: 'connect' | 'first_resume' | 'second_resume' | 'ping';
  readonly messages: number;
  /** Per operation (`service.Operation`), every function (authorizer and connection): requests per message. */
  readonly requestsPerMessage: Record<string, number>;
  readonly dynamodbWriteUnitsPerMessage: number;
  readonly dynamodbReadUnitsPerMessage: number;
  /** Every unit per message, as the cost model counts them per route. */
  readonly units: RouteCost['units'];
}

/**
 * What each kind of client message costs the stack in AWS requests, counted with request
 * accounting on: `$connect` (authorizer, register, the per-user cap's query), a connection's first
 * `resume` (empty cursor: the tail only), a second one in the same minute, and `ping`.
 */
export async function measureClientMessages(bench: BenchStack, clientCount: number, pingsPerClient: number): Promise<ClientMessageCost[]> {
  const run = runId();
  const results: ClientMessageCost[] = [];
  const counted = async (message: ClientMessageCost['message'], messages: number, act: () => Promise<void>) => {
    await bench.settle(500);
    await bench.resetMeasurements();
    await act();
    await bench.settle(500);
    const measured = await bench.measure(messages);
    const { functions } = measured;
    const perMessage: Record<string, number> = {};
    let writeUnits = 0;
    let readUnits = 0;
    for (const ledger of Object.values(functions)) {
      for (const [op, count] of Object.entries(ledger)) {
        perMessage[op] = (perMessage[op] ?? 0) + count.requests / messages;
        writeUnits += (count.writeUnits + count.indexWriteUnits + count.estimatedWriteUnits) / messages;
        readUnits += count.readUnits / messages;
      }
    }
    results.push({
      message,
      messages,
      requestsPerMessage: Object.fromEntries(Object.entries(perMessage).map(([op, n]) => [op, round(n, 3)])),
      dynamodbWriteUnitsPerMessage: round(writeUnits, 3),
      dynamodbReadUnitsPerMessage: round(readUnits, 3),
      // The producer and event sources have nothing to do with client messages.
      units: costPerRoute({ ...measured, producer: {}, eventSources: {} }).units,
    });
  };
  const clients: BenchClient[] = [];
  await counted('connect', clientCount, async () => {
    for (let i = 0; i < clientCount; i += 1) clients.push(await BenchClient.connect(bench.endpoints.websocket, await bench.token(`msg-${run}-${i}`, 'device-0')));
  });
  const resumeAll = async () => {
    for (const client of clients) {
      const done = client.next('replay_complete');
      client.send({ action: 'resume', cursor: '' });
      await done;
    }
  };
  await counted('first_resume', clientCount, resumeAll);
  await counted('second_resume', clientCount, resumeAll);
  await counted('ping', clientCount * pingsPerClient, async () => {
    for (const client of clients) {
      for (let p = 0; p < pingsPerClient; p += 1) {
        const pong = client.next('pong');
        client.send({ action: 'ping' });
        await pong;
      }
    }
  });
  await Promise.all(clients.map((c) => c.close()));
  return results;
}

// ── inbox operations ─────────────────────────────────────────────────────────────────────────────

/** What one inbox operation on the app API costs: requests, units and dollars, all functions counted. */
export interface InboxOperationCost {
  readonly operation: 'list_20' | 'mark_one_read' | 'mark_all_read';
  readonly operations: number;
  /** Items in the inbox the operation ran on. */
  readonly inboxItems: number;
  /** Per operation (`service.Operation`): requests, inside the functions (the app API's calls, HTTP requests apart). */
  readonly requestsPerOperation: Record<string, number>;
  readonly httpRequestsPerOperation: number;
  readonly dynamodbWriteUnitsPerOperation: number;
  readonly dynamodbReadUnitsPerOperation: number;
  /** Every charge of one operation, the HTTP API requests included, per million operations. */
  readonly usdPerMillion: number;
}

/**
 * The inbox's read and change paths through the app API, counted with request accounting: listing
 * a page of 20 (each request), marking one item read (each request, with its event posted to the
 * user's connection), and marking all of `items` unread items read (the whole loop of mark-all
 * calls). The inbox is filled first through the inbox store directly (not counted).
 */
export async function measureInboxOperations(bench: BenchStack, items: number, listCalls: number, markCalls: number): Promise<InboxOperationCost[]> {
  const user = `inbox-${runId()}`;
  const api = bench.endpoints.httpApi;
  if (api === undefined) throw new Error('the bench stack has no app API');
  const buffer = new DynamoEventBuffer(bench.documents, { streamsTable: bench.streamsTable, notificationsTable: bench.tableName });
  const inbox = new InboxService({ retentionDays: 90, freshnessMs: 86_400_000 }, { store: new DynamoInboxStore(bench.documents, { tableName: bench.tableName, streamsTable: bench.streamsTable, buffer }) });
  const now = Date.now();
  for (let i = 0; i < items; i += 1) {
    await inbox.add({ userId: user, notificationId: notificationIdFor('bench-inbox', `${user}-${i}`), notificationType: INBOX_TYPE, payload: { n: i }, createdAt: now - items + i }, now);
  }
  const token = await bench.token(user, 'device-0');
  const device = await BenchClient.connect(bench.endpoints.websocket, token);
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${api}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    if (!response.ok) throw new Error(`inbox bench: ${method} ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as Record<string, unknown>;
  };
  const results: InboxOperationCost[] = [];
  const counted = async (operation: InboxOperationCost['operation'], operations: number, act: () => Promise<number>) => {
    await bench.settle(500);
    await bench.resetMeasurements();
    const httpRequests = await act();
    await bench.settle(500);
    const measured = await bench.measure(operations);
    const perOperation: Record<string, number> = {};
    let writeUnits = 0;
    let readUnits = 0;
    for (const ledger of Object.values(measured.functions)) {
      for (const [op, count] of Object.entries(ledger)) {
        perOperation[op] = (perOperation[op] ?? 0) + count.requests / operations;
        writeUnits += (count.writeUnits + count.indexWriteUnits + count.estimatedWriteUnits) / operations;
        readUnits += count.readUnits / operations;
      }
    }
    const cost = costPerRoute({ ...measured, producer: {}, eventSources: {} });
    results.push({
      operation,
      operations,
      inboxItems: items,
      requestsPerOperation: Object.fromEntries(Object.entries(perOperation).map(([op, n]) => [op, round(n, 3)])),
      httpRequestsPerOperation: round(httpRequests / operations, 3),
      dynamodbWriteUnitsPerOperation: round(writeUnits, 3),
      dynamodbReadUnitsPerOperation: round(readUnits, 3),
      usdPerMillion: round(cost.usdPerMillion + (httpRequests / operations) * PRICES.apiGatewayHttpRequest.usd * 1e6, 3),
    });
  };
  try {
    await counted('list_20', listCalls, async () => {
      for (let i = 0; i < listCalls; i += 1) await call('GET', '/v1/inbox?limit=20');
      return listCalls;
    });
    const page = (await call('GET', `/v1/inbox?limit=${Math.min(100, markCalls)}`))['items'] as { item_id: string }[];
    await counted('mark_one_read', markCalls, async () => {
      for (let i = 0; i < markCalls; i += 1) await call('POST', '/v1/inbox/mark', { action: 'read', item_ids: [page[i % page.length]!.item_id] });
      return markCalls;
    });
    await counted('mark_all_read', 1, async () => {
      let requests = 0;
      let before: number | undefined;
      for (;;) {
        const answer = await call('POST', '/v1/inbox/mark-all', { action: 'read', ...(before !== undefined ? { before } : {}) });
        requests += 1;
        before = answer['before'] as number;
        if (!answer['more']) break;
      }
      return requests;
    });
  } finally {
    await device.close();
  }
  return results;
}

// ── inbox fan-out ────────────────────────────────────────────────────────────────────────────────

/** One intent of an inbox type to many recipients: how long its acceptance takes, and what each recipient costs. */
export interface InboxFanOutResult {
  readonly recipients: number;
  /** From sending the intent to every push route published. */
  readonly secondsToPushed: number;
  /** From sending the intent to its acceptance completed (every recipient has the item). */
  readonly secondsToAccepted: number;
  readonly acceptInvocations: number;
  /** Intake messages the acceptance went on in (accept's SendMessage calls). */
  readonly continuations: number;
  /** Per recipient (`service.Operation`): requests, every function and event source counted. */
  readonly requestsPerRecipient: Record<string, number>;
  readonly dynamodbWriteUnitsPerRecipient: number;
  /** Every per-delivery charge (the push and the item), per million recipients. */
  readonly usdPerMillionRecipients: number;
}

/**
 * Sends one intent of the inbox type to `recipients` users (none connected) and waits until every
 * push route is published and the acceptance is complete, with request accounting on. An offline
 * acceptance this large outruns the accept function's deadline and goes on in new intake messages
 * (docs/inbox.md, large fan-outs): the continuations and invocations are counted.
 */
export async function measureInboxFanOut(bench: BenchStack, recipients: number): Promise<InboxFanOutResult> {
  const run = runId();
  const intent = {
    notification_type: INBOX_TYPE, producer: 'bench', idempotency_key: `inbox-fan-${run}`,
    audience: { kind: 'users', recipients: Array.from({ length: recipients }, (_, r) => ({ user_id: `inbox-fan-${run}-${r}` })) },
    payload: { text: 'to every member of a large group' },
  };
  const notificationId = notificationIdFor('bench', intent.idempotency_key);
  await bench.settle(500);
  await bench.resetMeasurements();
  const before = bench.published;
  const started = performance.now();
  await bench.sendIntentsBatched([intent]);
  const pushed = await bench.waitForPublished(before, recipients, 300_000);
  const deadline = Date.now() + 300_000;
  let accepted: number | undefined;
  while (accepted === undefined) {
    const { Item } = await bench.documents.send(new GetCommand({ TableName: bench.tableName, Key: { pk: `N#${notificationId}`, sk: 'META' }, ConsistentRead: true }));
    if (Item?.['state'] === 'accepted') accepted = performance.now();
    else if (Date.now() > deadline) throw new Error(`the inbox fan-out of ${recipients} was not accepted within 300 s`);
    else await sleep(100);
  }
  await bench.settle(1_000);
  const users = intent.audience.recipients.map((r) => r.user_id);
  const measured = await bench.measure(recipients, { notificationIds: [notificationId], users });
  const cost = costPerRoute(measured);
  const acceptName = Object.keys(measured.functions).find((name) => name.includes('Accept'));
  const acceptLedger = acceptName === undefined ? {} : measured.functions[acceptName]!;
  const acceptUsage = Object.entries(measured.usage).find(([name]) => name.includes('Accept'))?.[1];
  return {
    recipients,
    secondsToPushed: round((pushed - started) / 1000, 2),
    secondsToAccepted: round((accepted - started) / 1000, 2),
    acceptInvocations: acceptUsage?.invocations ?? 0,
    continuations: acceptLedger['sqs.SendMessage']?.requests ?? 0,
    requestsPerRecipient: Object.fromEntries(Object.entries(cost.requestsPerRoute).map(([op, n]) => [op, round(n, 3)])),
    dynamodbWriteUnitsPerRecipient: round(cost.units.dynamodbWriteUnits + cost.units.dynamodbIndexWriteUnits, 3),
    usdPerMillionRecipients: round(cost.usdPerMillion, 3),
  };
}
