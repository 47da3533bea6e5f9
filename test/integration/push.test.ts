import { DeleteCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { eventItem, eventSk, HEAD_SK, streamPk } from '../../functions/adapters/DynamoEventBuffer.ts';
import { encodeCursor } from '../../functions/core/push/cursorCodec.ts';
import { notificationIdFor } from '../../functions/core/route/identifiers.ts';
import { actOnConnection, appendRouteEvent, connectionRegistry, documents, endpoints, eventBuffer, intent, leasedPushRoute, outputs, sendIntent, sessionInvalidator, store, uid, waitFor } from './support.ts';
import { closeAllClients, connectAs, RawClient, tokenFor, tokenSecret } from './wsClient.ts';
import { connectionTokenIssuer } from '../../examples/issueConnectionToken.ts';

const streamsTable = outputs.streamsTableName;
const connectionsTable = outputs.connectionsTableName;
const connect = connectAs;

afterEach(async () => {
  await closeAllClients();
});

/** Sends a push intent and waits until its route is published. */
async function publish(userId: string, payload: Record<string, unknown>, options: { deviceSessionId?: string; type?: string } = {}) {
  const ids = { request_id: uid('req'), trace_id: uid('trace') };
  const sent = { ...intent(options.type ?? 'chat.message', { user_id: userId, ...(options.deviceSessionId ? { device_session_id: options.deviceSessionId } : {}) }, payload, ids), ...ids };
  await sendIntent(sent);
  const id = notificationIdFor('tests', sent.idempotency_key);
  const routeId = options.deviceSessionId ? `push:${userId}:${options.deviceSessionId}` : `push:${userId}`;
  const route = await waitFor(`push route of ${userId} published`, async () => {
    const r = await store.getRoute(id, routeId);
    return r?.status === 'published' ? r : undefined;
  });
  return { sent, id, route };
}

async function publishMany(userId: string, count: number): Promise<void> {
  const before = (await eventBuffer.getHead(userId))?.position ?? 0;
  await Promise.all(Array.from({ length: count }, (_, i) => sendIntent(intent('chat.message', { user_id: userId }, { n: i }))));
  await waitFor(`${count} events in ${userId}'s stream`, async () => ((await eventBuffer.getHead(userId))?.position ?? 0) >= before + count, 60_000, 200);
}

describe('live push', () => {
  it('sends a connected user one event frame with the catalog kind, payload, ids and a cursor', async () => {
    const user = uid('alice');
    const client = await connect(user, 'phone');

    const { sent, id, route } = await publish(user, { text: 'hello' });

    const frame = await client.waitForFrame('event');
    expect(frame).toMatchObject({
      type: 'event',
      kind: 'chat.message',
      payload: { text: 'hello' },
      notification_id: id,
      event_id: `${id}/push:${user}`,
      request_id: sent.request_id,
      trace_id: sent.trace_id,
      position: 1,
    });
    expect(frame['cursor']).toBe(encodeCursor({ epoch: route.stream_epoch!, position: 1 }));
    expect(new Date(frame['published_at']).getTime()).toBeGreaterThan(Date.now() - 60_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(client.events()).toHaveLength(1);
  });

  it('reaches both devices of a user, and a device-targeted route reaches only that device', async () => {
    const user = uid('bob');
    const [phone, laptop] = await Promise.all([connect(user, 'phone'), connect(user, 'laptop')]);

    await publish(user, { text: 'to all' });
    await Promise.all([phone.waitForFrame('event'), laptop.waitForFrame('event')]);
    await publish(user, { text: 'phone only' }, { deviceSessionId: 'phone' });

    await phone.waitFor('second event on phone', () => phone.events().length === 2);
    await new Promise((r) => setTimeout(r, 500));
    expect(phone.events().map((e) => e['payload'].text)).toEqual(['to all', 'phone only']);
    expect(laptop.events().map((e) => e['payload'].text)).toEqual(['to all']);
  });

  it('publishes the route with no live connection; the event waits in the buffer', async () => {
    const user = uid('away');
    const { route } = await publish(user, { text: 'later' });
    expect(route).toMatchObject({ status: 'published', stream_position: 1 });
    const client = await connect(user, 'phone');
    client.send({ action: 'resume', cursor: encodeCursor({ epoch: route.stream_epoch!, position: 0 }) });
    await client.waitForFrame('replay_complete');
    expect(client.events().map((e) => e['payload'])).toEqual([{ text: 'later' }]);
  });
});

describe('resume', () => {
  it('replays exactly the 50 events published while disconnected, in order, then replay_complete', async () => {
    // Prepare
    const user = uid('carol');
    const first = await connect(user, 'phone');
    await publish(user, { n: 'before' });
    const last = await first.waitForFrame('event');
    await first.close();

    // Act
    await publishMany(user, 50);
    const again = await connect(user, 'phone');
    again.send({ action: 'resume', cursor: last['cursor'] });

    // Assess
    const done = await again.waitForFrame('replay_complete');
    const replayed = again.events();
    expect(replayed.map((e) => e['position'])).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    expect(new Set(replayed.map((e) => e['event_id'])).size).toBe(50);
    expect(done['cursor']).toBe(replayed[49]!['cursor']);
    // Packed into ≤ 32 KB frames, not one frame per event.
    const replayFrames = again.frames.filter((f) => f.type === 'events');
    expect(replayFrames.length).toBeLessThan(50);
    for (const f of replayFrames) expect(Buffer.byteLength(JSON.stringify(f))).toBeLessThanOrEqual(32 * 1024);

    // Act again: resume from the middle
    const middle = await connect(user, 'tablet');
    middle.send({ action: 'resume', cursor: replayed[29]!['cursor'] });
    await middle.waitForFrame('replay_complete');
    expect(middle.events().map((e) => e['position'])).toEqual(Array.from({ length: 20 }, (_, i) => i + 32));
  });

  it('answers an empty cursor with replay_complete at the head (live tail only)', async () => {
    const user = uid('tail');
    await publish(user, { n: 1 });
    const client = await connect(user, 'phone');
    client.send({ action: 'resume', cursor: '' });
    const done = await client.waitForFrame('replay_complete');
    expect(client.events()).toHaveLength(0);
    const head = await eventBuffer.getHead(user);
    expect(done['cursor']).toBe(encodeCursor(head!));
  });

  it('counts an event stored by an attempt that died before posting it: in the live-tail cursor, and replayed to a cursor before it', async () => {
    // Prepare: a stored event that no live client was sent.
    const user = uid('lagging');
    await publish(user, { n: 1 });
    const stored = await appendRouteEvent(eventBuffer, await leasedPushRoute(user), user);
    expect(stored.position).toBe(2);
    const client = await connect(user, 'phone');

    // Act + Assess: the live tail starts after the stored event; a cursor at 1 gets it replayed.
    client.send({ action: 'resume', cursor: '' });
    expect((await client.waitForFrame('replay_complete'))['cursor']).toBe(encodeCursor(stored));
    client.send({ action: 'resume', cursor: encodeCursor({ epoch: stored.epoch, position: 1 }) });
    await waitFor('the replayed event', async () => client.events().length === 1);
    expect(client.events().map((f) => f['position'])).toEqual([2]);
  });

  it('answers cursor_stale for another user\'s cursor, a reset stream and expired history', async () => {
    // Another user's stream: user A never sees B's events, whatever cursor A sends.
    const [a, b] = [uid('a'), uid('b')];
    const { route: bRoute } = await publish(b, { secret: 'for b only' });
    const clientA = await connect(a, 'phone');
    clientA.send({ action: 'resume', cursor: encodeCursor({ epoch: bRoute.stream_epoch!, position: 0 }) });
    expect((await clientA.waitForFrame('cursor_stale'))['reason']).toContain('no longer exists');
    await publish(a, { mine: true });
    clientA.send({ action: 'resume', cursor: encodeCursor({ epoch: bRoute.stream_epoch!, position: 0 }) });
    await clientA.waitFor('second stale', () => clientA.frames.filter((f) => f.type === 'cursor_stale').length === 2);
    expect(JSON.stringify(clientA.frames)).not.toContain('for b only');

    // A reset stream (new epoch): the old cursor is stale, never reinterpreted.
    const user = uid('reset');
    const { route } = await publish(user, { n: 1 });
    await documents.send(new DeleteCommand({ TableName: streamsTable, Key: { pk: streamPk(user), sk: HEAD_SK } }));
    await documents.send(new DeleteCommand({ TableName: streamsTable, Key: { pk: streamPk(user), sk: eventSk(1) } }));
    const { route: after } = await publish(user, { n: 2 });
    expect(after.stream_epoch).not.toBe(route.stream_epoch);
    const client = await connect(user, 'phone');
    client.send({ action: 'resume', cursor: encodeCursor({ epoch: route.stream_epoch!, position: 1 }) });
    const stale = await client.waitForFrame('cursor_stale');
    expect(stale['cursor']).toBe(encodeCursor({ epoch: after.stream_epoch!, position: 1 }));

    // Expired history: events 2–3 are past the freshness window (TTL has not deleted them yet).
    const old = uid('old');
    const epoch = 'exp1epoch';
    const now = Date.now();
    await documents.send(new PutCommand({ TableName: streamsTable, Item: { pk: streamPk(old), sk: HEAD_SK, epoch, position: 0, created_at: now } }));
    for (const position of [1, 2, 3, 4]) {
      const expiresAtMs = position <= 3 ? now - 1000 : now + 60_000;
      await documents.send(new PutCommand({
        TableName: streamsTable,
        Item: eventItem({ user_id: old, epoch, position, event_id: `e${position}`, notification_id: 'n', kind: 'chat.message', payload: {}, published_at: now, expires_at_ms: expiresAtMs }),
      }));
    }
    const oldClient = await connect(old, 'phone');
    oldClient.send({ action: 'resume', cursor: encodeCursor({ epoch, position: 1 }) });
    expect((await oldClient.waitForFrame('cursor_stale'))['reason']).toContain('expired');
    expect(oldClient.events()).toHaveLength(0);
  });

  it('answers a garbage cursor and an unknown action with error frames and keeps the connection', async () => {
    const client = await connect(uid('err'), 'phone');
    client.send({ action: 'resume', cursor: 'not-a-cursor!' });
    expect(await client.waitForFrame('error')).toMatchObject({ code: 'malformed_cursor' });
    client.send({ action: 'resume', cursor: Buffer.from('c1.ab.cd').toString('base64url') });
    await client.waitFor('second error', () => client.frames.filter((f) => f.type === 'error').length === 2);
    client.send({ action: 'subscribe' });
    await client.waitFor('third error', () => client.frames.filter((f) => f.type === 'error').length === 3);
    expect(client.frames.filter((f) => f.type === 'error').map((f) => f['code'])).toEqual(['malformed_cursor', 'malformed_cursor', 'unknown_action']);
    client.send('plain text');
    await client.waitFor('fourth error', () => client.frames.filter((f) => f.type === 'error').length === 4);
    client.send({ action: 'ping' });
    expect(await client.waitForFrame('pong')).toHaveProperty('at');
    expect(client.closed).toBeUndefined();
  });
});

describe('authorizer', () => {
  it.each([
    ['no token', async () => undefined, 401],
    ['a bad signature', async () => (await tokenFor('mallory', 'x')).replace(/.{4}$/, 'AAAA'), 401],
    ['another key', async () => new SignJWT({ sid: 'x' }).setProtectedHeader({ alg: 'HS256' }).setSubject('mallory').setExpirationTime('10m').sign(new TextEncoder().encode('k'.repeat(40))), 401],
    ['an expired token', async () => tokenFor('mallory', 'x', -60), 401],
    ['no sid claim', async () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('mallory').setExpirationTime('10m').sign(new TextEncoder().encode(tokenSecret)), 401],
  ])('refuses a connection with %s before $connect runs', async (_name, token, status) => {
    const before = (await documents.send(new QueryCommand({ TableName: connectionsTable, KeyConditionExpression: 'user_id = :u', ExpressionAttributeValues: { ':u': 'mallory' } }))).Items ?? [];
    await expect(RawClient.connect(await token())).rejects.toMatchObject({ status });
    const after = (await documents.send(new QueryCommand({ TableName: connectionsTable, KeyConditionExpression: 'user_id = :u', ExpressionAttributeValues: { ':u': 'mallory' } }))).Items ?? [];
    expect(after).toHaveLength(before.length);
  });
});

describe('a backend issuing tokens as examples/issueConnectionToken.ts does', () => {
  it('reads the key from the TokenSecretArn secret, and its token connects the user to their own events', async () => {
    const secrets = new SecretsManagerClient({ region: endpoints.region, credentials: endpoints.credentials, endpoint: endpoints.events });
    const issue = connectionTokenIssuer(endpoints.outputs['HeraldTokenSecretArn']!, secrets);
    const user = uid('issued');

    const client = await RawClient.connect(await issue(user, 'laptop'));
    try {
      client.send({ action: 'resume', cursor: '' });
      await client.waitFor('replay_complete', () => client.frames.find((f) => f.type === 'replay_complete'));
      await publish(user, { via: 'issued token' });

      const [event] = await client.waitFor('the event', () => client.events().length > 0 && client.events());
      expect(event).toMatchObject({ payload: { via: 'issued token' } });
    } finally {
      await client.close();
    }
    const expired = await issue(user, 'laptop', -60);
    await expect(RawClient.connect(expired)).rejects.toMatchObject({ status: 401 });
  });
});

describe('connection registry', () => {
  it('registers on connect and removes on disconnect', async () => {
    const user = uid('reg');
    const client = await connect(user, 'phone');
    expect((await connectionRegistry.listForUser(user)).map((c) => c.device_session_id)).toEqual(['phone']);
    await client.close();
    await waitFor('registry entry removed', async () => (await connectionRegistry.listForUser(user)).length === 0);
  });

  it('keeps a just-registered connection whose first post gets 410 (not open yet), and the client still gets the event on resume', async () => {
    const user = uid('early');
    const now = Date.now();
    await connectionRegistry.register({ user_id: user, connection_id: 'not-open-yet', device_session_id: 'phone', connected_at: now });

    const { route } = await publish(user, { text: 'while connecting' });

    expect(route.status).toBe('published');
    expect((await connectionRegistry.listForUser(user)).map((c) => c.connection_id)).toEqual(['not-open-yet']);
    await connectionRegistry.remove(user, 'not-open-yet');
  });

  it('removes a connection that vanished without $disconnect when its first post gets 410; the route still publishes', async () => {
    const user = uid('ghost');
    await connect(user, 'phone');
    const [connection] = await connectionRegistry.listForUser(user);
    const vanished = await actOnConnection(connection!.connection_id, 'vanish');
    expect(vanished.status).toBe(200);
    expect(await connectionRegistry.listForUser(user)).toHaveLength(1);
    // A 410 within 10 s of $connect means "not open yet", not gone: wait past that grace.
    await new Promise((r) => setTimeout(r, 10_500));

    const { route } = await publish(user, { text: 'anyone there?' });

    expect(route.status).toBe('published');
    expect(route.attempts).toBe(1);
    expect(await connectionRegistry.listForUser(user)).toHaveLength(0);
    const gone = await fetch(`${endpoints.websocketCallback}/@connections/${encodeURIComponent(connection!.connection_id)}`, { method: 'POST', body: '{}' });
    expect(gone.status).toBe(410);
  });

  it('enforces API Gateway\'s 128 KiB message limit on client messages', async () => {
    const client = await connect(uid('big'), 'phone');
    client.send(JSON.stringify({ action: 'ping', pad: 'x'.repeat(130 * 1024) }));
    const closed = await client.waitFor('close', () => client.closed);
    expect(closed.code).toBe(1009);
  });

  it('answers 413 to a post larger than 128 KiB through the management API', async () => {
    const user = uid('post');
    await connect(user, 'phone');
    const [connection] = await connectionRegistry.listForUser(user);
    const tooBig = await fetch(`${endpoints.websocketCallback}/@connections/${encodeURIComponent(connection!.connection_id)}`, { method: 'POST', body: 'x'.repeat(129 * 1024) });
    expect(tooBig.status).toBe(413);
    const info = await fetch(`${endpoints.websocketCallback}/@connections/${encodeURIComponent(connection!.connection_id)}`);
    expect(await info.json()).toHaveProperty('ConnectedAt');
  });
});

describe('gapless positions', () => {
  it('assigns positions 1..200 with no gap and no duplicate when 200 events are published concurrently to one user', async () => {
    const user = uid('busy');

    await Promise.all(Array.from({ length: 200 }, (_, i) => sendIntent(intent('chat.message', { user_id: user }, { n: i }))));

    await waitFor('200 events stored', async () => (await eventBuffer.getHead(user))?.position === 200, 120_000, 250);
    const events = await eventBuffer.readAfter(user, 0, 1000, Date.now());
    expect(events.map((e) => e.position)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(new Set(events.map((e) => e.event_id)).size).toBe(200);
    expect(new Set(events.map((e) => JSON.stringify(e.payload))).size).toBe(200);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await eventBuffer.getHead(user))?.position).toBe(200);
  });
});

describe('session invalidation', () => {
  it('sends session_invalidated and then closes exactly the targeted sockets', async () => {
    const [alice, bob] = [uid('inv-a'), uid('inv-b')];
    const [phone, laptop, other] = await Promise.all([connect(alice, 'phone'), connect(alice, 'laptop'), connect(bob, 'phone')]);

    expect(await sessionInvalidator.invalidate(alice, { deviceSessionId: 'phone', reason: 'session.revoked' })).toBe(1);

    await phone.waitFor('phone closed', () => phone.closed);
    expect(phone.frames.at(-1)).toEqual({ type: 'session_invalidated', reason: 'session.revoked', device_session_id: 'phone' });
    await new Promise((r) => setTimeout(r, 300));
    expect(laptop.closed).toBeUndefined();
    expect(other.closed).toBeUndefined();

    expect(await sessionInvalidator.invalidate(alice, { reason: 'user.blocked' })).toBe(1);
    await laptop.waitFor('laptop closed', () => laptop.closed);
    expect(laptop.frames.at(-1)).toMatchObject({ type: 'session_invalidated', reason: 'user.blocked' });
    expect(other.closed).toBeUndefined();
    expect(await connectionRegistry.listForUser(alice)).toHaveLength(0);
    expect(await connectionRegistry.listForUser(bob)).toHaveLength(1);
  });
});
