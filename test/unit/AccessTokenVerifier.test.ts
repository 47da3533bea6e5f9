import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessTokenVerifier, InvalidTokenError, mintAccessToken, TokenSignatureMismatchError } from '../../functions/core/auth/AccessTokenVerifier.ts';

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
    expect(() => new AccessTokenVerifier({ kind: 'hmac', secret, previousSecret: 'short' })).toThrow('at least 32 characters');
  });

  it('accepts tokens signed with the current or the previous key during a rotation, and no other', async () => {
    // Prepare: the secret was rotated from `secret` to `rotated` (AWSPREVIOUS and AWSCURRENT).
    const rotated = 'r'.repeat(48);
    const rotating = new AccessTokenVerifier({ kind: 'hmac', secret: rotated, previousSecret: secret }, { issuer: 'herald-test' });
    const claims = { userId: 'u-1', deviceSessionId: 'phone', issuer: 'herald-test' };

    // Act / Assess
    expect(await rotating.verify(await mintAccessToken(rotated, claims))).toEqual({ userId: 'u-1', deviceSessionId: 'phone' });
    expect(await rotating.verify(await mintAccessToken(secret, claims))).toEqual({ userId: 'u-1', deviceSessionId: 'phone' });
    await expect(rotating.verify(await mintAccessToken('x'.repeat(48), claims))).rejects.toBeInstanceOf(TokenSignatureMismatchError);
    // A token with the right key but a wrong claim is refused for the claim, not retried with the other key.
    await expect(rotating.verify(await mintAccessToken(secret, { ...claims, issuer: 'evil' }))).rejects.toThrow('ERR_JWT_CLAIM_VALIDATION_FAILED');
  });
});

describe('AccessTokenVerifier with a JWKS (an identity provider\'s keys)', () => {
  const issuer = 'https://id.example.com/';
  let url: string;
  let close: () => void;
  let idpKey: CryptoKey;
  let otherKey: CryptoKey;
  let publicJwk: string;

  beforeAll(async () => {
    const idp = await generateKeyPair('ES256');
    idpKey = idp.privateKey;
    otherKey = (await generateKeyPair('ES256')).privateKey;
    publicJwk = JSON.stringify(await exportJWK(idp.publicKey));
    const jwks = JSON.stringify({ keys: [{ ...JSON.parse(publicJwk), kid: 'idp-1', alg: 'ES256', use: 'sig' }] });
    // A real HTTP server on a free port: the verifier fetches the key set as it would from the IdP.
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    close = () => server.close();
  });
  afterAll(() => close());

  const signed = (claims: Record<string, unknown>, key: CryptoKey = idpKey, kid = 'idp-1') =>
    new SignJWT({ sid: 'phone', ...claims }).setProtectedHeader({ alg: 'ES256', kid }).setSubject('u-7').setExpirationTime('10m').sign(key);
  const verifier = () => new AccessTokenVerifier({ kind: 'jwks', url }, { issuer, audience: 'herald' });

  it('accepts a token the IdP signed for Herald', async () => {
    expect(await verifier().verify(await signed({ iss: issuer, aud: 'herald' }))).toEqual({ userId: 'u-7', deviceSessionId: 'phone' });
  });

  it.each([
    ['for another application (audience)', () => signed({ iss: issuer, aud: 'billing' }), 'token rejected: ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['without an audience', () => signed({ iss: issuer }), 'token rejected: ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['from another issuer', () => signed({ iss: 'https://evil.example.com/', aud: 'herald' }), 'token rejected: ERR_JWT_CLAIM_VALIDATION_FAILED'],
    ['signed by a key the IdP does not publish', () => signed({ iss: issuer, aud: 'herald' }, otherKey), 'token rejected: ERR_JWS_SIGNATURE_VERIFICATION_FAILED'],
    ['naming a key id the IdP does not publish', () => signed({ iss: issuer, aud: 'herald' }, idpKey, 'idp-2'), 'token rejected: ERR_JWKS_NO_MATCHING_KEY'],
    ['HS256, signed with the IdP\'s public key as a secret (algorithm confusion)', () => sign({ sub: 'u-7', sid: 'phone', exp: inOneHour(), iss: issuer, aud: 'herald' }, publicJwk), 'token rejected: ERR_JOSE_ALG_NOT_ALLOWED'],
  ])('rejects a token %s', async (_name, token, message) => {
    await expect(verifier().verify(await token())).rejects.toThrow(message);
  });
});
