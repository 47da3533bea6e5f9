import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DYNAMODB_MAX_ATTEMPTS } from '../../functions/adapters/awsClients.ts';
import { SesEmailSender } from '../../functions/adapters/SesEmailSender.ts';
import type { Catalog } from '../../functions/core/catalog/catalogTypes.ts';
import { DeliverRoute } from '../../functions/core/deliver/DeliverRoute.ts';
import { EmailDispatcher } from '../../functions/core/deliver/EmailDispatcher.ts';
import { notificationIdFor } from '../../functions/core/route/identifiers.ts';
import { deliveryMessageFor, systemClock } from '../../functions/core/types.ts';
import { streamPk } from '../../functions/adapters/DynamoEventBuffer.ts';
import {
  addFault,
  clearFaults,
  eventBuffer,
  faults,
  fireSweeper,
  functionLogLines,
  intent,
  mailbox,
  outputs,
  seedNotification,
  sendDeliveryMessage,
  sendIntent,
  ses,
  sqs,
  store,
  uid,
  waitFor,
} from './support.ts';
import { closeAllClients, connectAs } from './wsClient.ts';

const catalog = (JSON.parse(readFileSync('test/fixtures/herald.test.json', 'utf8')) as { catalog: Catalog }).catalog;
const TEN_MINUTES_AGO = () => Date.now() - 10 * 60_000;
/** A single route lives in an item of its own, or (a small notification) in the notification's. */
const ROUTE_LAYOUTS = [
  { where: 'in an item of its own', storedWithNotification: false },
  { where: "in the notification's item", storedWithNotification: true },
];

async function routeWhere(id: string, routeId: string, done: (status: string) => boolean, timeoutMs = 30_000) {
  return waitFor(`route ${routeId} to settle`, async () => {
    const route = await store.getRoute(id, routeId);
    return route && done(route.status) ? route : undefined;
  }, timeoutMs);
}

afterEach(async () => {
  await clearFaults('ses');
  await clearFaults('dynamodb');
  await closeAllClients();
});

describe('retries and dead letters', () => {
  it('retries a failing SES send with growing backoff, then dead-letters the route with its classification', async () => {
    // Prepare: SES refuses every send to this recipient (400, which the SDK itself does not retry).
    const email = `${uid('down')}@example.com`;
    const fault = await addFault('ses', { match: email, status: 400, errorType: 'SendingPausedException', message: 'sending paused' });
    const sent = intent('flaky', { user_id: uid('user'), email }, { n: 1 });

    // Act
    await sendIntent(sent);

    // Assess: flaky allows 4 attempts; backoff 1 s doubling to 4 s with ±20 % jitter.
    const id = notificationIdFor('tests', sent.idempotency_key);
    const route = await routeWhere(id, `email:${sent.audience.user_id}`, (s) => s === 'dead_letter', 60_000);
    expect(route).toMatchObject({ attempts: 4, max_attempts: 4, last_failure_classification: 'email_send_failed' });
    expect(route.last_failure_message).toContain('SendingPausedException');
    const [state] = (await faults('ses')).filter((f) => f.id === fault.id);
    expect(state!.hits).toBe(4);
    const gaps = state!.hitAt.slice(1).map((t, i) => t - state!.hitAt[i]!);
    // Each wait is at least the schedule's lower bound (1 s, 2 s, 4 s − 20 % jitter). SQS visibility
    // has whole-second granularity, so neighbouring waits can round to the same second; the
    // schedule still grows from first to last.
    expect(gaps[0]).toBeGreaterThanOrEqual(800);
    expect(gaps[1]).toBeGreaterThanOrEqual(1_600);
    expect(gaps[2]).toBeGreaterThanOrEqual(3_200);
    expect(gaps[2]).toBeGreaterThan(gaps[0]! + 1_000);
    expect(await mailbox(email)).toHaveLength(0);
  });

  it('recovers when SES comes back before the attempts run out: published, one email', async () => {
    const email = `${uid('blip')}@example.com`;
    await addFault('ses', { match: email, status: 500, errorType: 'InternalFailure', times: 2 });
    const sent = intent('flaky', { user_id: uid('user'), email }, { n: 2 });

    await sendIntent(sent);

    const id = notificationIdFor('tests', sent.idempotency_key);
    const route = await routeWhere(id, `email:${sent.audience.user_id}`, (s) => s === 'published', 60_000);
    // The SDK retries a 500 once itself, so two injected failures cost one route attempt.
    expect(route.attempts).toBeGreaterThanOrEqual(2);
    expect(route.last_failure_classification).toBe('email_send_failed');
    expect(await mailbox(email)).toHaveLength(1);
  });
});

describe('a transient failure during acceptance', () => {
  it('delays the intent by seconds (a short backoff), not the intake queue\'s 6-minute visibility timeout', async () => {
    // Prepare: every attempt of the SDK at the intent's first write fails (500), once.
    const sent = intent('ping', { user_id: uid('blip') }, { n: 1 });
    const fault = await addFault('dynamodb', { match: sent.idempotency_key, status: 500, errorType: 'InternalServerError', times: DYNAMODB_MAX_ATTEMPTS });

    // Act
    const messageId = await sendIntent(sent);

    // Assess: the acceptance failed once, came back after about a second, and the push was published.
    const id = notificationIdFor('tests', sent.idempotency_key);
    await routeWhere(id, `push:${sent.audience.user_id}`, (status) => status === 'published', 30_000);
    expect((await faults('dynamodb')).find((f) => f.id === fault.id)!.hits).toBe(DYNAMODB_MAX_ATTEMPTS);
    const failed = functionLogLines(messageId).filter((l) => l['message'] === 'intent acceptance failed; will be retried');
    expect(failed).toHaveLength(1);
    expect(failed[0]!['retry_in_ms']).toBeGreaterThanOrEqual(800);
    expect(failed[0]!['retry_in_ms']).toBeLessThanOrEqual(1_200);
  });

  it('fails only the intent whose own request fails when intents of one batch share a call', async () => {
    // Prepare: ten intents sent together share their deleted-user check (one BatchGetItem);
    // one recipient's check fails every time, and the shared call fails once.
    const users = Array.from({ length: 10 }, () => uid('shared'));
    const intents = users.map((user) => intent('ping', { user_id: user }, { n: 1 }));
    await addFault('dynamodb', { match: users[3]!, status: 400, errorType: 'ValidationException', message: 'poisoned for this test' });

    // Act: one SendMessageBatch, so the event source hands them to one invocation together.
    const { Successful = [] } = await sqs.send(new SendMessageBatchCommand({ QueueUrl: outputs.intakeQueueUrl, Entries: intents.map((i, n) => ({ Id: String(n), MessageBody: JSON.stringify(i) })) }));

    // Assess: the nine others are published at their first acceptance; the one is being retried.
    for (const [i, sent] of intents.entries()) {
      if (i === 3) continue;
      await routeWhere(notificationIdFor('tests', sent.idempotency_key), `push:${users[i]}`, (status) => status === 'published', 30_000);
      const messageId = Successful.find((entry) => entry.Id === String(i))!.MessageId!;
      expect(functionLogLines(messageId).filter((l) => l['message'] === 'intent acceptance failed; will be retried')).toEqual([]);
    }
    expect(await store.getNotification(notificationIdFor('tests', intents[3]!.idempotency_key))).toBeUndefined();
  });
});

describe('throttled DynamoDB writes (provisioned capacity used up)', () => {
  it("retries a push whose event write stays throttled past the SDK's own retries: published once, one event, one frame", async () => {
    // Prepare: the event's PutItem into this user's stream is refused with DynamoDB's throttling
    // error four times: the SDK's three attempts in the first push attempt (in accept), then once more.
    const user = uid('throttled');
    const client = await connectAs(user, 'phone');
    const fault = await addFault('dynamodb', {
      match: `{"pk":{"S":"${streamPk(user)}"},"sk":{"S":"E#`,
      status: 400,
      errorType: 'ProvisionedThroughputExceededException',
      message: 'injected: the table exceeded its provisioned throughput',
      times: 4,
    });
    const sent = intent('chat.message', { user_id: user }, { text: 'throttled' });

    // Act
    await sendIntent(sent);

    // Assess: a failed attempt with the throttle as its reason, then deliver published it after the backoff.
    const id = notificationIdFor('tests', sent.idempotency_key);
    const route = await routeWhere(id, `push:${user}`, (s) => s === 'published', 60_000);
    expect(route).toMatchObject({ attempts: 2, stream_position: 1, last_failure_classification: 'push_buffer_write_failed' });
    expect(route.last_failure_message).toContain('exceeded its provisioned throughput');
    expect((await faults('dynamodb')).find((f) => f.id === fault.id)!.hits).toBe(4);
    expect((await eventBuffer.readAfter(user, 0, 10, Date.now())).map((e) => e.notification_id)).toEqual([id]);
    expect(await client.waitForFrame('event')).toMatchObject({ notification_id: id, position: 1 });
    await new Promise((r) => setTimeout(r, 500));
    expect(client.events()).toHaveLength(1);
  });
});

describe.each(ROUTE_LAYOUTS)('leases (the route $where)', ({ storedWithNotification }) => {
  function deliverer() {
    return new DeliverRoute(
      { retryPolicy: { minMs: 1000, maxMs: 4000, jitter: 0.2, maxAttempts: 3 }, leaseMs: 30_000 },
      {
        store,
        dispatchers: {
          email: new EmailDispatcher(catalog, new SesEmailSender(ses, { from: 'herald@test.example.com' })),
          push: { dispatch: () => Promise.reject(new Error('these tests deliver email routes only')) },
        },
        clock: systemClock,
      },
    );
  }

  it('lets exactly one of three racing deliverers send: one email, one attempt', async () => {
    // Prepare: a route with no queue message, so only the two racers below can touch it.
    const email = `${uid('race')}@example.com`;
    const { id, routes } = await seedNotification({ storedWithNotification, type: 'receipt', recipients: [{ user_id: uid('user'), email }], payload: { order: { id: 'R', total: '1' } }, channels: ['email'], maxAttempts: 3 });
    const message = deliveryMessageFor(routes[0]!);

    // Act
    const decisions = await Promise.all([deliverer().handle(message), deliverer().handle(message), deliverer().handle(message)]);

    // Assess
    expect(decisions.filter((d) => d.kind === 'done' && d.reason === 'published')).toHaveLength(1);
    expect(decisions.filter((d) => d.kind === 'retry_after' && d.reason === 'leased_elsewhere')).toHaveLength(2);
    expect(await mailbox(email)).toHaveLength(1);
    expect(await store.getRoute(id, routes[0]!.route_id)).toMatchObject({ status: 'published', attempts: 1 });
  });

  it('sends once when SQS delivers the same route message many times', async () => {
    const email = `${uid('dupmsg')}@example.com`;
    const { id, routes } = await seedNotification({ storedWithNotification, type: 'receipt', recipients: [{ user_id: uid('user'), email }], payload: { order: { id: 'S', total: '2' } }, channels: ['email'], maxAttempts: 3 });

    await Promise.all(Array.from({ length: 6 }, () => sendDeliveryMessage(routes[0]!)));

    const route = await routeWhere(id, routes[0]!.route_id, (s) => s === 'published');
    expect(route.attempts).toBe(1);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await mailbox(email)).toHaveLength(1);
  });

  it('counts the attempt of a deliverer that crashed after leasing, and the route still ends published', async () => {
    // Prepare: a deliverer leases (attempt 1) and dies without completing; its lease runs out.
    const email = `${uid('crash')}@example.com`;
    const { id, routes } = await seedNotification({ storedWithNotification, type: 'receipt', recipients: [{ user_id: uid('user'), email }], payload: { order: { id: 'T', total: '3' } }, channels: ['email'], maxAttempts: 3 });
    const now = Date.now();
    const lease = await store.leaseRoute(routes[0]!, 'crashed-worker', now + 500, now);
    expect(lease.leased).toBe(true);
    await new Promise((r) => setTimeout(r, 700));

    // Act: SQS hands the message back after its visibility timeout.
    await sendDeliveryMessage(routes[0]!);

    // Assess
    const route = await routeWhere(id, routes[0]!.route_id, (s) => s === 'published');
    expect(route.attempts).toBe(2);
    expect(await mailbox(email)).toHaveLength(1);
  });

  it('dead-letters as worker_crashed when the crashed attempt was the last one', async () => {
    const email = `${uid('lastcrash')}@example.com`;
    const { id, routes } = await seedNotification({ storedWithNotification, type: 'once', recipients: [{ user_id: uid('user'), email }], payload: { n: 1 }, channels: ['email'], maxAttempts: 1 });
    const now = Date.now();
    await store.leaseRoute(routes[0]!, 'crashed-worker', now + 300, now);
    await new Promise((r) => setTimeout(r, 500));

    await sendDeliveryMessage(routes[0]!);

    const route = await routeWhere(id, routes[0]!.route_id, (s) => s === 'dead_letter');
    expect(route).toMatchObject({ attempts: 1, last_failure_classification: 'worker_crashed' });
    expect(await mailbox(email)).toHaveLength(0);
  });
});

describe.each(ROUTE_LAYOUTS)('sweeper (the route $where)', ({ storedWithNotification }) => {
  it('re-enqueues a route whose delivery message was lost, and it completes', async () => {
    // Prepare: routes written ten minutes ago whose messages never reached the queue.
    const email = `${uid('lost')}@example.com`;
    const { id, routes } = await seedNotification({ storedWithNotification, type: 'receipt', recipients: [{ user_id: uid('user'), email }], payload: { order: { id: 'L', total: '4' } }, channels: ['email'], maxAttempts: 3, at: TEN_MINUTES_AGO() });

    // Act
    const result = await fireSweeper();

    // Assess
    expect(result.requeued).toBeGreaterThanOrEqual(1);
    const route = await routeWhere(id, routes[0]!.route_id, (s) => s === 'published');
    expect(route.attempts).toBe(1);
    expect(await mailbox(email)).toHaveLength(1);
  });

  it('dead-letters a route whose every attempt crashed, even with no message left anywhere (poison message redriven)', async () => {
    const at = TEN_MINUTES_AGO();
    const { id, routes } = await seedNotification({ storedWithNotification, type: 'once', recipients: [{ user_id: uid('user'), email: `${uid('poison')}@example.com` }], payload: { n: 2 }, channels: ['email'], maxAttempts: 1, at });
    await store.leaseRoute(routes[0]!, 'crashed-worker', at + 1000, at);

    const result = await fireSweeper();

    expect(result.deadLettered).toBeGreaterThanOrEqual(1);
    expect(await store.getRoute(id, routes[0]!.route_id)).toMatchObject({ status: 'dead_letter', last_failure_classification: 'worker_crashed' });
  });

  it('leaves routes that are due but within the grace period to their own messages', async () => {
    const { id, routes } = await seedNotification({ storedWithNotification, type: 'once', recipients: [{ user_id: uid('user'), email: `${uid('fresh')}@example.com` }], payload: { n: 3 }, channels: ['email'], maxAttempts: 1 });

    await fireSweeper();

    expect(await store.getRoute(id, routes[0]!.route_id)).toMatchObject({ status: 'pending', attempts: 0 });
  });
});

describe('fan-out', () => {
  it('turns a 1,000-recipient intent into 1,000 routes that all reach a terminal state', async () => {
    // Prepare
    const marker = uid('bulk');
    const recipients = Array.from({ length: 1000 }, (_, i) => ({ user_id: `${marker}-u${i}`, email: `u${i}@${marker}.example.com` }));
    const sent = { notification_type: 'receipt', producer: 'tests', idempotency_key: marker, audience: { kind: 'users', recipients }, payload: { order: { id: 'BULK', total: '0' } } };

    // Act
    await sendIntent(sent);

    // Assess
    const id = notificationIdFor('tests', marker);
    const routes = await waitFor('all 1,000 routes terminal', async () => {
      const all = await store.listRoutes(id);
      return all.length === 1000 && all.every((r) => r.status === 'published' || r.status === 'dead_letter') ? all : undefined;
    }, 240_000, 2_000);
    expect(new Set(routes.map((r) => r.route_id)).size).toBe(1000);
    expect(routes.every((r) => r.status === 'published' && r.attempts === 1)).toBe(true);
    const response = await fetch(`${(await import('./support.ts')).endpoints.sesMailbox}/store`);
    const { emails } = (await response.json()) as { emails: { destination: { to: string[] } }[] };
    expect(emails.filter((e) => e.destination.to[0]!.endsWith(`@${marker}.example.com`))).toHaveLength(1000);
  });
});
