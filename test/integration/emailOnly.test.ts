import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoNotificationStore } from '../../functions/adapters/DynamoNotificationStore.ts';
import { DynamoRejectionStore } from '../../functions/adapters/DynamoRejectionStore.ts';
import { DynamoUserStates } from '../../functions/adapters/DynamoUserStates.ts';
import { notificationIdFor } from '../../functions/core/route/identifiers.ts';
import { freeOfflinePorts } from '../../local/freePort.ts';
import { OfflineStack, type OfflineEndpoints } from '../../local/OfflineStack.ts';
import { synthesize } from '../../local/synth.ts';
import { runCommand } from '../runCommand.ts';
import { uid, waitFor } from './support.ts';

// The email-only configuration (config/herald.email-only.json, "push": false) on an offline stack of
// its own: the template has no WebSocket API, so this is also what a LocalStack free plan deploys.
describe('an email-only Herald (push: false) on its own offline stack', () => {
  const assemblyDir = 'cdk.out.email-only';
  let stack: OfflineStack;
  let endpoints: OfflineEndpoints;
  let store: DynamoNotificationStore;
  let rejections: DynamoRejectionStore;
  let users: DynamoUserStates;
  let sqs: SQSClient;
  let bus: EventBridgeClient;
  const scratch = mkdtempSync(join(tmpdir(), 'herald-email-only-'));

  beforeAll(async () => {
    synthesize({ configPath: 'config/herald.email-only.json', outdir: assemblyDir, quiet: true });
    stack = new OfflineStack({
      assemblyDir,
      ports: await freeOfflinePorts(),
      schedules: 'manual',
      logs: '.local/email-only-functions.log',
    });
    endpoints = await stack.start();
    const client = { region: endpoints.region, credentials: endpoints.credentials };
    const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ ...client, endpoint: endpoints.dynamodb }), { marshallOptions: { removeUndefinedValues: true } });
    const tableName = endpoints.outputs['HeraldTableName']!;
    store = new DynamoNotificationStore(documents, { tableName, retentionMs: 86_400_000 });
    rejections = new DynamoRejectionStore(documents, { tableName, retentionMs: 86_400_000 });
    users = new DynamoUserStates(documents, tableName);
    sqs = new SQSClient({ ...client, endpoint: endpoints.sqs });
    bus = new EventBridgeClient({ ...client, endpoint: endpoints.events });
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
    rmSync(scratch, { recursive: true, force: true });
    rmSync(assemblyDir, { recursive: true, force: true });
  });

  const send = (body: unknown) => sqs.send(new SendMessageCommand({ QueueUrl: endpoints.outputs['HeraldIntakeQueueUrl']!, MessageBody: JSON.stringify(body) }));
  const welcome = (user: string, key = uid('key')) => ({
    notification_type: 'welcome', producer: 'tests', idempotency_key: key,
    audience: { kind: 'user', user_id: user, email: `${user}@example.com` }, payload: { name: 'Ada' },
  });
  const mailbox = async (to: string) => {
    const { emails } = (await (await fetch(`${endpoints.sesMailbox}/store`)).json()) as { emails: { destination: { to: string[] }; subject: string }[] };
    return emails.filter((email) => email.destination.to.includes(to));
  };

  it('runs without a WebSocket gateway: no WebSocket endpoint, no push outputs; six functions (the app API serves the unsubscribe links; feedback takes the SES events)', () => {
    expect(endpoints.websocket).toBeUndefined();
    expect(Object.keys(endpoints.outputs).filter((name) => /WebSocket|Connections|Streams|TokenSecret/.test(name))).toEqual([]);
    expect(Object.keys(endpoints.functions)).toHaveLength(6);
    expect(endpoints.httpApi).toBeDefined();
  });

  it('serves the unsubscribe link of each email, and no preferences API (no access tokens without push)', async () => {
    const user = uid('links');
    await send(welcome(user));
    const [email] = await waitFor('the welcome email', async () => ((await mailbox(`${user}@example.com`)).length > 0 ? mailbox(`${user}@example.com`) : undefined));
    const link = (email as unknown as { headers?: { name: string; value: string }[] }).headers?.find((h) => h.name === 'List-Unsubscribe')?.value.slice(1, -1);
    expect(link).toMatch(/\/v1\/unsubscribe\?token=/);
    expect((await fetch(link!)).status).toBe(200);
    expect((await fetch(`${endpoints.httpApi}/v1/preferences`)).status).toBe(404);
  });

  it('accepts an intent and emails it; the route ends published', async () => {
    const user = uid('mail');
    const sent = welcome(user);
    await send(sent);

    const [email] = await waitFor('the welcome email', async () => ((await mailbox(`${user}@example.com`)).length > 0 ? mailbox(`${user}@example.com`) : undefined));
    expect(email!.subject).toBe('Welcome to Herald, Ada');
    const routes = await waitFor('the route published', async () => {
      const listed = await store.listRoutes(notificationIdFor('tests', sent.idempotency_key));
      return listed.every((route) => route.status === 'published') && listed.length > 0 ? listed : undefined;
    });
    expect(routes.map((route) => route.route_id)).toEqual([`email:${user}`]);
  });

  it('applies user.deleted (no streams or sessions to end), then refuses intents for that user', async () => {
    const user = uid('gone');
    await bus.send(new PutEventsCommand({
      Entries: [{
        EventBusName: endpoints.outputs['HeraldEventBusName']!, Source: 'accounts', DetailType: 'herald.lifecycle',
        Detail: JSON.stringify({ event_type: 'user.deleted', user_id: user, occurred_at_ms: Date.now() }),
      }],
    }));
    // Marked applied last, after every step of the deletion.
    await waitFor('the deletion applied', async () => (await users.appliedAt(user, 'user.deleted:*')) !== undefined || undefined);
    expect((await users.deletedAmong([user], Date.now())).has(user)).toBe(true);

    const refused = welcome(user);
    await send(refused);
    const rejection = await waitFor('the rejection', () => rejections.find({ notification_id: notificationIdFor('tests', refused.idempotency_key) }, { days: [Date.now()] }));
    expect(rejection.reason).toBe('recipient_deleted');
  });

  it('answers herald token and herald tail with what is missing, exit 5', async () => {
    const file = join(scratch, 'endpoints.json');
    writeFileSync(file, JSON.stringify(endpoints));
    for (const args of [['token', '--user', 'u-1', '--session', 's-1'], ['tail', 'u-1']]) {
      const result = await runCommand(process.execPath, ['bin/herald-cli.mjs', ...args, '--endpoints', file]);
      expect([result.code, result.stderr.trim()]).toEqual([5, 'herald: this stack has no WebSocket URL output: it is email-only ("push": false), or not a Herald stack']);
    }
  });
});
