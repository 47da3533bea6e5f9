import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { InvalidTokenError } from '../core/auth/AccessTokenVerifier.ts';
import { accessTokenVerifierFromEnv } from './shared/accessTokens.ts';
import { countMetric, flushCountMetrics, logger } from './shared/observability.ts';

/** Verifies a token: against the JWKS, or against the secret's current and previous HS256 keys (shared with the app API). */
const verify = accessTokenVerifierFromEnv();

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
