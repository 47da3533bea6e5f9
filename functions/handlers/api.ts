import middy from '@middy/core';
import { hasInboxTypes } from '../core/inbox/inbox.ts';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { InboxApi } from '../core/inbox/InboxApi.ts';
import { PreferencesApi } from '../core/preferences/PreferencesApi.ts';
import { UnsubscribeApi } from '../core/preferences/UnsubscribeApi.ts';
import { systemClock } from '../core/types.ts';
import { documentClient } from '../adapters/awsClients.ts';
import { DynamoUserStates } from '../adapters/DynamoUserStates.ts';
import { accessTokenVerifierFromEnv } from './shared/accessTokens.ts';
import { inboxServiceFromEnv } from './shared/inboxFromEnv.ts';
import { loadServiceConfig } from './shared/config.ts';
import { unsubscribeTokensFromEnv } from './shared/unsubscribe.ts';
import { countMetric, countMetricsFlush, logger, traced, traceInvocation } from './shared/observability.ts';

const config = loadServiceConfig();
const store = new DynamoUserStates(traced(documentClient()), config.tableName);
// Preferences need the access tokens (a stack with push); unsubscribe needs the unsubscribe key (a stack that emails).
const verify = process.env['JWT_SECRET_ARN'] || process.env['JWKS_URL'] ? accessTokenVerifierFromEnv() : undefined;
const preferences = verify ? new PreferencesApi(config.catalog, { verify, store, clock: systemClock }) : undefined;
// The inbox: where the catalog keeps a type there (catalog `inbox`), with the tokens and streams of push.
const inbox = verify && hasInboxTypes(config.catalog) ? new InboxApi({ verify, inbox: inboxServiceFromEnv(config.tableName), clock: systemClock }) : undefined;
const tokens = unsubscribeTokensFromEnv();
const unsubscribe = tokens ? new UnsubscribeApi(config.catalog, { tokens, store, clock: systemClock }) : undefined;

/** api λ: the HTTP API for apps (payload format 2.0): `GET` / `PUT /v1/preferences`, `/v1/inbox…`, `GET` / `POST /v1/unsubscribe`. */
export const handler = middy(async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const body = event.body === undefined ? undefined : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  const method = event.requestContext.http.method;
  if (event.rawPath === '/v1/unsubscribe' && unsubscribe) {
    const answer = await unsubscribe.handle({ method, ...(event.queryStringParameters?.['token'] !== undefined ? { token: event.queryStringParameters['token'] } : {}) });
    countMetric('Unsubscribes', { outcome: answer.outcome });
    if (answer.outcome !== 'page' && answer.outcome !== 'unsubscribed') logger.info('unsubscribe refused', { outcome: answer.outcome, status: answer.status });
    return { statusCode: answer.status, headers: { 'cache-control': 'no-store', ...answer.headers }, body: String(answer.body) };
  }
  const common = {
    method,
    ...(event.headers['authorization'] !== undefined ? { authorization: event.headers['authorization'] } : {}),
    ...(event.headers['content-type'] !== undefined ? { contentType: event.headers['content-type'] } : {}),
    ...(body !== undefined ? { body } : {}),
  };
  let answer;
  if (event.rawPath.startsWith('/v1/inbox') && inbox) {
    answer = await inbox.handle({ ...common, path: event.rawPath, query: event.queryStringParameters ?? {} });
  } else if (event.rawPath === '/v1/preferences' && preferences) {
    answer = await preferences.handle({ ...common, ...(event.headers['if-match'] !== undefined ? { ifMatch: event.headers['if-match'] } : {}) });
  } else {
    return { statusCode: 404, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'Not Found' }) };
  }
  const code = (answer.body as { error?: string }).error;
  countMetric('ApiRequests', { route: event.routeKey, status: String(answer.status) });
  if (code !== undefined) logger.info('api request refused', { route: event.routeKey, status: answer.status, error: code });
  return { statusCode: answer.status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...answer.headers }, body: JSON.stringify(answer.body) };
})
  .use(traceInvocation())
  .use(injectLambdaContext(logger))
  .use(countMetricsFlush());
