import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import type { CatalogEntry } from '../../functions/core/catalog/catalogTypes.ts';
import type { PreferenceStore } from '../../functions/core/preferences/PreferencesApi.ts';
import type { UserPreferences } from '../../functions/core/preferences/preferences.ts';
import { UnsubscribeApi } from '../../functions/core/preferences/UnsubscribeApi.ts';
import { InvalidUnsubscribeTokenError, UNSUBSCRIBE_TOKEN_TTL_SECONDS, UnsubscribeTokens } from '../../functions/core/preferences/unsubscribeTokens.ts';
import { AccessTokenVerifier, mintAccessToken } from '../../functions/core/auth/AccessTokenVerifier.ts';

const KEY = 'u'.repeat(48);
const NOW = Date.UTC(2026, 11, 5);
const tokens = new UnsubscribeTokens(KEY);
const claims = { userId: 'u-1', notificationType: 'digest', channel: 'email' as const };

describe('UnsubscribeTokens', () => {
  it('verifies what it signed, until it expires', async () => {
    const token = await tokens.sign(claims, NOW);
    expect(await tokens.verify(token, NOW + 1000)).toEqual(claims);
    await expect(tokens.verify(token, NOW + (UNSUBSCRIBE_TOKEN_TTL_SECONDS + 1) * 1000)).rejects.toMatchObject({ reason: 'expired' });
  });

  it.each([
    ['another key', async () => new UnsubscribeTokens('v'.repeat(48)).sign(claims, NOW)],
    ['an altered payload', async () => {
      const [head, , signature] = (await tokens.sign(claims, NOW)).split('.');
      const forged = Buffer.from(JSON.stringify({ sub: 'u-2', typ: 'digest', ch: 'email', aud: 'herald:unsubscribe', exp: NOW / 1000 + 60 })).toString('base64url');
      return `${head}.${forged}.${signature}`;
    }],
    ['a connection token signed with the same key (another audience)', async () => mintAccessToken(KEY, { userId: 'u-1', deviceSessionId: 'phone' })],
    ['nothing', async () => ''],
  ])('refuses %s as invalid', async (_name, token) => {
    await expect(tokens.verify(await token(), NOW)).rejects.toBeInstanceOf(InvalidUnsubscribeTokenError);
  });

  it('is a standard HS256 JWT: jose verifies it with the same key and audience', async () => {
    const token = await tokens.sign(claims, Date.now());
    const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(KEY), { algorithms: ['HS256'], audience: 'herald:unsubscribe' });
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload).toMatchObject({ sub: 'u-1', typ: 'digest', ch: 'email' });
    expect(payload.exp! - payload.iat!).toBe(UNSUBSCRIBE_TOKEN_TTL_SECONDS);
  });

  it('is never accepted as a connection token', async () => {
    const token = await tokens.sign(claims, Date.now());
    await expect(new AccessTokenVerifier({ kind: 'hmac', secret: KEY }).verify(token)).rejects.toThrow();
  });
});

describe('UnsubscribeApi', () => {
  const catalog: Record<string, CatalogEntry> = {
    digest: { channels: ['email'], email: { subject: 's', text: 't' } },
    'password.reset': { channels: ['email'], email: { subject: 's', text: 't' }, preferences: { required: true } },
  };
  const store = (deleted = false): PreferenceStore & { preferences: UserPreferences; writes: number } => {
    const state = { preferences: {} as UserPreferences, updatedAt: undefined as number | undefined, writes: 0 };
    return Object.assign(state, {
      getPreferences: async () => ({ preferences: state.preferences, ...(state.updatedAt !== undefined ? { updatedAt: state.updatedAt } : {}), deleted }),
      putPreferences: async (_user: string, preferences: UserPreferences, now: number) => {
        if (deleted) return 'deleted' as const;
        state.preferences = preferences;
        state.updatedAt = now;
        state.writes += 1;
        return 'stored' as const;
      },
    });
  };
  const api = (s = store()) => new UnsubscribeApi(catalog, { tokens: async () => tokens, store: s, clock: { now: () => NOW } });

  it('shows a page with a button on GET and changes nothing; POST turns the type off by email, once', async () => {
    const s = store();
    const token = await tokens.sign(claims, NOW);
    const page = await api(s).handle({ method: 'GET', token });
    expect(page).toMatchObject({ status: 200, outcome: 'page' });
    expect(String(page.body)).toContain('<form method="post">');
    expect(s.writes).toBe(0);
    expect(await api(s).handle({ method: 'POST', token })).toMatchObject({ status: 200, outcome: 'unsubscribed' });
    expect(await api(s).handle({ method: 'POST', token })).toMatchObject({ status: 200, outcome: 'unsubscribed' });
    expect(s.preferences).toEqual({ types: { digest: { email: false } } });
    expect(s.writes).toBe(1);
  });

  it('refuses a required type, a deleted user and a bad link, writing nothing', async () => {
    const s = store();
    const required = await tokens.sign({ ...claims, notificationType: 'password.reset' }, NOW);
    expect(await api(s).handle({ method: 'POST', token: required })).toMatchObject({ status: 409, outcome: 'required' });
    expect(await api(store(true)).handle({ method: 'POST', token: await tokens.sign(claims, NOW) })).toMatchObject({ status: 410, outcome: 'deleted' });
    expect(await api(s).handle({ method: 'POST', token: 'nope' })).toMatchObject({ status: 400, outcome: 'refused' });
    expect(s.writes).toBe(0);
  });

  it('escapes the type name in its pages', async () => {
    const page = await api().handle({ method: 'GET', token: await tokens.sign({ ...claims, notificationType: '<script>x</script>' }, NOW) });
    expect(String(page.body)).not.toContain('<script>');
  });
});
