import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { PreferencesApi } from '../core/preferences/PreferencesApi.ts';
import { systemClock } from '../core/types.ts';
import { documentClient } from '../adapters/awsClients.ts';
import { DynamoUserStates } from '../adapters/DynamoUserStates.ts';
import { accessTokenVerifierFromEnv } from './shared/accessTokens.ts';
import { loadServiceConfig } from './shared/config.ts';
import { countMetric, countMetricsFlush, logger, traced, traceInvocation } from './shared/observability.ts';

const config = loadServiceConfig();
const preferences = new PreferencesApi(config.catalog, {
  verify: accessTokenVerifierFromEnv(),
  store: new DynamoUserStates(traced(documentClient()), config.tableName),
  clock: systemClock,
});

/** api λ: the HTTP API for apps (payload format 2.0) — `GET` / `PUT /v1/preferences`. */
export const handler = middy(async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const body = event.body === undefined ? undefined : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  const answer = await preferences.handle({
    method: event.requestContext.http.method,
    ...(event.headers['authorization'] !== undefined ? { authorization: event.headers['authorization'] } : {}),
    ...(event.headers['if-match'] !== undefined ? { ifMatch: event.headers['if-match'] } : {}),
    ...(event.headers['content-type'] !== undefined ? { contentType: event.headers['content-type'] } : {}),
    ...(body !== undefined ? { body } : {}),
  });
  const code = (answer.body as { error?: string }).error;
  countMetric('ApiRequests', { route: event.routeKey, status: String(answer.status) });
  if (code !== undefined) logger.info('api request refused', { route: event.routeKey, status: answer.status, error: code });
  return { statusCode: answer.status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...answer.headers }, body: JSON.stringify(answer.body) };
})
  .use(traceInvocation())
  .use(injectLambdaContext(logger))
  .use(countMetricsFlush());
