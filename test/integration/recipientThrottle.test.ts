import { GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DynamoUserStates } from '../../functions/adapters/DynamoUserStates.ts';
import { throttleKey } from '../../functions/adapters/dynamoKeys.ts';
import { AcceptIntent } from '../../functions/core/accept/AcceptIntent.ts';
import type { Catalog } from '../../functions/core/catalog/catalogTypes.ts';
import type { RouteQueue } from '../../functions/core/ports.ts';
import { notificationIdFor } from '../../functions/core/route/identifiers.ts';
import { throttleWindowStart } from '../../functions/core/throttle/recipientThrottle.ts';
import { systemClock, type DeliveryMessage } from '../../functions/core/types.ts';
import { documents, intent, mailbox, outputs, recipientThrottle, rejections, sendIntent, store, uid, waitFor } from './support.ts';

// The test stack's catalog (test/fixtures/herald.test.json): "digest" goes by push and email, at
// most 3 per recipient per hour.
const DIGEST_LIMIT = 3;

describe('recipient throttle through the offline stack (catalog "digest": 3 per recipient per hour)', () => {
  it('lets exactly 3 of 6 concurrent intents through; the others are accepted with every route cancelled "throttled", never attempted', async () => {
    const user = uid('u-throttle');
    const email = `${user}@example.com`;
    const sent = Array.from({ length: 6 }, (_, n) => intent('digest', { user_id: user, email }, { n }));

    await Promise.all(sent.map((i) => sendIntent(i)));

    const ids = sent.map((i) => notificationIdFor('tests', i.idempotency_key));
    const outcomes = await waitFor('every notification accepted with its routes ended', async () => {
      const all = await Promise.all(ids.map(async (id) => ({ id, notification: await store.getNotification(id), routes: await store.listRoutes(id) })));
      const done = all.every((o) => o.notification?.state === 'accepted' && o.routes.length === 2 && o.routes.every((r) => ['published', 'cancelled'].includes(r.status)));
      return done && all;
    }, 60_000);
    const throttled = outcomes.filter((o) => o.routes.every((r) => r.status === 'cancelled' && r.cancel_reason === 'throttled'));
    const through = outcomes.filter((o) => o.routes.every((r) => r.status === 'published'));
    expect(through).toHaveLength(DIGEST_LIMIT);
    expect(throttled).toHaveLength(sent.length - DIGEST_LIMIT);
    // Never attempted: no attempt counted, no email sent for them.
    for (const { routes } of throttled) for (const route of routes) expect(route.attempts).toBe(0);
    const emails = await waitFor('the admitted emails', async () => {
      const got = await mailbox(email);
      return got.length >= DIGEST_LIMIT && got;
    });
    await new Promise((r) => setTimeout(r, 500));
    expect((await mailbox(email)).length).toBe(DIGEST_LIMIT);
    expect(emails.map((e) => e.subject).sort()).toEqual(
      through.map((o) => `Digest ${sent[ids.indexOf(o.id)]!.payload['n']}`).sort(),
    );
  });

  it('throttles per recipient: a full window for one user does not hold back another in the same intent', async () => {
    const [busy, quiet] = [uid('u-busy'), uid('u-quiet')];
    for (let n = 0; n < DIGEST_LIMIT; n += 1) await sendIntent(intent('digest', { user_id: busy, email: `${busy}@example.com` }, { n }));
    await waitFor('the busy window full', async () => {
      const item = await windowCount(busy, 'digest', 3600);
      return item === DIGEST_LIMIT;
    });

    const both = {
      ...intent('digest', { user_id: busy }, { n: 9 }),
      audience: { kind: 'users', recipients: [{ user_id: busy, email: `${busy}@example.com` }, { user_id: quiet, email: `${quiet}@example.com` }] },
    };
    await sendIntent(both);

    const id = notificationIdFor('tests', both.idempotency_key);
    const routes = await waitFor('both recipients decided', async () => {
      const listed = await store.listRoutes(id);
      return listed.length === 4 && listed.every((r) => ['published', 'cancelled'].includes(r.status)) && listed;
    }, 30_000);
    for (const route of routes) {
      expect(route.status, route.route_id).toBe(route.user_id === busy ? 'cancelled' : 'published');
      if (route.user_id === busy) expect(route.cancel_reason).toBe('throttled');
    }
  });
});

describe('recipient throttle against DynamoDB Local: exact under concurrency', () => {
  const policy = (limit: number) => ({ limit, windowSeconds: 30 * 86_400 });
  const catalogWith = (limit: number): Catalog => ({ capped: { channels: ['push'], throttle: policy(limit) } });
  const routeQueue = (): RouteQueue & { sent: DeliveryMessage[] } => {
    const sent: DeliveryMessage[] = [];
    return { sent, enqueue: async (messages) => void sent.push(...messages) };
  };
  const acceptWith = (limit: number, queue: RouteQueue) =>
    new AcceptIntent(
      { catalog: catalogWith(limit), limits: { maxPayloadBytes: 30_720 }, defaultMaxAttempts: 3, acceptanceLeaseMs: 60_000, dueShards: 8 },
      { store, users: new DynamoUserStates(documents, outputs.tableName), rejections, routeQueue: queue, clock: systemClock, throttle: recipientThrottle },
    );
  const message = (body: unknown) => ({ id: uid('msg'), sentAt: Date.now(), body: JSON.stringify(body) });

  it('of any number of concurrent intents, each delivered one or more times, exactly min(limit, distinct) get through, and a copy gets its original\'s answer', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        // Each distinct intent is delivered 1–3 times (the producer's retries, SQS's duplicates).
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 3 }),
        fc.nat(),
        async (limit, copies, acceptors, seed) => {
          const user = uid('u-prop');
          const queue = routeQueue();
          const accepts = Array.from({ length: acceptors }, () => acceptWith(limit, queue));
          const intents = copies.map((_, n) => intent('capped', { user_id: user }, { n }));
          const deliveries = intents.flatMap((i, n) => Array.from({ length: copies[n]! }, () => i));
          // In an order the seed picks, every delivery at once, spread over several acceptors (separate Lambda instances).
          const order = deliveries.map((_, k) => k).sort((a, b) => ((a * 7919 + seed) % 101) - ((b * 7919 + seed) % 101));
          const results = await Promise.all(order.map((k) => retryInProgress(() => accepts[k % acceptors]!.handle(message(deliveries[k]!)))));
          expect(results.every((r) => ['accepted', 'duplicate'].includes(r.kind))).toBe(true);

          const routes = await Promise.all(intents.map(async (i) => (await store.listRoutes(notificationIdFor('tests', i.idempotency_key)))));
          const admitted = routes.filter((r) => r.length === 1 && r[0]!.status === 'pending');
          const throttled = routes.filter((r) => r.length === 1 && r[0]!.status === 'cancelled' && r[0]!.cancel_reason === 'throttled');
          expect(admitted.length).toBe(Math.min(limit, intents.length));
          expect(admitted.length + throttled.length).toBe(intents.length);
          expect(await windowCount(user, 'capped', policy(limit).windowSeconds)).toBe(admitted.length);
          // Only the admitted routes were enqueued, each once.
          expect(new Set(queue.sent.map((m) => m.notification_id)).size).toBe(admitted.length);
        },
      ),
      { numRuns: 12 },
    );
  });

  it('an acceptance resumed after a crash reaches the admission its first attempt made, even once the window filled up meanwhile', async () => {
    const user = uid('u-resume');
    const crashed = intent('capped', { user_id: user }, { n: 0 });
    const crashedId = notificationIdFor('tests', crashed.idempotency_key);
    const window = throttleWindowStart(Date.now(), policy(1));
    // The first acceptance was admitted, then crashed before writing its routes.
    expect(await recipientThrottle.admit([{ userId: user, notificationType: 'capped', notificationId: crashedId, windowStart: window, policy: policy(1) }])).toEqual([true]);
    // Its write retried by the SDK (the answer lost): still one admission.
    expect(await recipientThrottle.admit([{ userId: user, notificationType: 'capped', notificationId: crashedId, windowStart: window, policy: policy(1) }])).toEqual([true]);
    const queue = routeQueue();

    const [other, resumed] = [await acceptWith(1, queue).handle(message(intent('capped', { user_id: user }, { n: 1 }))), await acceptWith(1, queue).handle(message(crashed))];

    expect(other.kind === 'accepted' && other.throttled).toBe(1);
    expect(resumed.kind === 'accepted' && resumed.throttled).toBe(0);
    expect((await store.listRoutes(crashedId)).map((r) => r.status)).toEqual(['pending']);
    expect(await windowCount(user, 'capped', policy(1).windowSeconds)).toBe(1);
  });
});

/** How many notifications the user's current window of `type` admitted, read from the table. */
async function windowCount(user: string, type: string, windowSeconds: number): Promise<number | undefined> {
  const start = throttleWindowStart(Date.now(), { limit: 1, windowSeconds });
  const { Item } = await documents.send(new GetCommand({ TableName: outputs.tableName, Key: throttleKey(user, type, start), ConsistentRead: true }));
  return Item?.['admitted'] as number | undefined;
}

/** Like the intake queue's redelivery: a copy that finds its original mid-acceptance comes back until it is done. */
async function retryInProgress<T>(accept: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await accept();
    } catch (error) {
      if ((error as Error).name !== 'AcceptanceInProgressError') throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
