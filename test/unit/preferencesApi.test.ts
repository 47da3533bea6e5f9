import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidTokenError } from '../../functions/core/auth/AccessTokenVerifier.ts';
import type { CatalogEntry } from '../../functions/core/catalog/catalogTypes.ts';
import { API_ERROR_CODES, PreferencesApi, type PreferenceStore } from '../../functions/core/preferences/PreferencesApi.ts';
import type { UserPreferences } from '../../functions/core/preferences/preferences.ts';

const catalog: Record<string, CatalogEntry> = {
  'chat.message': { channels: ['push'] },
  'security.alert': { channels: ['push', 'email'], email: { subject: 's', text: 't' }, preferences: { required: ['email'] } },
};

/** A store in memory with the DynamoDB one's rules (version check, deleted users); the real one is tested against DynamoDB Local. */
function memoryStore(deletedUsers: string[] = []): PreferenceStore & { stored: Map<string, { preferences: UserPreferences; updatedAt: number }> } {
  const stored = new Map<string, { preferences: UserPreferences; updatedAt: number }>();
  return {
    stored,
    getPreferences: async (userId) => ({ ...(stored.get(userId) ?? { preferences: {} }), deleted: deletedUsers.includes(userId) }),
    putPreferences: async (userId, preferences, now, expected) => {
      if (deletedUsers.includes(userId)) return 'deleted';
      if (expected !== undefined && (stored.get(userId)?.updatedAt ?? 0) !== expected) return 'changed';
      stored.set(userId, { preferences, updatedAt: now });
      return 'stored';
    },
  };
}

let now = 1_000;
const verify = async (token: string | undefined) => {
  if (token?.startsWith('good-')) return { userId: token.slice(5), deviceSessionId: 'phone' };
  throw new InvalidTokenError(token === 'expired' ? 'the token expired' : 'signature verification failed');
};
const api = (store = memoryStore()) => ({ store, api: new PreferencesApi(catalog, { verify, store, clock: { now: () => (now += 1) } }) });

describe('PreferencesApi', () => {
  it('answers the token user\'s preferences with an ETag, and replaces them on PUT', async () => {
    const { api: preferences } = api();
    const empty = await preferences.handle({ method: 'GET', authorization: 'Bearer good-u1' });
    expect(empty).toEqual({ status: 200, headers: { etag: '"0"' }, body: { user_id: 'u1', preferences: {} } });

    const put = await preferences.handle({ method: 'PUT', authorization: 'Bearer good-u1', contentType: 'application/json', ifMatch: '"0"', body: '{"types":{"chat.message":{"push":false}}}' });
    expect(put.status).toBe(200);
    const read = await preferences.handle({ method: 'GET', authorization: 'bearer good-u1' });
    expect(read.body).toMatchObject({ user_id: 'u1', preferences: { types: { 'chat.message': { push: false } } } });
    expect(read.headers['etag']).toBe(put.headers['etag']);
    // Another user's token reads another user's (empty) document: the user is never a parameter.
    expect((await preferences.handle({ method: 'GET', authorization: 'Bearer good-u2' })).body).toEqual({ user_id: 'u2', preferences: {} });
  });

  it('refuses a PUT whose If-Match is no longer current (412), and one with a malformed ETag', async () => {
    const { api: preferences } = api();
    const first = await preferences.handle({ method: 'PUT', authorization: 'Bearer good-u1', body: '{}' });
    await preferences.handle({ method: 'PUT', authorization: 'Bearer good-u1', body: '{"channels":{"push":false}}' });
    const stale = await preferences.handle({ method: 'PUT', authorization: 'Bearer good-u1', ifMatch: first.headers['etag']!, body: '{}' });
    expect(stale).toMatchObject({ status: 412, body: { error: 'precondition_failed' } });
    expect((await preferences.handle({ method: 'PUT', authorization: 'Bearer good-u1', ifMatch: 'banana', body: '{}' })).status).toBe(412);
  });

  it.each([
    ['no Authorization header', { method: 'GET' }, 401, 'unauthorized'],
    ['a scheme other than Bearer', { method: 'GET', authorization: 'Basic dTpw' }, 401, 'unauthorized'],
    ['a forged token', { method: 'GET', authorization: 'Bearer forged' }, 401, 'unauthorized'],
    ['an expired token', { method: 'PUT', authorization: 'Bearer expired', body: '{}' }, 401, 'unauthorized'],
    ['a body that is not JSON', { method: 'PUT', authorization: 'Bearer good-u1', body: '{"channels":' }, 400, 'invalid_json'],
    ['an unknown type', { method: 'PUT', authorization: 'Bearer good-u1', body: '{"types":{"nope":{"push":false}}}' }, 400, 'invalid_preferences'],
    ['a required channel turned off', { method: 'PUT', authorization: 'Bearer good-u1', body: '{"types":{"security.alert":{"email":false}}}' }, 400, 'invalid_preferences'],
    ['a form body', { method: 'PUT', authorization: 'Bearer good-u1', contentType: 'application/x-www-form-urlencoded', body: 'a=b' }, 415, 'unsupported_media_type'],
    ['a body over 16 KiB', { method: 'PUT', authorization: 'Bearer good-u1', body: JSON.stringify({ channels: {}, pad: 'x'.repeat(17_000) }) }, 413, 'too_large'],
    ['a DELETE', { method: 'DELETE', authorization: 'Bearer good-u1' }, 405, 'method_not_allowed'],
  ])('answers %s with %i %s and stores nothing', async (_name, request, status, code) => {
    const { api: preferences, store } = api();
    const answer = await preferences.handle(request);
    expect(answer.status).toBe(status);
    expect(answer.body).toMatchObject({ error: code, message: expect.any(String) });
    expect(store.stored.size).toBe(0);
    if (status === 401) expect(answer.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('answers a deleted user 403 user_deleted on GET and PUT', async () => {
    const { api: preferences } = api(memoryStore(['gone']));
    expect((await preferences.handle({ method: 'GET', authorization: 'Bearer good-gone' })).body).toMatchObject({ error: 'user_deleted' });
    expect((await preferences.handle({ method: 'PUT', authorization: 'Bearer good-gone', body: '{}' })).status).toBe(403);
  });

  it('documents every error code it answers with in docs/openapi.yaml', () => {
    const openapi = readFileSync('docs/openapi.yaml', 'utf8');
    const listed = openapi.match(/enum: \[(unauthorized[^\]]*)\]/)![1]!.split(', ');
    expect(listed.sort()).toEqual([...API_ERROR_CODES].sort());
  });
});
