import { afterEach, describe, expect, it } from 'vitest';
import { mintAccessToken } from '../../functions/core/auth/AccessTokenVerifier.ts';
import { notificationIdFor } from '../../functions/core/route/identifiers.ts';
import { endpoints, intent, sendIntent, store, uid, waitFor } from './support.ts';
import { closeAllClients, tokenFor } from './wsClient.ts';

const api = endpoints.httpApi!;

afterEach(async () => {
  await closeAllClients();
});

async function call(method: string, token: string | undefined, init: { body?: string; headers?: Record<string, string>; path?: string } = {}) {
  const response = await fetch(`${api}${init.path ?? '/v1/preferences'}`, {
    method,
    headers: { ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}), ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? undefined : (JSON.parse(text) as Record<string, any>) };
}

describe('the app API on the offline stack (HTTP API from the template, the api function, the WebSocket\'s tokens)', () => {
  it('reads and replaces the signed-in user\'s preferences, and acceptance enforces what was set', async () => {
    // Prepare
    const user = uid('api');
    const token = await tokenFor(user, 'phone');

    // Act: read (nothing chosen yet), then turn welcome off on push, conditional on that version.
    const before = await call('GET', token);
    const put = await call('PUT', token, { body: JSON.stringify({ types: { welcome: { push: false } } }), headers: { 'if-match': before.headers.get('etag')! } });
    const after = await call('GET', token);
    const sent = intent('welcome', { user_id: user, email: `${user}@example.com` }, { name: 'Ada' });
    await sendIntent(sent);

    // Assess
    expect(before).toMatchObject({ status: 200, body: { user_id: user, preferences: {} } });
    expect(before.headers.get('etag')).toBe('"0"');
    expect(put).toMatchObject({ status: 200, body: { user_id: user, preferences: { types: { welcome: { push: false } } }, updated_at: expect.any(Number) } });
    expect(after.body).toEqual(put.body);
    expect(after.headers.get('etag')).toBe(put.headers.get('etag'));
    const routes = await waitFor('both routes settled', async () => {
      const listed = await store.listRoutes(notificationIdFor('tests', sent.idempotency_key));
      return listed.length === 2 && listed.every((r) => r.status === 'published' || r.status === 'cancelled') ? listed : undefined;
    });
    expect(routes.find((r) => r.channel === 'push')).toMatchObject({ status: 'cancelled', cancel_reason: 'preference' });
    expect(routes.find((r) => r.channel === 'email')).toMatchObject({ status: 'published' });
  });

  it('lets a user see and change only their own preferences', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    await call('PUT', await tokenFor(alice, 'phone'), { body: JSON.stringify({ channels: { email: false } }) });

    const bobReads = await call('GET', await tokenFor(bob, 'laptop'));
    await call('PUT', await tokenFor(bob, 'laptop'), { body: JSON.stringify({ channels: { push: false } }) });
    const aliceReads = await call('GET', await tokenFor(alice, 'phone'));

    expect(bobReads.body).toEqual({ user_id: bob, preferences: {} });
    expect(aliceReads.body).toMatchObject({ user_id: alice, preferences: { channels: { email: false } } });
  });

  it.each([
    ['no token', async () => undefined],
    ['a forged token (another key)', async () => mintAccessToken('x'.repeat(64), { userId: 'mallory', deviceSessionId: 'x' })],
    ['an expired token', async () => tokenFor('mallory', 'x', -60)],
    ['an altered token', async () => `${(await tokenFor('mallory', 'x')).slice(0, -2)}AA`],
  ])('refuses %s with 401 unauthorized and a Bearer challenge, changing nothing', async (_name, token) => {
    const answer = await call('PUT', await token(), { body: '{"channels":{"push":false}}' });
    expect(answer).toMatchObject({ status: 401, body: { error: 'unauthorized', message: expect.any(String) } });
    expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await call('GET', await tokenFor('mallory', 'x'))).body).toEqual({ user_id: 'mallory', preferences: {} });
  });

  it('answers bad input with its error: invalid JSON 400, an unknown type 400, a stale If-Match 412, an unknown path 404', async () => {
    const token = await tokenFor(uid('bad'), 'phone');
    const first = await call('PUT', token, { body: '{}' });
    await call('PUT', token, { body: '{"channels":{"push":false}}' });

    expect(await call('PUT', token, { body: '{"channels":' })).toMatchObject({ status: 400, body: { error: 'invalid_json' } });
    expect(await call('PUT', token, { body: '{"types":{"no.such.type":{"push":false}}}' })).toMatchObject({ status: 400, body: { error: 'invalid_preferences', message: expect.stringContaining('no.such.type') } });
    expect(await call('PUT', token, { body: '{}', headers: { 'if-match': first.headers.get('etag')! } })).toMatchObject({ status: 412, body: { error: 'precondition_failed' } });
    expect(await call('GET', token, { path: '/v1/nothing' })).toMatchObject({ status: 404, body: { message: 'Not Found' } });
  });

  it('answers a browser\'s CORS preflight itself and marks answers readable from any origin', async () => {
    const preflight = await fetch(`${api}/v1/preferences`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization,content-type,if-match' },
    });
    const read = await call('GET', await tokenFor(uid('cors'), 'web'), { headers: { origin: 'https://app.example.com' } });

    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('PUT');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('if-match');
    expect(read.headers.get('access-control-allow-origin')).toBe('*');
    expect(read.headers.get('access-control-expose-headers')).toBe('etag');
  });
});
