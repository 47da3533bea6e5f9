import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { notificationIdFor } from '../../functions/core/route/identifiers.ts';
import { approximateDepth, events, intent, mailbox, notificationItems, offlineStackLog, outputs, rejections, sendIntent, store, uid, waitFor } from './support.ts';

describe('accept → deliver (email)', () => {
  it('delivers an intent as one email rendered from the catalog template and marks the route published', async () => {
    // Prepare
    const email = `${uid('ada')}@example.com`;
    const sent = intent('receipt', { user_id: uid('user'), email }, { order: { id: 'A-17', total: '<€12>' } }, { request_id: 'req-1', trace_id: 'trace-1' });

    // Act
    await sendIntent(sent);

    // Assess
    const [message] = await waitFor('the receipt email', async () => ((await mailbox(email)).length > 0 ? mailbox(email) : undefined));
    expect(message!.from).toBe('herald@test.example.com');
    expect(message!.subject).toBe('Receipt A-17');
    expect(message!.body.text).toBe('You paid <€12> for order A-17.');
    expect(message!.body.html).toBe('<p>You paid &lt;€12&gt; for order <i>A-17</i>.</p>');
    const id = notificationIdFor('tests', sent.idempotency_key);
    const route = await waitFor('route published', async () => {
      const r = await store.getRoute(id, `email:${sent.audience.user_id}`);
      return r?.status === 'published' ? r : undefined;
    });
    expect(route).toMatchObject({ attempts: 1, channel: 'email', email });
    expect(route.due_at).toBeUndefined();
    expect(await store.getNotification(id)).toMatchObject({ state: 'accepted', route_count: 1, request_id: 'req-1', trace_id: 'trace-1' });
  });

  it('accepts intents put on the event bus through the same pipeline', async () => {
    const email = `${uid('bus')}@example.com`;
    const sent = intent('receipt', { user_id: uid('user'), email }, { order: { id: 'B-2', total: '3' } });

    const put = await events.send(
      new PutEventsCommand({ Entries: [{ EventBusName: outputs.busName, Source: 'shop', DetailType: 'herald.intent', Detail: JSON.stringify(sent) }] }),
    );

    expect(put.FailedEntryCount).toBe(0);
    const emails = await waitFor('the bus-sent email', async () => ((await mailbox(email)).length > 0 ? mailbox(email) : undefined));
    expect(emails.map((e) => e.subject)).toEqual(['Receipt B-2']);
  });

  it('fails an intent put on a bus that does not exist, and logs one put on the default bus, where no rule takes it', async () => {
    const sent = intent('receipt', { user_id: uid('user'), email: `${uid('lost')}@example.com` }, { order: { id: 'L-1', total: '1' } });
    const entry = { Source: 'shop', DetailType: 'herald.intent', Detail: JSON.stringify(sent) };

    const misnamed = await events.send(new PutEventsCommand({ Entries: [{ ...entry, EventBusName: `${outputs.busName}-typo` }] }));
    const onDefault = await events.send(new PutEventsCommand({ Entries: [entry] }));

    expect(misnamed.FailedEntryCount).toBe(1);
    expect(misnamed.Entries).toEqual([
      { ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${outputs.busName}-typo does not exist.` },
    ]);
    expect(onDefault.FailedEntryCount).toBe(0);
    const eventId = onDefault.Entries![0]!.EventId!;
    await waitFor('the unmatched event in the offline stack log', async () =>
      offlineStackLog().includes(`event ${eventId} on bus default (detail-type herald.intent) matched no rule`),
    );
  });

  it('logs an intent on the bus that SQS refuses (U+FFFF), not retried and not dead-lettered, and goes on delivering', async () => {
    const refused = intent('ping', { user_id: uid('user') }, { text: 'a\uFFFFb' });
    const email = `${uid('after')}@example.com`;
    const next = intent('receipt', { user_id: uid('user'), email }, { order: { id: 'N-1', total: '1' } });
    const entry = (body: unknown) => ({ EventBusName: outputs.busName, Source: 'shop', DetailType: 'herald.intent', Detail: JSON.stringify(body) });

    const put = await events.send(new PutEventsCommand({ Entries: [entry(refused)] }));
    const eventId = put.Entries![0]!.EventId!;
    await waitFor('the refused event in the offline stack log', async () => offlineStackLog().includes(`event ${eventId} dropped: its dead-letter queue refused it too`));
    await events.send(new PutEventsCommand({ Entries: [entry(next)] }));

    expect(put.FailedEntryCount).toBe(0);
    expect(offlineStackLog()).toMatch(new RegExp(`failed for event ${eventId} after 1 attempt\\(s\\): Invalid characters found`));
    expect(await store.getNotification(notificationIdFor('tests', refused.idempotency_key))).toBeUndefined();
    await waitFor('the next bus-sent email', async () => (await mailbox(email)).length === 1);
  });

  it('treats a re-sent identical intent as the same notification: one notification, one email', async () => {
    const email = `${uid('dup')}@example.com`;
    const sent = intent('receipt', { user_id: uid('user'), email }, { order: { id: 'C-3', total: '9' } });

    await sendIntent(sent);
    await sendIntent({ ...sent, request_id: 'a retry may carry new metadata' });
    await sendIntent(sent);

    const id = notificationIdFor('tests', sent.idempotency_key);
    await waitFor('route published', async () => (await store.getRoute(id, `email:${sent.audience.user_id}`))?.status === 'published');
    // Every copy has been consumed (a copy that met the acceptance in progress looks again 2 s later).
    await waitFor('intake drained', async () => (await approximateDepth(outputs.intakeQueueUrl)) === 0);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await mailbox(email)).toHaveLength(1);
    expect(await store.listRoutes(id)).toHaveLength(1);
  });

  it('rejects the same key with different content as an idempotency conflict and keeps the original', async () => {
    const email = `${uid('conflict')}@example.com`;
    const original = intent('receipt', { user_id: uid('user'), email }, { order: { id: 'D-4', total: '1' } });
    await sendIntent(original);
    const id = notificationIdFor('tests', original.idempotency_key);
    await waitFor('original accepted', async () => (await store.getNotification(id))?.state === 'accepted');

    await sendIntent({ ...original, payload: { order: { id: 'D-4', total: '1000' } } });

    const rejection = await waitFor('conflict rejection', async () =>
      (await rejections.listDay(Date.now(), 500)).find((r) => r.idempotency_key === original.idempotency_key),
    );
    expect(rejection).toMatchObject({ reason: 'idempotency_conflict', producer: 'tests', notification_id: id });
    expect(rejection.message).toContain('already used for different content');
    expect(rejection.raw_body).toContain('"total":"1000"');
    expect((await store.getNotification(id))?.payload).toEqual({ order: { id: 'D-4', total: '1' } });
    await waitFor('route published', async () => (await store.getRoute(id, `email:${original.audience.user_id}`))?.status === 'published');
    expect(await mailbox(email)).toHaveLength(1);
  });
});

describe('bad input', () => {
  it.each([
    ['malformed JSON', (m: string) => `{"notification_type": "receipt", "marker": "${m}"`, 'malformed_json'],
    ['unknown notification type', (m: string) => JSON.stringify(intent('nope', { user_id: 'u1' }, { marker: m })), 'unknown_notification_type'],
    ['oversize payload', (m: string) => JSON.stringify(intent('receipt', { user_id: 'u1' }, { marker: m, order: { id: '1', total: '1' }, blob: 'x'.repeat(40_000) })), 'payload_too_large'],
    ['schema violation (no audience)', (m: string) => JSON.stringify({ notification_type: 'receipt', producer: 'tests', idempotency_key: m, payload: {} }), 'schema_violation'],
    ['payload missing a template field', (m: string) => JSON.stringify(intent('receipt', { user_id: 'u1', email: 'x@example.com' }, { marker: m })), 'template_field_missing'],
  ])('records a rejection with a distinct reason for %s and consumes the message', async (_name, body, reason) => {
    // Prepare
    const marker = uid('bad');

    // Act
    await sendIntent(body(marker));

    // Assess
    const rejection = await waitFor(`rejection ${reason}`, async () =>
      (await rejections.listDay(Date.now(), 500)).find((r) => r.raw_body.includes(marker)),
    );
    expect(rejection.reason).toBe(reason);
    expect(rejection.message.length).toBeGreaterThan(10);
    // Named by the id its producer and key would have had, so `herald status <id>` finds it.
    expect(rejection.notification_id).toBe(reason === 'malformed_json' ? undefined : notificationIdFor(rejection.producer!, rejection.idempotency_key!));
    expect(rejection.raw_body.length).toBeLessThanOrEqual(2048);
    await waitFor('intake drained', async () => (await approximateDepth(outputs.intakeQueueUrl)) === 0);
    expect(await approximateDepth(outputs.intakeDlqUrl)).toBe(0);
  });
});

describe('where accept stores a notification with one route', () => {
  it('stores a small one in one item with its route, and completes its acceptance with the delivery', async () => {
    // Prepare
    const email = `${uid('small')}@example.com`;
    const sent = intent('receipt', { user_id: uid('user'), email }, { order: { id: 'T-1', total: '1' } });
    const id = notificationIdFor('tests', sent.idempotency_key);

    // Act
    await sendIntent(sent);

    // Assess
    await waitFor('route published', async () => (await store.getRoute(id, `email:${sent.audience.user_id}`))?.status === 'published');
    await waitFor('acceptance completed', async () => (await store.getNotification(id))?.state === 'accepted');
    expect((await notificationItems(id)).map((item) => item['sk'])).toEqual(['META']);
    expect(await store.listRoutes(id)).toEqual([expect.objectContaining({ stored_with_notification: true, attempts: 1 })]);
    expect(await mailbox(email)).toHaveLength(1);
  });

  it('keeps the route of a larger one in an item of its own, so no route write pays for the payload', async () => {
    // Prepare: a payload of about 1 KB; together the item would be over the 1 KB a write unit covers.
    const email = `${uid('large')}@example.com`;
    const sent = intent('receipt', { user_id: uid('user'), email }, { order: { id: 'T-2', total: '2' }, note: 'n'.repeat(1_000) });
    const id = notificationIdFor('tests', sent.idempotency_key);

    // Act
    await sendIntent(sent);

    // Assess
    await waitFor('route published', async () => (await store.getRoute(id, `email:${sent.audience.user_id}`))?.status === 'published');
    await waitFor('acceptance completed', async () => (await store.getNotification(id))?.state === 'accepted');
    expect((await notificationItems(id)).map((item) => item['sk'])).toEqual(['META', `R#email:${sent.audience.user_id}`]);
    expect((await store.listRoutes(id))[0]).not.toHaveProperty('stored_with_notification');
    expect(await mailbox(email)).toHaveLength(1);
  });
});

describe('acceptance after a crash', () => {
  it('resumes an acceptance that stopped halfway: writes the missing routes, enqueues them, completes', async () => {
    // Prepare: a previous acceptance wrote the notification and one of three routes, then died
    // before enqueueing anything; its acceptance lease has expired.
    const { contentHashOf } = await import('../../functions/core/route/identifiers.ts');
    const { buildRoutes } = await import('../../functions/core/accept/AcceptIntent.ts');
    const marker = uid('resume');
    const recipients = [0, 1, 2].map((i) => ({ user_id: `${marker}-${i}`, email: `r${i}@${marker}.example.com` }));
    const sent = { notification_type: 'receipt', producer: 'tests', idempotency_key: marker, audience: { kind: 'users', recipients }, payload: { order: { id: 'Z', total: '5' } } };
    const id = notificationIdFor('tests', marker);
    const crashedAt = Date.now() - 60_000;
    await store.beginAcceptance(
      { notification_id: id, notification_type: 'receipt', producer: 'tests', idempotency_key: marker, audience_kind: 'users', payload: sent.payload, content_hash: contentHashOf(sent), accepted_at: crashedAt, route_count: 3, state: 'accepting' },
      'crashed-acceptance',
      crashedAt + 1000,
    );
    await store.putRoutes(buildRoutes(id, recipients.slice(0, 1), ['email'], 3, crashedAt, 8));

    // Act: SQS redelivers the intake message.
    await sendIntent(sent);

    // Assess
    await waitFor('acceptance completed', async () => (await store.getNotification(id))?.state === 'accepted');
    const routes = await waitFor('all routes published', async () => {
      const all = await store.listRoutes(id);
      return all.length === 3 && all.every((r) => r.status === 'published') ? all : undefined;
    });
    expect(routes.map((r) => r.attempts)).toEqual([1, 1, 1]);
    for (const r of recipients) expect(await mailbox(r.email)).toHaveLength(1);
  });

  it('resumes an acceptance that stopped after writing the notification with its only route: enqueues the route where it is stored', async () => {
    // Prepare: the write that created the notification and its only route, then a crash before the
    // route was enqueued; the acceptance lease has expired.
    const { contentHashOf } = await import('../../functions/core/route/identifiers.ts');
    const { buildRoutes } = await import('../../functions/core/accept/AcceptIntent.ts');
    const email = `${uid('solo')}@example.com`;
    const sent = intent('receipt', { user_id: uid('user'), email }, { order: { id: 'S-2', total: '9' } });
    const id = notificationIdFor('tests', sent.idempotency_key);
    const crashedAt = Date.now() - 60_000;
    const [route] = buildRoutes(id, [sent.audience], ['email'], 3, crashedAt, 8);
    await store.beginAcceptance(
      { notification_id: id, notification_type: 'receipt', producer: 'tests', idempotency_key: sent.idempotency_key, audience_kind: 'user', payload: sent.payload, content_hash: contentHashOf(sent), accepted_at: crashedAt, route_count: 1, state: 'accepting' },
      'crashed-acceptance',
      crashedAt + 1000,
      { ...route!, stored_with_notification: true },
    );

    // Act: SQS redelivers the intake message.
    await sendIntent(sent);

    // Assess: delivered once, from the one item.
    const published = await waitFor('route published', async () => {
      const r = await store.getRoute(id, route!.route_id);
      return r?.status === 'published' ? r : undefined;
    });
    expect(published).toMatchObject({ attempts: 1, stored_with_notification: true });
    await waitFor('acceptance completed', async () => (await store.getNotification(id))?.state === 'accepted');
    expect(await store.listRoutes(id)).toHaveLength(1);
    expect(await mailbox(email)).toHaveLength(1);
  });
});
