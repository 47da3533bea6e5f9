import { errors, jwtVerify, SignJWT } from 'jose';
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
 * Signs and verifies the tokens in one-click unsubscribe links (RFC 8058): HS256 JWTs with a key of
 * their own (the stack's unsubscribe secret), naming the user, the type and the channel, expiring
 * after {@link UNSUBSCRIBE_TOKEN_TTL_SECONDS}. Anyone holding the link can use it, as RFC 8058
 * intends (no sign-in); it can do nothing but turn that one type off on that one channel.
 */
export class UnsubscribeTokens {
  private readonly key: Uint8Array;

  public constructor(secret: string) {
    if (secret.length < 32) throw new HeraldError('the unsubscribe secret must be at least 32 characters');
    this.key = new TextEncoder().encode(secret);
  }

  public sign(claims: UnsubscribeClaims, nowMs: number): Promise<string> {
    const issuedAt = Math.floor(nowMs / 1000);
    return new SignJWT({ typ: claims.notificationType, ch: claims.channel })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(claims.userId)
      .setAudience(AUDIENCE)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + UNSUBSCRIBE_TOKEN_TTL_SECONDS)
      .sign(this.key);
  }

  public async verify(token: string | undefined, nowMs: number): Promise<UnsubscribeClaims> {
    if (token === undefined || token === '') throw new InvalidUnsubscribeTokenError('invalid', 'the link has no token');
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], audience: AUDIENCE, currentDate: new Date(nowMs) });
      const { sub, typ, ch } = payload as { sub?: unknown; typ?: unknown; ch?: unknown };
      if (typeof sub !== 'string' || typeof typ !== 'string' || ch !== 'email') throw new InvalidUnsubscribeTokenError('invalid', 'the link does not name a user, a type and a channel');
      return { userId: sub, notificationType: typ, channel: 'email' };
    } catch (error) {
      if (error instanceof InvalidUnsubscribeTokenError) throw error;
      if (error instanceof errors.JWTExpired) throw new InvalidUnsubscribeTokenError('expired', 'the link has expired');
      throw new InvalidUnsubscribeTokenError('invalid', 'the link is not one Herald made (altered, or cut short)');
    }
  }
}
