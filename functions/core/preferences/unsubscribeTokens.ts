import { createHmac, timingSafeEqual } from 'node:crypto';
import { HeraldError } from '../errors.ts';

/** What a one-click unsubscribe link may do: turn one type off on one channel for one user. */
export interface UnsubscribeClaims {
  readonly userId: string;
  readonly notificationType: string;
  readonly channel: 'email';
}

/** A link lives this long: long enough for a mail read weeks later, short enough to age out of forwarded mail. */
export const UNSUBSCRIBE_TOKEN_TTL_SECONDS = 60 * 86_400;
/** Its own audience: an unsubscribe token is never a connection token, nor the other way round. */
const AUDIENCE = 'herald:unsubscribe';
/** The JOSE header of every token: HS256 (RFC 7515 §4.1, RFC 7518 §3.2). */
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

/** Why a link was refused: said to the person who followed it. */
export class InvalidUnsubscribeTokenError extends HeraldError {
  public constructor(
    public readonly reason: 'expired' | 'invalid',
    message: string,
  ) {
    super(message);
    this.name = 'InvalidUnsubscribeTokenError';
  }
}

/**
 * Signs and verifies the tokens in one-click unsubscribe links (RFC 8058): compact HS256 JWTs
 * (RFC 7519) with a key of their own (the stack's unsubscribe secret), naming the user, the type and
 * the channel, expiring after {@link UNSUBSCRIBE_TOKEN_TTL_SECONDS}. Anyone holding the link can use
 * it, as RFC 8058 intends (no sign-in); it can do nothing but turn that one type off on that one
 * channel. Made with node:crypto rather than jose (which verifies the access tokens, and reads these
 * in a unit test): the deliver function signs one per email, and jose would add 6 KB gzip to its
 * bundle for this one fixed algorithm.
 */
export class UnsubscribeTokens {
  private readonly key: Buffer;

  public constructor(secret: string) {
    if (secret.length < 32) throw new HeraldError('the unsubscribe secret must be at least 32 characters');
    this.key = Buffer.from(secret, 'utf8');
  }

  public async sign(claims: UnsubscribeClaims, nowMs: number): Promise<string> {
    const issuedAt = Math.floor(nowMs / 1000);
    const payload = { sub: claims.userId, aud: AUDIENCE, typ: claims.notificationType, ch: claims.channel, iat: issuedAt, exp: issuedAt + UNSUBSCRIBE_TOKEN_TTL_SECONDS };
    const signingInput = `${HEADER}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    return `${signingInput}.${this.mac(signingInput).toString('base64url')}`;
  }

  public async verify(token: string | undefined, nowMs: number): Promise<UnsubscribeClaims> {
    const invalid = () => new InvalidUnsubscribeTokenError('invalid', 'the link is not one Herald made (altered, or cut short)');
    if (token === undefined || token === '') throw new InvalidUnsubscribeTokenError('invalid', 'the link has no token');
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== HEADER) throw invalid();
    const signature = Buffer.from(parts[2]!, 'base64url');
    const expected = this.mac(`${parts[0]}.${parts[1]}`);
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) throw invalid();
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      throw invalid();
    }
    const { sub, aud, typ, ch, exp } = payload;
    if (aud !== AUDIENCE || typeof sub !== 'string' || typeof typ !== 'string' || ch !== 'email' || typeof exp !== 'number') {
      throw new InvalidUnsubscribeTokenError('invalid', 'the link does not name a user, a type and a channel');
    }
    if (exp * 1000 <= nowMs) throw new InvalidUnsubscribeTokenError('expired', 'the link has expired');
    return { userId: sub, notificationType: typ, channel: 'email' };
  }

  private mac(signingInput: string): Buffer {
    return createHmac('sha256', this.key).update(signingInput).digest();
  }
}
