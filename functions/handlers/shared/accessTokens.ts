import { AccessTokenVerifier, TokenSignatureMismatchError, type AccessIdentity, type VerifierOptions } from '../../core/auth/AccessTokenVerifier.ts';
import { RefreshingValue } from '../../core/auth/RefreshingValue.ts';
import { systemClock } from '../../core/types.ts';
import { readSecretVersions } from '../../adapters/readSecret.ts';
import { logger } from './observability.ts';

/** How long the HS256 keys are kept before they are read again. */
const KEYS_TTL_MS = 5 * 60_000;
/** A token that matches no cached key makes the keys be read again if they are at least this old: it may be signed with a key rotated in since. */
const KEYS_RECHECK_AFTER_MS = 5_000;

/**
 * Verifies an access token as the stack's environment says (the same tokens for the WebSocket and
 * the HTTP API): against the JWKS of JWKS_URL (jose caches and refreshes its keys), or against the
 * current and previous HS256 keys of the secret JWT_SECRET_ARN; JWT_ISSUER and JWT_AUDIENCE when set.
 */
export function accessTokenVerifierFromEnv(): (token: string | undefined) => Promise<AccessIdentity> {
  const options: VerifierOptions = {
    ...(process.env['JWT_ISSUER'] ? { issuer: process.env['JWT_ISSUER'] } : {}),
    ...(process.env['JWT_AUDIENCE'] ? { audience: process.env['JWT_AUDIENCE'] } : {}),
  };
  const jwksUrl = process.env['JWKS_URL'];
  if (jwksUrl) {
    const verifier = new AccessTokenVerifier({ kind: 'jwks', url: jwksUrl }, options);
    return (token) => verifier.verify(token);
  }
  return hmacVerify(options);
}

function hmacVerify(options: VerifierOptions): (token: string | undefined) => Promise<AccessIdentity> {
  const secretArn = process.env['JWT_SECRET_ARN'];
  if (!secretArn) throw new Error('environment variable JWT_SECRET_ARN or JWKS_URL is required');
  let verifierFor: { keys: object; verifier: AccessTokenVerifier } | undefined;
  const keys = new RefreshingValue(() => readSecretVersions(secretArn), KEYS_TTL_MS, systemClock, (error) =>
    logger.warn('reading the token secret failed; verifying with the keys read before', { error: error as Error }),
  );
  const verifierOf = (versions: Awaited<ReturnType<typeof readSecretVersions>>) => {
    if (verifierFor?.keys !== versions) {
      verifierFor = {
        keys: versions,
        verifier: new AccessTokenVerifier({ kind: 'hmac', secret: versions.current, ...(versions.previous ? { previousSecret: versions.previous } : {}) }, options),
      };
    }
    return verifierFor.verifier;
  };
  return async (token) => {
    try {
      return await verifierOf(await keys.get()).verify(token);
    } catch (error) {
      if (!(error instanceof TokenSignatureMismatchError)) throw error;
      return verifierOf(await keys.refreshIfOlderThan(KEYS_RECHECK_AFTER_MS)).verify(token);
    }
  };
}
