import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { DynamoNotificationStore } from '../../functions/adapters/DynamoNotificationStore.ts';
import { mergeLedgers, type RequestLedger } from '../../functions/adapters/requestAccounting.ts';
import { buildRoutes } from '../../functions/core/accept/AcceptIntent.ts';
import { notificationIdFor } from '../../functions/core/route/identifiers.ts';
import { BenchClient } from '../../bench/benchClient.ts';
import { BenchStack, EMAIL_TYPE, PUSH_TYPE } from '../../bench/benchStack.ts';
import { readCloudAssembly, resourcesOfType, type StackTemplate } from '../../local/CloudAssembly.ts';
import { measureCost } from '../../bench/scenarios.ts';
import type { BenchReport } from '../../bench/report.ts';
import { runCommand } from '../runCommand.ts';
import { waitFor } from './support.ts';

/** Requests per `service.Operation`, leaving out the event sources' empty polls. */
function requests(ledger: RequestLedger): Record<string, number> {
  return Object.fromEntries(
    Object.entries(ledger)
      .map(([op, c]) => [op, c.requests - c.emptyReceives] as const)
      .filter(([, n]) => n > 0),
  );
}

const fn = (run: { functions: Record<string, RequestLedger> }, prefix: string) =>
  mergeLedgers(...Object.entries(run.functions).filter(([name]) => name.startsWith(prefix)).map(([, l]) => l));

describe('request accounting (its own offline stack, counting on)', () => {
  let bench: BenchStack;
  beforeAll(async () => {
    bench = await BenchStack.start({ logFile: '.local/bench-test-functions.log' });
  }, 120_000);
  afterAll(async () => {
    await bench?.stop();
  });

  it('counts exactly the requests of one intent, one push route and one connected client', async () => {
    const { run, cost } = await measureCost(bench, 'push_1_device', 1, 1);

    expect(requests(run.producer)).toEqual({ 'sqs.SendMessage': 1 });
    // The intake queue's event source mapping: one receive, one delete. The route queue is not used:
    // accept runs the first push attempt of a small intent itself.
    expect(requests(run.eventSources)).toEqual({ 'sqs.ReceiveMessage': 1, 'sqs.DeleteMessageBatch': 1 });
    // Accept: deleted-user check (BatchGetItem) and the stream head (a Query for the head item and
    // the newest event) side by side, then the notification with its only route in one item (one
    // conditional put; the route created leased, with the next stream position recorded), the append
    // (event put — the head just read serves it, and no head write follows), the user's connections
    // (Query), one post — and nothing more: the stored event shows the route published and the
    // notification accepted (docs/architecture.md, "Derived `published` status").
    expect(requests(fn(run, 'HeraldAccept'))).toEqual({
      'dynamodb.BatchGetItem': 1,
      'dynamodb.PutItem': 2,
      'dynamodb.Query': 2,
      'apigateway.PostToConnection': 1,
    });
    for (const other of ['HeraldDeliver', 'HeraldPushAuthorizer', 'HeraldPushConnection', 'HeraldSweeper', 'HeraldLifecycle']) {
      expect(requests(fn(run, other))).toEqual({});
    }
    const invocations = (prefix: string) => Object.entries(run.usage).filter(([name]) => name.startsWith(prefix)).reduce((n, [, u]) => n + u.invocations, 0);
    expect(invocations('HeraldAccept')).toBe(1);
    expect(invocations('HeraldDeliver')).toBe(0);

    // Write units: notification with its route 1 + event 1, each item under 1 KB. No index writes: a
    // route published by the first attempt at acceptance never gets a due time, so it never enters
    // the sweeper's or the by-user index.
    expect(cost.units.dynamodbWriteUnits).toBe(2);
    expect(cost.units.dynamodbIndexWriteUnits).toBe(0);
    expect(cost.units.apiGatewayMessages).toBe(1);
    expect(cost.units.sqsRequestUnits).toBe(3);
    expect(cost.units.lambdaInvocations).toBe(1);
    // Tracing is off by default (PassThrough: only a sampled upstream request is traced, and the bench's producer is not).
    expect(Object.values(run.usage).every((u) => !u.traced)).toBe(true);
    expect(cost.units.tracedInvocations).toBe(0);
    expect(cost.usdPerMillion).toBeGreaterThan(0);
  }, 60_000);

  it('reads once per email intent at acceptance: the recipient\'s state, preferences and the address\'s suppression entry in one BatchGetItem', async () => {
    const { run } = await measureCost(bench, 'email', 1, 1);
    const reads = Object.fromEntries(Object.entries(requests(fn(run, 'HeraldAccept'))).filter(([op]) => ['dynamodb.BatchGetItem', 'dynamodb.GetItem', 'dynamodb.Query'].includes(op)));
    expect(reads).toEqual({ 'dynamodb.BatchGetItem': 1 });
  }, 60_000);

  it('writes a 1 KiB push in two writes, 3 WRU: its item without the payload, its event with it', async () => {
    const { cost } = await measureCost(bench, 'push_1_device_1kib', 2, 2);

    expect(cost.units.dynamodbWriteRequests).toBe(2);
    expect(cost.units.dynamodbWriteUnits).toBe(3);
    expect(cost.units.dynamodbIndexWriteUnits).toBe(0);
    // What was left stored was read back: the item (30 days) and the event (kept as long: it is the only record of the success).
    expect(cost.units.storedByteDays).toBeGreaterThan((1024 + 200) * 30);
  }, 60_000);

  it('sees every function use only AWS actions its IAM role grants (email, push from accept and from deliver, a resuming client, a sweep, a user deletion, a replay)', async () => {
    // Prepare: a connected, resumed client, and one of a user about to be deleted; the functions' ledgers from here on.
    const run = randomUUID().slice(0, 8);
    await bench.resetMeasurements();
    const client = await BenchClient.connect(bench.endpoints.websocket, await bench.token(`iam-${run}`, 'phone'));
    const leaving = await BenchClient.connect(bench.endpoints.websocket, await bench.token(`iam-${run}-gone`, 'laptop'));
    const replayed = client.next('replay_complete');
    client.send({ action: 'resume', cursor: '' });
    const cursor = String((await replayed).frame['cursor']);
    const before = bench.published;

    // Act: a push the accept function delivers, an email and an 11-recipient push that deliver does.
    const fanOut = Array.from({ length: 11 }, (_, i) => ({ user_id: `iam-${run}-${i}` }));
    await bench.sendIntent({ notification_type: PUSH_TYPE, producer: 'bench', idempotency_key: `${run}-push`, audience: { kind: 'user', user_id: `iam-${run}` }, payload: { n: 1 } });
    await bench.sendIntent({ notification_type: EMAIL_TYPE, producer: 'bench', idempotency_key: `${run}-email`, audience: { kind: 'user', user_id: `iam-${run}`, email: `iam-${run}@bench.example.com` }, payload: { n: 2 } });
    await bench.sendIntent({ notification_type: PUSH_TYPE, producer: 'bench', idempotency_key: `${run}-wide`, audience: { kind: 'users', recipients: fanOut }, payload: { n: 3 } });
    // …and a route whose message was lost 10 minutes ago, which only the sweeper can find.
    const store = new DynamoNotificationStore(bench.documents, { tableName: bench.tableName, retentionMs: 86_400_000, streamsTable: bench.streamsTable });
    const stranded = notificationIdFor('bench', `${run}-stranded`);
    const tenMinutesAgo = Date.now() - 10 * 60_000;
    await store.beginAcceptance(
      { notification_id: stranded, notification_type: PUSH_TYPE, producer: 'bench', idempotency_key: `${run}-stranded`, audience_kind: 'user', payload: { n: 4 }, content_hash: 'stranded', accepted_at: tenMinutesAgo, route_count: 1, state: 'accepting' },
      'bench-acceptance',
      tenMinutesAgo + 1000,
    );
    await store.putRoutes(buildRoutes(stranded, [{ user_id: `iam-${run}` }], ['push'], 3, tenMinutesAgo, 8));
    await bench.stack.fireSchedules();
    await bench.waitForPublished(before, 14, 60_000);
    // …and the deletion of a user with a live session and a route due in 10 minutes (to cancel).
    const pending = notificationIdFor('bench', `${run}-pending`);
    await store.putRoutes(buildRoutes(pending, [{ user_id: `iam-${run}-gone` }], ['push'], 3, Date.now() + 10 * 60_000, 8));
    const events = new EventBridgeClient({ region: bench.endpoints.region, credentials: bench.endpoints.credentials, endpoint: bench.endpoints.events });
    const invalidated = leaving.next('session_invalidated');
    await events.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: bench.endpoints.outputs['HeraldEventBusName'], Source: 'accounts', DetailType: 'herald.lifecycle', Detail: JSON.stringify({ event_type: 'user.deleted', user_id: `iam-${run}-gone`, occurred_at_ms: Date.now() }) }],
      }),
    );
    events.destroy();
    await invalidated;
    await bench.settle();
    expect(await store.getRoute(pending, `push:iam-${run}-gone`)).toMatchObject({ status: 'cancelled' });
    // …and an intent for the deleted user: refused, its notification taken back.
    await bench.sendIntent({ notification_type: PUSH_TYPE, producer: 'bench', idempotency_key: `${run}-refused`, audience: { kind: 'user', user_id: `iam-${run}-gone` }, payload: { n: 5 } });
    await bench.settle();
    expect(await store.getNotification(notificationIdFor('bench', `${run}-refused`))).toBeUndefined();
    await client.close();
    await leaving.close();
    // …and the first client back on another device, replaying its two missed events from the cursor.
    const back = await BenchClient.connect(bench.endpoints.websocket, await bench.token(`iam-${run}`, 'tablet'));
    const replayedAgain = back.next('replay_complete');
    back.send({ action: 'resume', cursor });
    expect((await replayedAgain).frame).toMatchObject({ position: 2 });
    expect(back.frames.filter((f) => f.frame.type === 'events').flatMap((f) => f.frame['events'] as unknown[])).toHaveLength(2);
    await back.close();
    await bench.settle();

    // Assess: each SDK operation a function sent maps to an action its role's policies allow, and
    // for DynamoDB on each table the request named; a transaction needs each item's action
    // (Put, Update, ConditionCheck…) on that item's table.
    const { functions } = await bench.stack.requestLedgers();
    const template = readCloudAssembly('cdk.out.bench').template;
    const granted = grants(template);
    const tableIds = tableLogicalIds(template);
    const used = Object.entries(functions).flatMap(([fnId, ledger]) => Object.entries(ledger).map(([op, count]) => ({ fnId, op, count })));
    expect([...new Set(used.map(({ fnId }) => fnId.replace(/[0-9A-F]{8}$/, '')))]).toEqual(expect.arrayContaining(['HeraldAccept', 'HeraldDeliver', 'HeraldPushConnection', 'HeraldSweeper', 'HeraldLifecycle']));
    expect(used.some(({ fnId, op }) => fnId.startsWith('HeraldAccept') && op === 'dynamodb.DeleteItem')).toBe(true);
    expect(used.filter(({ op }) => op.startsWith('dynamodb.')).every(({ count }) => Object.keys(count.tables ?? {}).length > 0)).toBe(true);
    // No function sends a transaction today; one that did would be checked per item below.
    expect(used.filter(({ op }) => op === 'dynamodb.TransactWriteItems').every(({ count }) => Object.keys(count.transactItems ?? {}).length > 0)).toBe(true);
    const missing = used.flatMap(({ fnId, op, count }) => {
      const needs = op === 'dynamodb.TransactWriteItems'
        ? Object.keys(count.transactItems ?? {}).map((item) => {
            const [action, table] = item.split(' ') as [string, string];
            return { action: `dynamodb:${action}Item`, tables: [table] };
          })
        : [{ action: requiredAction(op), tables: Object.keys(count.tables ?? {}) }];
      return needs.flatMap(({ action, tables }) => {
        const statements = (granted.get(fnId) ?? []).filter((st) => st.actions.includes(action));
        if (tables.length === 0) return statements.length > 0 ? [] : [`${fnId} sent ${op} without ${action}`];
        return tables
          .filter((table) => !statements.some((st) => st.resource.includes(`"${tableIds.get(table)}"`)))
          .map((table) => `${fnId} sent ${op} to ${table} without ${action} on it`);
      });
    });
    expect(missing).toEqual([]);
  }, 90_000);
});

/** The IAM action an SDK operation needs (transactions are checked per item instead). */
function requiredAction(operation: string): string {
  const [service, name] = operation.split('.') as [string, string];
  if (service === 'apigateway') return 'execute-api:ManageConnections';
  if (operation === 'sqs.SendMessageBatch') return 'sqs:SendMessage';
  return `${service}:${name}`;
}

/** Function logical id → the Allow statements (actions, resources as JSON) of every IAM policy on its role. */
function grants(template: StackTemplate): Map<string, { actions: string[]; resource: string }[]> {
  const byRole = new Map<string, { actions: string[]; resource: string }[]>();
  for (const [, policy] of resourcesOfType(template, 'AWS::IAM::Policy')) {
    const props = policy.Properties as { Roles: { Ref: string }[]; PolicyDocument: { Statement: { Effect: string; Action: string | string[]; Resource: unknown }[] } };
    const statements = props.PolicyDocument.Statement.filter((st) => st.Effect === 'Allow').map((st) => ({ actions: [st.Action].flat(), resource: JSON.stringify(st.Resource) }));
    for (const role of props.Roles) byRole.set(role.Ref, [...(byRole.get(role.Ref) ?? []), ...statements]);
  }
  return new Map(
    resourcesOfType(template, 'AWS::Lambda::Function').map(([id, fn]) => {
      const role = (fn.Properties!['Role'] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      return [id, byRole.get(role) ?? []];
    }),
  );
}

/** Table name as the offline stack creates it (its TableName, else its logical id) → logical id. */
function tableLogicalIds(template: StackTemplate): Map<string, string> {
  return new Map(resourcesOfType(template, 'AWS::DynamoDB::Table').map(([id, table]) => [String(table.Properties?.['TableName'] ?? id), id]));
}

describe('npm run bench -- --quick (smoke test: numbers are produced, not judged)', () => {
  it('writes a JSON and a Markdown report with every measurement filled in', () => {
    const out = mkdtempSync(join(tmpdir(), 'herald-bench-'));
    onTestFinished(() => rmSync(out, { recursive: true, force: true }));
    // Reuses the assembly the block above synthesized.
    const result = spawnSync('node_modules/.bin/tsx', ['bench/run.ts', '--quick', '--no-synth', '--out', out, '--name', 'smoke'], { encoding: 'utf8', timeout: 280_000 });
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'smoke.json'), 'utf8')) as BenchReport;
    const positive = (n: number | undefined) => expect(Number.isFinite(n) && n! > 0, String(n)).toBe(true);

    expect(report.cost.map((c) => c.case)).toEqual(['push_1_device', 'push_3_devices', 'email', 'push_1_device_backlog', 'push_1_device_1kib', 'push_1_device_backlog_1kib', 'push_1_device_8kib', 'inbox_1_device']);
    // An inbox notification: the push, and its item added in one transaction (item, counts, event).
    expect(report.cost[7]!.cost.requestsPerRoute['dynamodb.TransactWriteItems']).toBe(1);
    // Inbox operations: each priced, and each mark is one transaction; mark-all of the whole inbox in calls of 50.
    const inbox = Object.fromEntries(report.inbox!.map((o) => [o.operation, o]));
    expect(Object.keys(inbox)).toEqual(['list_20', 'mark_one_read', 'mark_all_read']);
    for (const o of report.inbox!) positive(o.usdPerMillion);
    expect(inbox['mark_one_read']!.requestsPerOperation['dynamodb.TransactWriteItems']).toBe(1);
    // 50 per call; one more call when the last full one could not tell that nothing was left.
    const leftUnread = inbox['mark_all_read']!.inboxItems - inbox['mark_one_read']!.operations;
    expect(inbox['mark_all_read']!.httpRequestsPerOperation).toBeGreaterThanOrEqual(Math.ceil(leftUnread / 50));
    expect(inbox['mark_all_read']!.httpRequestsPerOperation).toBeLessThanOrEqual(Math.ceil(leftUnread / 50) + 1);
    expect(inbox['list_20']!.requestsPerOperation['dynamodb.TransactWriteItems']).toBeUndefined();
    // An inbox notification to many: one transaction per recipient's item, every item added before the acceptance completed.
    const fan = report.inboxFanOut!;
    expect(fan.recipients).toBe(60);
    expect(fan.requestsPerRecipient['dynamodb.TransactWriteItems']).toBeGreaterThanOrEqual(1);
    expect(fan.secondsToAccepted).toBeGreaterThan(0);
    expect(fan.acceptInvocations).toBeGreaterThanOrEqual(fan.continuations + 1);
    positive(fan.usdPerMillionRecipients);
    // A bigger payload costs more write units per route (the items that carry it are billed by size).
    const wru = (kind: string) => report.cost.find((c) => c.case === kind)!.cost.units.dynamodbWriteUnits;
    expect(wru('push_1_device_8kib')).toBeGreaterThan(wru('push_1_device'));
    // A connected device-month is priced from the measured ping.
    positive(report.deviceMonth!.usdPerDeviceMonth);
    for (const c of report.cost) {
      positive(c.cost.usdPerMillion);
      positive(c.cost.units.awsRequests);
      positive(c.cost.units.dynamodbWriteUnits);
      // The provisioned-capacity estimate reprices DynamoDB only, which is cheaper per unit there.
      expect(c.cost.provisioned!.usdPerMillion).toBeLessThan(c.cost.usdPerMillion);
      positive(c.cost.provisioned!.usdPerMillion);
    }
    expect(report.cost[1]!.cost.units.apiGatewayMessages).toBe(3);
    expect(report.cost[2]!.cost.units.sesEmails).toBe(1);
    // The backlog case loads the intake ten intents to a request; the others send one at a time.
    expect(report.cost[3]!.offeredRate).toBe('backlog');
    expect(report.cost[3]!.cost.requestsPerRoute['sqs.SendMessageBatch']).toBe(0.1);
    expect(report.cost[3]!.cost.requestsPerRoute['sqs.SendMessage']).toBeUndefined();
    expect(report.cost[0]!.cost.requestsPerRoute['sqs.SendMessage']).toBe(1);
    expect(report.cost[3]!.cost.units.apiGatewayMessages).toBe(1);
    for (const l of report.latency) {
      expect(l.received).toBe(l.sent);
      positive(l.p50Ms);
      positive(l.p99Ms);
    }
    for (const t of report.throughput) positive(t.routesPerSecond);
    positive(report.ceiling.dynamodbPutItemPerSecond);
    positive(report.ceiling.sqsSendMessagePerSecond);
    expect(report.replay.replayedEvents).toBe(1000);
    positive(report.replay.medianMs);
    // Client messages: a ping costs no request (its budget is in memory); a resume pays its charge.
    const perMessage = Object.fromEntries(report.clientMessages!.map((m) => [m.message, m.requestsPerMessage]));
    expect(Object.keys(perMessage)).toEqual(['connect', 'first_resume', 'second_resume', 'ping']);
    expect(Object.keys(perMessage['ping']!)).toEqual(['apigateway.PostToConnection']);
    expect(perMessage['first_resume']!['dynamodb.UpdateItem']).toBeGreaterThanOrEqual(1);
    expect(perMessage['connect']!['dynamodb.Query']).toBe(1);
    expect(report.bundles.length).toBe(8);
    for (const b of report.bundles) positive(b.medianColdInitMs);
    const markdown = readFileSync(join(out, 'smoke.md'), 'utf8');
    expect(markdown).toContain('$ per million deliveries');
    expect(markdown).toContain('| $ per million, DynamoDB on provisioned capacity (estimate) |');
  }, 300_000);

  it('stops at once, with no report, when DynamoDB Local dies under it', async () => {
    // Prepare: the JVMs already running (the test run's own stack) are not the bench's.
    const out = mkdtempSync(join(tmpdir(), 'herald-bench-'));
    onTestFinished(() => rmSync(out, { recursive: true, force: true }));
    const jvms = async () => (await runCommand('pgrep', ['-f', 'DynamoDBLocal.jar'])).stdout.split('\n').filter(Boolean);
    const others = new Set(await jvms());
    let printed = '';
    const running = runCommand('node_modules/.bin/tsx', ['bench/run.ts', '--quick', '--no-synth', '--out', out, '--name', 'smoke'], {
      timeoutMs: 200_000,
      onStdout: (chunk) => (printed += chunk),
    });
    await waitFor('the bench measuring', async () => printed.includes('bench: bundles and cold init'), 150_000, 250);
    const benchJvms = (await jvms()).filter((pid) => !others.has(pid));
    expect(benchJvms).toHaveLength(1);

    // Act
    await runCommand('kill', ['-KILL', benchJvms[0]!]);

    // Assess
    const result = await running;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('bench: DynamoDB Local exited unexpectedly (signal SIGKILL); no measurement can go on without it; stopped without a report');
    expect(existsSync(join(out, 'smoke.json'))).toBe(false);
  }, 220_000);
});
