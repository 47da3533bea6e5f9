import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { AccessTokenVerifier, InvalidTokenError } from '../core/auth/AccessTokenVerifier.ts';
import { readSecret } from '../adapters/readSecret.ts';
import { countMetric, flushCountMetrics, logger } from './shared/observability.ts';

/** Built once per execution environment: the secret is read at cold start, not per connection. */
const verifier = (async () => {
  const options = {
    ...(process.env['JWT_ISSUER'] ? { issuer: process.env['JWT_ISSUER'] } : {}),
    ...(process.env['JWT_AUDIENCE'] ? { audience: process.env['JWT_AUDIENCE'] } : {}),
  };
  if (process.env['JWKS_URL']) return new AccessTokenVerifier({ kind: 'jwks', url: process.env['JWKS_URL'] }, options);
  const secretArn = process.env['JWT_SECRET_ARN'];
  if (!secretArn) throw new Error('environment variable JWT_SECRET_ARN or JWKS_URL is required');
  return new AccessTokenVerifier({ kind: 'hmac', secret: await readSecret(secretArn) }, options);
})();

/**
 * REQUEST authorizer of `$connect`: verifies `?token=<JWT>` and passes the user and device session
 * to every route of the connection. Anything else is refused before `$connect` runs: throwing
 * "Unauthorized" makes API Gateway answer 401.
 */
export async function handler(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  try {
    const identity = await (await verifier).verify(event.queryStringParameters?.['token']);
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
