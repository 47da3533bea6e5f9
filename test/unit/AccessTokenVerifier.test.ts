import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { AccessTokenVerifier, InvalidTokenError, mintAccessToken } from '../../functions/core/auth/AccessTokenVerifier.ts';

const secret = 's'.repeat(48);
const verifier = new AccessTokenVerifier({ kind: 'hmac', secret }, { issuer: 'herald-test' });
const sign = (claims: Record<string, unknown>, key = secret, alg = 'HS256') =>
  new SignJWT(claims).setProtectedHeader({ alg }).sign(new TextEncoder().encode(key));
const inOneHour = () => Math.floor(Date.now() / 1000) + 3600;

describe('AccessTokenVerifier', () => {
  it('accepts a token it minted and returns the user and device session', async () => {
    const token = await mintAccessToken(secret, { userId: 'u-1', deviceSessionId: 'phone', issuer: 'herald-test' });
    expect(await verifier.verify(token)).toEqual({ userId: 'u-1', deviceSessionId: 'phone' });
  });

  it.each([
    ['missing', async () => undefined, 'no token'],
    ['garbage', async () => 'not.a.jwt', 'token rejected'],
    ['signed with another key', async () => sign({ sub: 'u', sid: 's', exp: inOneHour(), iss: 'herald-test' }, 'x'.repeat(48)), 'token rejected'],
    ['expired', async () => sign({ sub: 'u', sid: 's', exp: 1000, iss: 'herald-test' }), 'token expired'],
    ['without exp', async () => sign({ sub: 'u', sid: 's', iss: 'herald-test' }), 'token rejected'],
    ['without sid', async () => sign({ sub: 'u', exp: inOneHour(), iss: 'herald-test' }), 'token rejected'],
    ['from another issuer', async () => sign({ sub: 'u', sid: 's', exp: inOneHour(), iss: 'evil' }), 'token rejected'],
    ['with a user id that breaks route ids', async () => sign({ sub: 'a:b', sid: 's', exp: inOneHour(), iss: 'herald-test' }), 'sub is not a valid user id'],
    ['using alg none', async () => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'u', sid: 's', exp: inOneHour(), iss: 'herald-test' })).toString('base64url')}.`, 'token rejected'],
  ])('rejects a token that is %s', async (_name, token, message) => {
    const attempt = verifier.verify(await token());
    await expect(attempt).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(verifier.verify(await token())).rejects.toThrow(message);
  });

  it('refuses a short HMAC secret at construction', () => {
    expect(() => new AccessTokenVerifier({ kind: 'hmac', secret: 'short' })).toThrow('at least 32 characters');
  });
});
