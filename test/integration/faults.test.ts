import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { readFileSync, statSync } from 'node:fs';
import { inject, afterEach, describe, expect, it } from 'vitest';
import { notificationIdFor } from '../../functions/core/route/identifiers.ts';
import type { RouteRecord } from '../../functions/core/types.ts';
import {
  addFault,
  clearFaults,
  documents,
  endpoints,
  functionLogLines,
  intent,
  mailbox,
  outputs,
  sendIntent,
  store,
  uid,
  waitFor,
} from './support.ts';
import { RawClient } from './wsClient.ts';

// Faults as AWS has them (docs/fault-model.md), injected by the offline stack's fault proxies:
// writes that succeed but answer an error, functions that die mid-invocation, SQS duplicates.
// The test stack's accept and deliver functions time out at 10 s, their queues' visibility
// timeout is 30 s and their leases 20 s: a crash is recovered within about half a minute.

const SERVICES = ['dynamodb', 'sqs', 'ses', 'events', 'connections'] as const;

afterEach(async () => {
  await Promise.all(SERVICES.map((s) => clearFaults(s)));
});

async function routesOf(notificationId: string): Promise<RouteRecord[]> {
  return store.listRoutes(notificationId);
}

async function publishedWithin(notificationId: string, timeoutMs: number): Promise<RouteRecord[]> {
  return waitFor(
    `every route of ${notificationId} published`,
    async () => {
      const routes = await routesOf(notificationId);
      const notification = await store.getNotification(notificationId);
      return notification?.state === 'accepted' && routes.length > 0 && routes.every((r) => r.status === 'published') && routes;
    },
    timeoutMs,
  );
}

/** The user's stored stream events (positions and the notifications they carry). */
async function streamEvents(userId: string): Promise<{ position: number; notification_id: string }[]> {
  const { Items = [] } = await documents.send(new QueryCommand({
    TableName: outputs.streamsTableName,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :e)',
    ExpressionAttributeValues: { ':pk': `S#${userId}`, ':e': 'E#' },
    ConsistentRead: true,
  }));
  return Items.map((i) => ({ position: Number(i['position']), notification_id: String(i['notification_id']) }));
}

/** Asserts that a fault rule was injected exactly `times` (a rule that never matched proves nothing). */
async function expectInjected(service: (typeof SERVICES)[number], rule: { id: string }, times = 1): Promise<void> {
  const rules = (await (await fetch(`${endpoints.admin}/faults/${service}`)).json()) as { id: string; hits: number }[];
  expect(rules.find((r) => r.id === rule.id)?.hits, `${service} fault injected`).toBe(times);
}

/** The intake summary lines' entries for a notification: how each delivery of its message ended. */
function intakeOutcomes(notificationId: string): string[] {
  return functionLogLines(notificationId)
    .filter((l) => l['message'] === 'intake batch')
    .flatMap((l) => ['accepted', 'duplicate', 'redelivered'].flatMap((kind) => (Array.isArray(l[kind]) ? (l[kind] as string[]) : []).filter((id) => id === notificationId).map(() => kind)));
}

describe('chaos mode: fault rules through the admin API', () => {
  it('matches rules by operation, caller, resource and body, rolls their rate, counts what it saw and injected, and deletes one rule', async () => {
    // Arrange: a rule that never fires (rate 0) still counts what its selectors matched.
    const never = await addFault('dynamodb', { operation: 'PutItem', caller: 'Accept', rate: 0, effect: 'error' });
    const user = uid('u-sel');
    const key = uid('key');
    const email = await addFault('ses', { operation: 'SendEmail', caller: 'Deliver', match: [user, 'Receipt'], times: 2, status: 429, errorType: 'TooManyRequestsException' });

    // Act
    await sendIntent({ notification_type: 'receipt', producer: 'tests', idempotency_key: key, audience: { kind: 'user', user_id: user, email: `${user}@example.com` }, payload: { order: { id: 'o-1', total: '1 €' } } });
    await publishedWithin(notificationIdFor('tests', key), 20_000);

    // Assert
    const dynamo = (await (await fetch(`${endpoints.admin}/faults/dynamodb`)).json()) as { id: string; seen: number; hits: number }[];
    expect(dynamo.find((r) => r.id === never.id)).toMatchObject({ hits: 0 });
    expect(dynamo.find((r) => r.id === never.id)!.seen).toBeGreaterThanOrEqual(1);
    const ses = (await (await fetch(`${endpoints.admin}/faults/ses`)).json()) as { id: string; seen: number; hits: number }[];
    expect(ses.find((r) => r.id === email.id)).toMatchObject({ hits: 2 });
    const removed = await fetch(`${endpoints.admin}/faults/dynamodb/${never.id}`, { method: 'DELETE' });
    expect(removed.status).toBe(204);
    expect(((await (await fetch(`${endpoints.admin}/faults/dynamodb`)).json()) as unknown[]).length).toBe(0);
    expect((await fetch(`${endpoints.admin}/faults/dynamodb/${never.id}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('refuses a rule it cannot apply with the reason, and an unknown profile', async () => {
    const bad = await fetch(`${endpoints.admin}/faults/sqs`, { method: 'POST', body: JSON.stringify({ rate: 2 }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'fault rule "rate" must be a number from 0 to 1' });
    const effect = await fetch(`${endpoints.admin}/faults/sqs`, { method: 'POST', body: JSON.stringify({ effect: 'explode' }) });
    expect(((await effect.json()) as { error: string }).error).toMatch(/^fault rule "effect" must be one of error, latency, ambiguous/);
    const profile = await fetch(`${endpoints.admin}/chaos`, { method: 'POST', body: JSON.stringify({ profile: 'apocalypse' }) });
    expect(profile.status).toBe(400);
    expect(((await profile.json()) as { error: string }).error).toBe('no chaos profile "apocalypse"; profiles: light, ambiguous, heavy');
  });

  it('starts a named profile on every proxy, reports requests and faults per service, and stops it', async () => {
    const started = await fetch(`${endpoints.admin}/chaos`, { method: 'POST', body: JSON.stringify({ profile: 'light', seed: 7 }) });
    expect(started.status).toBe(201);
    expect(await started.json()).toMatchObject({ profile: 'light', seed: 7 });
    const keys = Array.from({ length: 20 }, () => uid('key'));
    await Promise.all(keys.map((key) => sendIntent({ notification_type: 'ping', producer: 'tests', idempotency_key: key, audience: { kind: 'user', user_id: uid('u-light') }, payload: {} })));
    await Promise.all(keys.map((key) => publishedWithin(notificationIdFor('tests', key), 30_000)));
    const report = (await (await fetch(`${endpoints.admin}/chaos`)).json()) as { profile: string; services: Record<string, { operations: Record<string, { requests: number }>; rules: unknown[] }> };
    expect(report.profile).toBe('light');
    expect(report.services['dynamodb']!.operations['PutItem']!.requests).toBeGreaterThanOrEqual(20);
    expect(report.services['dynamodb']!.rules.length).toBeGreaterThan(0);
    expect((await fetch(`${endpoints.admin}/chaos`, { method: 'DELETE' })).status).toBe(204);
    const after = (await (await fetch(`${endpoints.admin}/chaos`)).json()) as typeof report;
    expect(Object.values(after.services).every((s) => s.rules.length === 0)).toBe(true);
  });
});

describe('an ambiguous write (applied, then answered with an error): no duplicate, no stuck route', () => {
  it('the route lease: the retried lease finds its own token and the attempt goes on (one attempt, one email)', async () => {
    const user = uid('u-lease');
    const fault = await addFault('dynamodb', { operation: 'UpdateItem', caller: 'Deliver', match: [user, 'attempts = attempts + :one'], effect: 'ambiguous', times: 1 });
    const message = intent('receipt', { user_id: user, email: `${user}@example.com` }, { order: { id: 'o-2', total: '2 €' } });
    await sendIntent(message);
    const [route] = await publishedWithin(notificationIdFor('tests', message.idempotency_key), 10_000);
    await expectInjected('dynamodb', fault);
    expect(route!.attempts).toBe(1);
    expect(await mailbox(`${user}@example.com`)).toHaveLength(1);
  });

  it('the event append (the position recorded on the route, and the event itself): one attempt, one event, one frame', async () => {
    // More push routes than accept attempts itself: every route goes through deliver's append.
    const users = Array.from({ length: 11 }, () => ({ user_id: uid('u-append') }));
    const watched = users[0]!.user_id;
    const client = await RawClient.as(watched, 'phone');
    client.send({ action: 'resume', cursor: '' });
    await client.waitFor('replay_complete', () => client.frames.some((f) => f.type === 'replay_complete'));
    const reserve = await addFault('dynamodb', { operation: 'UpdateItem', match: [watched, 'stream_position = :position'], effect: 'ambiguous', times: 1 });
    const claim = await addFault('dynamodb', { operation: 'PutItem', resource: outputs.streamsTableName, match: [watched, 'event_id'], effect: 'ambiguous', times: 1 });
    const key = uid('key');
    await sendIntent({ notification_type: 'chat.message', producer: 'tests', idempotency_key: key, audience: { kind: 'users', recipients: users }, payload: { text: 'hi' } });
    const routes = await publishedWithin(notificationIdFor('tests', key), 15_000);
    await expectInjected('dynamodb', reserve);
    await expectInjected('dynamodb', claim);
    expect(routes.find((r) => r.user_id === watched)!.attempts).toBe(1);
    expect((await streamEvents(watched)).filter((e) => e.notification_id === notificationIdFor('tests', key))).toHaveLength(1);
    await client.waitFor('the event', () => client.events().length >= 1);
    await new Promise((r) => setTimeout(r, 500));
    expect(client.events()).toHaveLength(1);
    client.socket.close();
  });

  it("the completion of a failed attempt: the retry is still scheduled (not left to the sweeper's two minutes)", async () => {
    const user = uid('u-done');
    // SES refuses twice (the SDK's two attempts): the attempt fails, and its completion answers an error.
    const message = intent('receipt', { user_id: user, email: `${user}@example.com` }, { order: { id: 'o-3', total: '3 €' } });
    const id = notificationIdFor('tests', message.idempotency_key);
    await addFault('ses', { operation: 'SendEmail', match: user, times: 2, status: 429, errorType: 'TooManyRequestsException' });
    const fault = await addFault('dynamodb', { operation: 'UpdateItem', caller: 'Deliver', match: [id, 'last_failure_classification = :class'], effect: 'ambiguous', times: 1 });
    await sendIntent(message);
    const [route] = await publishedWithin(id, 15_000);
    await expectInjected('dynamodb', fault);
    expect(route!.attempts).toBe(2);
    expect(await mailbox(`${user}@example.com`)).toHaveLength(1);
  });

  it('the completion of a published attempt: published once, mailed once', async () => {
    const user = uid('u-pub');
    const message = intent('receipt', { user_id: user, email: `${user}@example.com` }, { order: { id: 'o-4', total: '4 €' } });
    const id = notificationIdFor('tests', message.idempotency_key);
    const fault = await addFault('dynamodb', { operation: 'UpdateItem', caller: 'Deliver', match: [id, 'published_at = :now'], effect: 'ambiguous', times: 1 });
    await sendIntent(message);
    const [route] = await publishedWithin(id, 10_000);
    await expectInjected('dynamodb', fault);
    expect(route!.attempts).toBe(1);
    expect(await mailbox(`${user}@example.com`)).toHaveLength(1);
  });

  it('the notification and the acceptance: accepted within seconds, counted once as accepted', async () => {
    const begin = intent('receipt', { user_id: uid('u-begin'), email: 'begin@example.com' }, { order: { id: 'o-5', total: '5 €' } });
    const complete = intent('receipt', { user_id: uid('u-complete'), email: 'complete@example.com' }, { order: { id: 'o-6', total: '6 €' } });
    const beginFault = await addFault('dynamodb', { operation: 'PutItem', caller: 'Accept', match: [begin.idempotency_key, 'accept_lease_token'], effect: 'ambiguous', times: 1 });
    const completeFault = await addFault('dynamodb', { operation: 'UpdateItem', caller: 'Accept', match: [notificationIdFor('tests', complete.idempotency_key), 'accepted_complete_at = :now'], effect: 'ambiguous', times: 1 });
    const sentAt = Date.now();
    await Promise.all([sendIntent(begin), sendIntent(complete)]);
    for (const message of [begin, complete]) {
      const id = notificationIdFor('tests', message.idempotency_key);
      await publishedWithin(id, 10_000);
      await waitFor(`the intake summary of ${id}`, async () => intakeOutcomes(id).length > 0);
      expect(intakeOutcomes(id)).toEqual(['accepted']);
    }
    expect(Date.now() - sentAt).toBeLessThan(10_000);
    await expectInjected('dynamodb', beginFault);
    await expectInjected('dynamodb', completeFault);
  });

  it('the rejection record: recorded once, counted once', async () => {
    const marker = uid('bad');
    const fault = await addFault('dynamodb', { operation: 'PutItem', caller: 'Accept', match: [marker, 'raw_body'], effect: 'ambiguous', times: 1 });
    const messageId = await sendIntent(`{"notification_type": "${marker}`);
    const lines = await waitFor('the rejection', async () => {
      const found = functionLogLines(messageId).filter((l) => l['message'] === 'intent rejected');
      return found.length > 0 && found;
    });
    await new Promise((r) => setTimeout(r, 1_000));
    await expectInjected('dynamodb', fault);
    expect(lines).toHaveLength(1);
    const { Items = [] } = await documents.send(new QueryCommand({
      TableName: outputs.tableName,
      KeyConditionExpression: 'pk = :pk',
      FilterExpression: 'source_id = :id',
      ExpressionAttributeValues: { ':pk': `REJ#${new Date().toISOString().slice(0, 10)}`, ':id': messageId },
    }));
    expect(Items).toHaveLength(1);
  });
});

describe('a function that dies mid-invocation recovers: each step of accept and deliver', () => {
  it('crashes before and after each write of an acceptance and of an email delivery, and each intent still ends published, mailed, stored once', async () => {
    // `mailed`: a delivery that dies after SES accepted the email and before the route recorded it
    // sends it again — email is at-least-once there, as DESIGN says (docs/fault-model.md).
    type Step = { name: string; mailed?: 'at least once'; service: (typeof SERVICES)[number]; rule: (m: ReturnType<typeof intent>, id: string, user: string) => Parameters<typeof addFault>[1] };
    const steps: Step[] = [
      { name: 'accept: before the notification write', service: 'dynamodb', rule: (m) => ({ operation: 'PutItem', caller: 'Accept', match: [m.idempotency_key, 'accept_lease_token'], effect: 'crash', times: 1 }) },
      { name: 'accept: after the notification write', service: 'dynamodb', rule: (m) => ({ operation: 'PutItem', caller: 'Accept', match: [m.idempotency_key, 'accept_lease_token'], effect: 'crash_after', times: 1 }) },
      { name: 'accept: after the route messages', service: 'sqs', rule: (_m, id) => ({ operation: 'SendMessageBatch', caller: 'Accept', match: id, effect: 'crash_after', times: 1 }) },
      { name: 'accept: after the completion', service: 'dynamodb', rule: (_m, id) => ({ operation: 'UpdateItem', caller: 'Accept', match: [id, 'accepted_complete_at'], effect: 'crash_after', times: 1 }) },
      { name: 'deliver: after the lease', service: 'dynamodb', rule: (_m, _id, user) => ({ operation: 'UpdateItem', caller: 'Deliver', match: [user, 'attempts = attempts + :one'], effect: 'crash_after', times: 1 }) },
      { name: 'deliver: before SES', service: 'ses', rule: (_m, _id, user) => ({ operation: 'SendEmail', caller: 'Deliver', match: user, effect: 'crash', times: 1 }) },
      { name: 'deliver: after the completion', service: 'dynamodb', rule: (_m, id) => ({ operation: 'UpdateItem', caller: 'Deliver', match: [id, 'published_at = :now'], effect: 'crash_after', times: 1 }) },
      { name: 'deliver: timed out at the completion', mailed: 'at least once', service: 'dynamodb', rule: (_m, id) => ({ operation: 'UpdateItem', caller: 'Deliver', match: [id, 'published_at = :now'], effect: 'timeout', times: 1 }) },
    ];
    const cases = await Promise.all(steps.map(async (step) => {
      const user = uid('u-crash');
      const message = intent('receipt', { user_id: user, email: `${user}@example.com` }, { order: { id: step.name, total: '1 €' } });
      const id = notificationIdFor('tests', message.idempotency_key);
      const rule = await addFault(step.service, step.rule(message, id, user));
      return { step, user, message, id, rule };
    }));
    // One at a time: a crash ends every intent of its batch, and a case batched with another's
    // crash would recover without ever reaching its own step.
    for (const { message } of cases) {
      await sendIntent(message);
      await new Promise((r) => setTimeout(r, 700));
    }

    for (const { step, user, id, rule, message } of cases) {
      const [route] = await publishedWithin(id, 90_000).catch((error: Error) => {
        throw new Error(`${step.name}: ${error.message}`);
      });
      const faults = (await (await fetch(`${endpoints.admin}/faults/${step.service}`)).json()) as { id: string; hits: number }[];
      expect(faults.find((f) => f.id === rule.id)?.hits, `${step.name}: the fault was injected`).toBe(1);
      expect(route!.status, step.name).toBe('published');
      const mails = (await mailbox(`${user}@example.com`)).length;
      if (step.mailed === 'at least once') expect(mails, `${step.name}: mailed`).toBeGreaterThanOrEqual(1);
      else expect(mails, `${step.name}: mailed once`).toBe(1);
      expect((await store.getNotification(id))?.idempotency_key, step.name).toBe(message.idempotency_key);
    }
    const stats = (await (await fetch(`${endpoints.admin}/functions`)).json()) as Record<string, { errors: number }>;
    expect(Object.entries(stats).filter(([name]) => /Accept|Deliver/.test(name)).reduce((n, [, s]) => n + s.errors, 0)).toBeGreaterThanOrEqual(steps.length);
  }, 150_000);

  it('crashes a first push attempt after its event is stored and after it is posted: one event, delivered once', async () => {
    const users = [uid('u-push-a'), uid('u-push-b')];
    const clients = await Promise.all(users.map(async (user) => {
      const client = await RawClient.as(user, 'phone');
      client.send({ action: 'resume', cursor: '' });
      await client.waitFor('replay_complete', () => client.frames.some((f) => f.type === 'replay_complete'));
      return client;
    }));
    await addFault('dynamodb', { operation: 'PutItem', resource: outputs.streamsTableName, caller: 'Accept', match: [users[0]!, 'event_id'], effect: 'crash_after', times: 1 });
    await addFault('connections', { operation: 'PostToConnection', caller: 'Accept', match: users[1]!, effect: 'crash_after', times: 1 });
    const messages = users.map((user) => intent('chat.message', { user_id: user }, { text: `for ${user}` }));
    await Promise.all(messages.map((m) => sendIntent(m)));
    for (const [i, message] of messages.entries()) {
      const id = notificationIdFor('tests', message.idempotency_key);
      await publishedWithin(id, 90_000);
      expect((await streamEvents(users[i]!)).filter((e) => e.notification_id === id)).toHaveLength(1);
      const client = clients[i]!;
      await client.waitFor('the event', () => client.events().length >= 1, 60_000);
      // A frame posted twice carries the same position: a client drops the second (docs/push.md).
      expect(new Set(client.events().map((e) => e['position'])).size).toBe(1);
      client.socket.close();
    }
  }, 150_000);
});

describe('metrics against ground truth after a faulty run', () => {
  it('counts every accepted intent, route and rejection once under ambiguous writes, dropped answers and duplicate SQS deliveries', async () => {
    const log = inject('functionLog');
    const from = statSync(log).size;
    await addFault('dynamodb', { caller: 'Accept', operation: 'PutItem', rate: 0.15, effect: 'ambiguous' });
    await addFault('dynamodb', { caller: 'Accept', operation: 'UpdateItem', rate: 0.15, effect: 'ambiguous' });
    await addFault('dynamodb', { caller: 'Accept', operation: 'BatchWriteItem', rate: 0.1, effect: 'drop' });
    await addFault('sqs', { caller: 'event-source-mapping', operation: 'ReceiveMessage', rate: 0.3, effect: 'duplicate' });
    await addFault('sqs', { caller: 'event-source-mapping', operation: 'DeleteMessageBatch', rate: 0.1, status: 500, errorType: 'InternalError' });
    const accepted = Array.from({ length: 40 }, (_, i) =>
      i % 4 === 0
        ? intent('receipt', { user_id: uid('u-m'), email: 'metrics@example.com' }, { order: { id: `m-${i}`, total: '1 €' } })
        : { notification_type: 'chat.message', producer: 'tests', idempotency_key: uid('key'), audience: { kind: 'users', recipients: [{ user_id: uid('u-m') }, { user_id: uid('u-m') }] }, payload: { i } },
    );
    const invalid = Array.from({ length: 8 }, (_, i) => `{"broken": ${i}`);
    await Promise.all([...accepted.map((m) => sendIntent(m)), ...invalid.map((m) => sendIntent(m))]);
    for (const message of accepted) await publishedWithin(notificationIdFor('tests', message.idempotency_key), 60_000);
    // Messages whose delete failed come back after the visibility timeout (30 s): wait them out.
    await new Promise((r) => setTimeout(r, 32_000));
    await Promise.all(SERVICES.map((s) => clearFaults(s)));
    await new Promise((r) => setTimeout(r, 3_000));

    const sums = new Map<string, number>();
    const ids = new Set(accepted.map((m) => notificationIdFor('tests', m.idempotency_key)));
    const outcomes: string[] = [];
    for (const line of readFileSync(log).subarray(from).toString('utf8').split('\n')) {
      if (!line.startsWith('[HeraldAccept') || !line.includes('{')) continue;
      const blob = JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>;
      if (blob['message'] === 'intake batch') {
        for (const kind of ['accepted', 'duplicate', 'redelivered']) {
          const listed = blob[kind];
          if (Array.isArray(listed)) for (const id of listed as string[]) if (ids.has(id)) outcomes.push(`${kind} ${id}`);
        }
      }
      if (!('_aws' in blob)) continue;
      for (const name of ['IntentsAccepted', 'RoutesCreated', 'IntentsRejectedTotal']) if (typeof blob[name] === 'number') sums.set(name, (sums.get(name) ?? 0) + (blob[name] as number));
    }
    expect(outcomes.filter((o) => o.startsWith('accepted')).length, outcomes.join('\n')).toBe(accepted.length);
    const routes = accepted.reduce((n, m) => n + (m.notification_type === 'receipt' ? 1 : 2), 0);
    expect(Object.fromEntries(sums)).toEqual({ IntentsAccepted: accepted.length, RoutesCreated: routes, IntentsRejectedTotal: invalid.length });
  }, 150_000);
});
