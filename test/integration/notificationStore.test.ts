import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { notificationKey } from '../../functions/adapters/dynamoKeys.ts';
import { buildRoutes } from '../../functions/core/accept/AcceptIntent.ts';
import { contentHashOf, notificationIdFor } from '../../functions/core/route/identifiers.ts';
import type { NotificationRecord, RouteRecord } from '../../functions/core/types.ts';
import { documents, notificationItems, outputs, store, uid } from './support.ts';

const DAY = 86_400_000;

/** A notification with one email route, written as accept writes it: one item holding both. */
async function notificationWithItsOnlyRoute(options: { at?: number; routeCount?: number } = {}) {
  const at = options.at ?? Date.now();
  const key = uid('only');
  const user = uid('user');
  const id = notificationIdFor('tests', key);
  const recipient = { user_id: user, email: `${user}@example.com` };
  const payload = { order: { id: 'S-1', total: '3' } };
  const record: NotificationRecord = {
    notification_id: id,
    notification_type: 'receipt',
    producer: 'tests',
    idempotency_key: key,
    audience_kind: 'user',
    payload,
    content_hash: contentHashOf({ notification_type: 'receipt', audience: { kind: 'user', ...recipient }, payload }),
    accepted_at: at,
    route_count: options.routeCount ?? 1,
    state: 'accepting',
  };
  const route: RouteRecord = { ...buildRoutes(id, [recipient], ['email'], 3, at, 8)[0]!, stored_with_notification: true };
  return { id, user, record, route, begin: (token = 'acceptance-1') => store.beginAcceptance(record, token, at + 60_000, route) };
}

describe("a notification's only route, stored in the notification's item", () => {
  it('is created by the one write that creates the notification, and read back as a notification and a route apart', async () => {
    // Prepare
    const { id, user, record, route, begin } = await notificationWithItsOnlyRoute();

    // Act
    expect(await begin()).toEqual({ kind: 'created' });

    // Assess: one item; each reader sees only its own attributes.
    expect(await notificationItems(id)).toHaveLength(1);
    expect(await store.getNotification(id)).toEqual(record);
    const stored = await store.getRoute(id, route.route_id);
    expect(stored).toMatchObject({ ...route, stored_with_notification: true });
    expect(stored).not.toHaveProperty('payload');
    expect(stored).not.toHaveProperty('state');
    expect(await store.listRoutes(id)).toEqual([stored]);
    expect(await store.listRouteStates(id)).toEqual(new Map([[route.route_id, { status: 'pending', due_at: route.due_at, stored_with_notification: true }]]));
    expect(await store.getRoute(id, 'email:someone-else')).toBeUndefined();
    // Open and due: in the by-user index (the lifecycle service's) with where it is stored.
    expect((await store.listOpenRoutesOfUser(user, 10)).routes).toEqual([
      { notification_id: id, route_id: route.route_id, user_id: user, channel: 'email', stored_with_notification: true },
    ]);
    // Written again (the intent redelivered, another acceptance): the existing notification, without the route's attributes.
    const again = await begin('acceptance-2');
    expect(again.kind === 'exists' && again.record).toEqual(record);
    // The same write again (its first answer lost, the SDK retrying): ours, created.
    expect(await begin('acceptance-1')).toEqual({ kind: 'created' });
  });

  it('is found by the sweeper when it is due, and the route it returns addresses the same item', async () => {
    // Prepare: accepted a day ago, its message lost.
    const { id, route, begin } = await notificationWithItsOnlyRoute({ at: Date.now() - DAY });
    await begin();

    // Act
    const due = (await store.listDueRoutes(route.due_shard, Date.now(), 1_000)).filter((r) => r.notification_id === id);

    // Assess
    expect(due).toEqual([expect.objectContaining({ route_id: route.route_id, stored_with_notification: true })]);
    expect(await store.postponeDue(due[0]!, Date.now() + 60_000)).toBe(true);
    expect((await store.getRoute(id, route.route_id))?.due_at).toBeGreaterThan(Date.now());
  });

  it('is leased from a delivery message that does not say where the route is (sent before this layout, or by hand)', async () => {
    // Prepare
    const { id, route, begin } = await notificationWithItsOnlyRoute();
    await begin();
    const now = Date.now();

    // Act
    const leased = await store.leaseRoute({ notification_id: id, route_id: route.route_id }, 'worker-1', now + 60_000, now);
    const missing = await store.leaseRoute({ notification_id: id, route_id: 'email:nobody' }, 'worker-2', now + 60_000, now);

    // Assess: the route is leased where it is; a route id the notification does not have is no route.
    expect(leased).toMatchObject({ leased: true, route: { route_id: route.route_id, attempts: 1, lease_token: 'worker-1', stored_with_notification: true } });
    expect(missing).toEqual({ leased: false });
    expect(await notificationItems(id)).toHaveLength(1);
  });

  it("completes the acceptance with the route's terminal outcome, not with a failed attempt", async () => {
    // Prepare
    const { id, route, begin } = await notificationWithItsOnlyRoute();
    await begin();
    const now = Date.now();
    const first = await store.leaseRoute(route, 'worker-1', now + 60_000, now);
    if (!first.leased) throw new Error('not leased');

    // Act + Assess: a failed attempt leaves the acceptance open…
    expect(await store.completeRoute(first.route, 'worker-1', { status: 'failed', nextAttemptAt: now, backoffMs: 0, classification: 'email_send_failed', message: 'SES said no' }, now)).toBe(true);
    expect(await store.getNotification(id)).toMatchObject({ state: 'accepting' });
    // …the published one completes it, in the same write…
    const second = await store.leaseRoute(route, 'worker-2', now + 60_000, now);
    if (!second.leased) throw new Error('not leased');
    expect(await store.completeRoute(second.route, 'worker-2', { status: 'published' }, now + 5)).toBe(true);
    expect(await store.getNotification(id)).toMatchObject({ state: 'accepted' });
    expect(await store.getRoute(id, route.route_id)).toMatchObject({ status: 'published', attempts: 2, published_at: now + 5 });
    expect((await notificationItems(id))[0]).toMatchObject({ accepted_complete_at: now + 5 });
    // …and an acceptance still holding its lease completes it as well, without error.
    expect(await store.completeAcceptance(id, 'acceptance-1', now + 10)).toBe(true);
    expect((await notificationItems(id))[0]).toMatchObject({ state: 'accepted' });
  });

  it('is cancelled where it is stored when its user is deleted', async () => {
    // Prepare
    const { id, user, route, begin } = await notificationWithItsOnlyRoute();
    await begin();
    const [ref] = (await store.listOpenRoutesOfUser(user, 10)).routes;

    // Act
    const outcome = await store.cancelRoute(ref!, 'user.deleted', Date.now());

    // Assess
    expect(outcome).toBe('cancelled');
    expect(await store.getRoute(id, route.route_id)).toMatchObject({ status: 'cancelled', cancel_reason: 'user.deleted' });
    expect((await store.listOpenRoutesOfUser(user, 10)).routes).toEqual([]);
  });

  it('is stored there only while the two fit in the 1 KB a write unit covers, with room to grow', async () => {
    const { record, route } = await notificationWithItsOnlyRoute();
    expect(store.storesRouteWithNotification(record, route)).toBe(true);
    expect(store.storesRouteWithNotification({ ...record, payload: { note: 'n'.repeat(300) } }, route)).toBe(false);
  });

  it('is refused for a notification with more than one route', async () => {
    const { begin, id } = await notificationWithItsOnlyRoute({ routeCount: 2 });
    await expect(begin()).rejects.toThrow(/cannot be stored with notification/);
    expect(await notificationItems(id)).toHaveLength(0);
  });
});

describe('the routes of a notification larger than one 1 MB query page', () => {
  it('are all listed, with their states, from every page', async () => {
    const id = notificationIdFor('tests', uid('wide'));
    const recipients = Array.from({ length: 2_500 }, (_, i) => ({ user_id: `wide-${i}`, email: `wide-${i}@example.com` }));
    const routes = buildRoutes(id, recipients, ['email', 'push'], 3, Date.now(), 8);
    await store.putRoutes(routes);

    // The premise: DynamoDB needs more than one page for them.
    const firstPage = await documents.send(new QueryCommand({
      TableName: outputs.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': notificationKey(id).pk },
    }));
    expect(firstPage.LastEvaluatedKey).toBeDefined();
    expect(firstPage.Items!.length).toBeLessThan(routes.length);

    const listed = await store.listRoutes(id);
    expect(listed).toHaveLength(5_000);
    expect(new Set(listed.map((route) => route.route_id))).toEqual(new Set(routes.map((route) => route.route_id)));
    const states = await store.listRouteStates(id);
    expect(states.size).toBe(5_000);
    expect([...states.values()].every((state) => state.status === 'pending')).toBe(true);
  });
});
