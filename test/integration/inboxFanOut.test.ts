import { describe, expect, it } from 'vitest';
import { DynamoInboxStore } from '../../functions/adapters/DynamoInboxStore.ts';
import { DynamoUserStates } from '../../functions/adapters/DynamoUserStates.ts';
import { AcceptIntent, INBOX_ADD_MARGIN_MS } from '../../functions/core/accept/AcceptIntent.ts';
import { AcceptanceIncompleteError } from '../../functions/core/errors.ts';
import { InboxService } from '../../functions/core/inbox/InboxService.ts';
import { notificationIdFor } from '../../functions/core/route/identifiers.ts';
import type { DeliveryMessage } from '../../functions/core/types.ts';
import { systemClock } from '../../functions/core/types.ts';
import { addFault, clearFaults, documents, eventBuffer, functionLogLines, outputs, rejections, sendIntent, store, uid, waitFor } from './support.ts';

const DAY = 86_400_000;

// A fan-out to the inbox larger than one invocation can add before its deadline: acceptance
// stops starting adds in time, and each next receive of the intent adds only what is missing.
describe('an inbox fan-out that outruns its invocation (AcceptIntent against DynamoDB Local)', () => {
  const inboxStore = new DynamoInboxStore(documents, { tableName: outputs.tableName, streamsTable: outputs.streamsTableName, buffer: eventBuffer });
  const service = new InboxService({ retentionDays: 90, freshnessMs: DAY }, { store: inboxStore });
  const adds: string[] = [];
  const inbox = {
    add: (input: Parameters<InboxService['add']>[0], now: number) => {
      adds.push(input.userId);
      return service.add(input, now);
    },
    usersWithItem: (userIds: readonly string[], itemId: string) => service.usersWithItem(userIds, itemId),
  };
  const sent: DeliveryMessage[] = [];
  const accept = new AcceptIntent(
    { catalog: { mention: { channels: ['push'], inbox: true } }, limits: { maxPayloadBytes: 30_720 }, defaultMaxAttempts: 3, acceptanceLeaseMs: 60_000, dueShards: 8 },
    { store, users: new DynamoUserStates(documents, outputs.tableName), rejections, routeQueue: { enqueue: async (m) => void sent.push(...m) }, clock: systemClock, inbox },
  );
  /** A deadline that comes after `checks` looks at the time left. */
  const deadlineAfter = (checks: number) => {
    let left = checks;
    return () => (left-- > 0 ? 10_000 : INBOX_ADD_MARGIN_MS - 1);
  };

  it('adds part, gives the intent back, and the next receives add the rest: every recipient one item, one event and counts of one', async () => {
    const run = uid('fan');
    const users = Array.from({ length: 120 }, (_, i) => `${run}-${i}`);
    const body = JSON.stringify({ notification_type: 'mention', producer: 'tests', idempotency_key: run, audience: { kind: 'users', recipients: users.map((user_id) => ({ user_id })) }, payload: { text: 'hello all' } });
    const message = { id: uid('msg'), sentAt: Date.now(), body };
    const id = notificationIdFor('tests', run);

    const first = await accept.handle({ ...message, remainingMs: deadlineAfter(40) }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(AcceptanceIncompleteError);
    const stoppedAt = (first as AcceptanceIncompleteError).done;
    expect(stoppedAt).toBeGreaterThan(0);
    expect(stoppedAt + (first as AcceptanceIncompleteError).left).toBe(120);
    expect(adds.length).toBe(stoppedAt);
    expect((await store.getNotification(id))?.state).toBe('accepting');

    // Every route was enqueued before the items began.
    const ofThis = () => sent.filter((m) => m.notification_id === id);
    expect(ofThis().length).toBe(120);

    // The continuations (as accept λ hands them on: the routes are enqueued): the lease was given
    // back, so the first takes over at once; it too runs short.
    const continuation = { ...message, routesEnqueued: true };
    const second = await accept.handle({ ...continuation, remainingMs: deadlineAfter(40) }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(AcceptanceIncompleteError);
    expect((second as AcceptanceIncompleteError).done).toBeGreaterThan(stoppedAt);
    const third = await accept.handle({ ...continuation, remainingMs: () => 10_000 });
    expect(third).toMatchObject({ kind: 'accepted', resumed: true, routes: 120 });
    expect((await store.getNotification(id))?.state).toBe('accepted');

    // Nobody was added twice: resumed acceptances asked who had the item first; no route was enqueued again.
    expect(adds.length).toBe(120);
    expect(ofThis().length).toBe(120);
    expect(new Set(ofThis().map((m) => m.route_id)).size).toBe(120);
    expect(new Set(adds).size).toBe(120);
    const now = Date.now();
    for (const user of users) {
      expect(await service.counts(user, now), user).toEqual({ unseen: 1, unread: 1, version: 1 });
      const page = await service.list(user, { filter: 'all', limit: 10 }, now);
      expect(page.items.map((i) => i.notification_id), user).toEqual([id]);
    }
    // A later copy of the same message is answered from the completed acceptance, adding nothing.
    expect(await accept.handle({ ...message, remainingMs: () => 10_000 })).toMatchObject({ kind: 'redelivered' });
    expect(adds.length).toBe(120);
  }, 120_000);

  it('a resumed acceptance that is not a continuation (a crash, a failure) enqueues the open routes again: it cannot know they were', async () => {
    const run = uid('fan');
    const users = Array.from({ length: 40 }, (_, i) => `${run}-${i}`);
    const body = JSON.stringify({ notification_type: 'mention', producer: 'tests', idempotency_key: run, audience: { kind: 'users', recipients: users.map((user_id) => ({ user_id })) }, payload: {} });
    const message = { id: uid('msg'), sentAt: Date.now(), body };
    const id = notificationIdFor('tests', run);
    expect(await accept.handle({ ...message, remainingMs: deadlineAfter(10) }).catch((e: unknown) => e)).toBeInstanceOf(AcceptanceIncompleteError);
    expect(await accept.handle(message)).toMatchObject({ kind: 'accepted', resumed: true });
    expect(sent.filter((m) => m.notification_id === id).length).toBe(80);
  });

  it('watches no deadline without one (a caller that gives no remaining time)', async () => {
    const run = uid('fan');
    const users = Array.from({ length: 30 }, (_, i) => `${run}-${i}`);
    const body = JSON.stringify({ notification_type: 'mention', producer: 'tests', idempotency_key: run, audience: { kind: 'users', recipients: users.map((user_id) => ({ user_id })) }, payload: {} });
    expect(await accept.handle({ id: uid('msg'), sentAt: Date.now(), body })).toMatchObject({ kind: 'accepted', resumed: false, routes: 30 });
  });
});

describe('an inbox fan-out that outruns the accept function on the offline stack', () => {
  const inboxStore = new DynamoInboxStore(documents, { tableName: outputs.tableName, streamsTable: outputs.streamsTableName, buffer: eventBuffer });
  const service = new InboxService({ retentionDays: 90, freshnessMs: DAY }, { store: inboxStore });

  it('goes on in new intake messages until every recipient has the item once, and the push goes to all', async () => {
    const run = uid('bigfan');
    const users = Array.from({ length: 300 }, (_, i) => `${run}-${i}`);
    // Each add's transaction takes 500 ms: 16 at once add at most 32 a second, so the function's
    // 10 s (7 s before the margin) cannot add 300 in one invocation, whatever the machine.
    await addFault('dynamodb', { operation: 'TransactWriteItems', match: run, delayMs: 500 });
    try {
      await sendIntent({ notification_type: 'mention', producer: 'tests', idempotency_key: run, audience: { kind: 'users', recipients: users.map((user_id) => ({ user_id })) }, payload: { text: 'to everyone' } });
      const id = notificationIdFor('tests', run);
      await waitFor('the acceptance completed', async () => ((await store.getNotification(id))?.state === 'accepted' ? true : undefined), 120_000, 500);

      const continued = functionLogLines('continues in a new intake message').filter((l) => l['notification_id'] === id);
      expect(continued.length).toBeGreaterThanOrEqual(1);
      // Every copy got further, and named the producer's message, so the acceptance stays that message's.
      const done = continued.map((l) => Number(l['done']));
      expect(done).toEqual([...done].sort((a, b) => a - b));
      expect(new Set(continued.map((l) => l['source_message_id'])).size).toBe(1);
      const now = Date.now();
      for (const user of users) expect(await service.counts(user, now), user).toEqual({ unseen: 1, unread: 1, version: 1 });
      const routes = await waitFor('every push route published', async () => {
        const listed = await store.listRoutes(id);
        return listed.length === 300 && listed.every((r) => r.status === 'published') ? listed : undefined;
      }, 60_000, 500);
      expect(new Set(routes.map((r) => r.user_id)).size).toBe(300);
    } finally {
      await clearFaults('dynamodb');
    }
  }, 240_000);
});
