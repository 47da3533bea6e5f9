import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { AccessTokenVerifier, InvalidTokenError, TokenSignatureMismatchError, type AccessIdentity, type VerifierOptions } from '../core/auth/AccessTokenVerifier.ts';
import { RefreshingValue } from '../core/auth/RefreshingValue.ts';
import { systemClock } from '../core/types.ts';
import { readSecretVersions } from '../adapters/readSecret.ts';
import { countMetric, flushCountMetrics, logger } from './shared/observability.ts';

/** How long the HS256 keys are kept before they are read again. */
const KEYS_TTL_MS = 5 * 60_000;
/** A token that matches no cached key makes the keys be read again if they are at least this old: it may be signed with a key rotated in since. */
const KEYS_RECHECK_AFTER_MS = 5_000;

const options: VerifierOptions = {
  ...(process.env['JWT_ISSUER'] ? { issuer: process.env['JWT_ISSUER'] } : {}),
  ...(process.env['JWT_AUDIENCE'] ? { audience: process.env['JWT_AUDIENCE'] } : {}),
};

/** Verifies a token: against the JWKS (jose caches and refreshes its keys), or against the secret's current and previous HS256 keys. */
const verify: (token: string | undefined) => Promise<AccessIdentity> = process.env['JWKS_URL']
  ? ((verifier) => (token) => verifier.verify(token))(new AccessTokenVerifier({ kind: 'jwks', url: process.env['JWKS_URL'] }, options))
  : hmacVerify();

function hmacVerify(): (token: string | undefined) => Promise<AccessIdentity> {
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

/**
 * REQUEST authorizer of `$connect`: verifies `?token=<JWT>` and passes the user and device session
 * to every route of the connection. Anything else is refused before `$connect` runs: throwing
 * "Unauthorized" makes API Gateway answer 401. A failure to read the keys is not cached: it fails
 * this connection (API Gateway answers 500) and the next one reads them again.
 */
export async function handler(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  try {
    const identity = await verify(event.queryStringParameters?.['token']);
    return {
      principalId: identity.userId,
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }] },
      context: { userId: identity.userId, deviceSessionId: identity.deviceSessionId },
    };
  } catch (error) {
    if (error instanceof InvalidTokenError) {
      logger.info('connection refused', { reason: error.message });
      countMetric('ConnectionsRefused', {});
      flushCountMetrics();
      throw new Error('Unauthorized');
    }
    throw error;
  }
}
