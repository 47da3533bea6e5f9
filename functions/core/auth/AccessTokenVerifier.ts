import { createRemoteJWKSet, errors, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import { HeraldError } from '../errors.ts';

/** Who a verified token says the caller is. */
export interface AccessIdentity {
  readonly userId: string;
  readonly deviceSessionId: string;
}

/** The token is missing, forged, expired or lacks a required claim. */
export class InvalidTokenError extends HeraldError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidTokenError';
  }
}

/** The token's signature matches none of the keys (forged, or signed with a key this verifier does not have yet). */
export class TokenSignatureMismatchError extends InvalidTokenError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TokenSignatureMismatchError';
  }
}

export type TokenKeySource =
  /**
   * HS256 with the secret's current value and, during a rotation, its previous one (Secrets
   * Manager's AWSCURRENT and AWSPREVIOUS), so tokens signed before the rotation stay valid.
   */
  | { readonly kind: 'hmac'; readonly secret: string; readonly previousSecret?: string }
  | { readonly kind: 'jwks'; readonly url: string };

export interface VerifierOptions {
  readonly issuer?: string;
  readonly audience?: string;
}

const ID = /^[A-Za-z0-9._@+=-]{1,128}$/;

/**
 * Verifies connection tokens: a JWT with `sub` = user id, `sid` = device session id and `exp`,
 * signed with HS256 (shared secret) or by a key from a JWKS URL (RS256/ES256/EdDSA).
 */
export class AccessTokenVerifier {
  /** Keys tried in order: the first whose signature matches decides. */
  private readonly keys: readonly (Uint8Array | JWTVerifyGetKey)[];
  private readonly algorithms: string[];

  public constructor(source: TokenKeySource, private readonly options: VerifierOptions = {}) {
    if (source.kind === 'hmac') {
      const secrets = [source.secret, ...(source.previousSecret !== undefined && source.previousSecret !== source.secret ? [source.previousSecret] : [])];
      if (secrets.some((secret) => secret.length < 32)) throw new HeraldError('the HMAC token secret must be at least 32 characters');
      this.keys = secrets.map((secret) => new TextEncoder().encode(secret));
      this.algorithms = ['HS256'];
    } else {
      this.keys = [createRemoteJWKSet(new URL(source.url))];
      this.algorithms = ['RS256', 'ES256', 'EdDSA'];
    }
  }

  public async verify(token: string | undefined): Promise<AccessIdentity> {
    if (token === undefined || token === '') throw new InvalidTokenError('no token');
    try {
      const { payload } = await this.verifyWithSomeKey(token);
      const sid = payload['sid'];
      if (typeof payload.sub !== 'string' || !ID.test(payload.sub)) throw new InvalidTokenError('sub is not a valid user id');
      if (typeof sid !== 'string' || !ID.test(sid)) throw new InvalidTokenError('sid is not a valid device session id');
      return { userId: payload.sub, deviceSessionId: sid };
    } catch (error) {
      if (error instanceof InvalidTokenError) throw error;
      if (error instanceof errors.JWSSignatureVerificationFailed) throw new TokenSignatureMismatchError(`token rejected: ${error.code}`, { cause: error });
      const reason = error instanceof errors.JWTExpired ? 'token expired' : error instanceof errors.JOSEError ? `token rejected: ${error.code}` : 'token rejected';
      throw new InvalidTokenError(reason, { cause: error });
    }
  }

  /** The signature decides which key; claims are then checked once, with that key's answer. */
  private async verifyWithSomeKey(token: string) {
    const options = {
      algorithms: this.algorithms,
      requiredClaims: ['exp', 'sub', 'sid'],
      ...(this.options.issuer ? { issuer: this.options.issuer } : {}),
      ...(this.options.audience ? { audience: this.options.audience } : {}),
    };
    let failure: unknown;
    for (const key of this.keys) {
      try {
        return await jwtVerify(token, key as Uint8Array, options);
      } catch (error) {
        if (!(error instanceof errors.JWSSignatureVerificationFailed)) throw error;
        failure = error;
      }
    }
    throw failure;
  }
}

/** Mints an HS256 connection token (local development, tests, the CLI). */
export async function mintAccessToken(
  secret: string,
  claims: { userId: string; deviceSessionId: string; ttlSeconds?: number; issuer?: string; audience?: string },
): Promise<string> {
  let jwt = new SignJWT({ sid: claims.deviceSessionId })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.userId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (claims.ttlSeconds ?? 3600));
  if (claims.issuer) jwt = jwt.setIssuer(claims.issuer);
  if (claims.audience) jwt = jwt.setAudience(claims.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
