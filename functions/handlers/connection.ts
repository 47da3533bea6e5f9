import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyResult, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { serialiseFrame } from '../core/push/frames.ts';
import { ConnectionGoneError } from '../core/push/pushPorts.ts';
import { ResumeStream } from '../core/push/ResumeStream.ts';
import { ConnectionCap } from '../core/push/ConnectionCap.ts';
import { ConnectionReplayBudget, MessageBuckets, type BudgetVerdict } from '../core/push/ClientBudget.ts';
import { systemClock } from '../core/types.ts';
import { clientBudgetFromEnv, numberEnv, requireEnv } from './shared/config.ts';
import { countMetric, countMetricsFlush, logger, traceInvocation } from './shared/observability.ts';
import { connectionRegistryFromEnv, connectionSenderFromEnv, eventBufferFromEnv } from './shared/pushFromEnv.ts';

const registry = connectionRegistryFromEnv();
const sender = connectionSenderFromEnv();
const connectionCap = new ConnectionCap({ registry, sender, now: () => Date.now() }, {
  maxPerUser: numberEnv('MAX_CONNECTIONS_PER_USER', 10),
  maxPerDeviceSession: numberEnv('MAX_CONNECTIONS_PER_DEVICE_SESSION', 5),
});
const budget = clientBudgetFromEnv();
const messageBuckets = new MessageBuckets(budget);
const resumeStream = new ResumeStream({
  buffer: eventBufferFromEnv(requireEnv('TABLE_NAME')),
  sender,
  clock: systemClock,
  budget: new ConnectionReplayBudget(registry, budget),
});

/** API Gateway puts the authorizer's context on every route of the connection. */
type WebSocketEvent = APIGatewayProxyWebsocketEventV2 & {
  requestContext: { authorizer?: { userId?: string; deviceSessionId?: string } };
};

const ok: APIGatewayProxyResult = { statusCode: 200, body: '' };

/**
 * Every WebSocket route: `$connect` registers the connection, `$disconnect` removes it, `resume`
 * replays from a cursor, `ping` answers `pong`, anything else gets an `error` frame.
 * The user is always the authorizer's, never something the client sends.
 */
async function route(event: WebSocketEvent): Promise<APIGatewayProxyResult> {
  const { routeKey, connectionId } = event.requestContext;
  const userId = event.requestContext.authorizer?.userId;
  const deviceSessionId = event.requestContext.authorizer?.deviceSessionId;
  if (!userId) {
    logger.error('route invoked without authorizer context', { routeKey, connection_id: connectionId });
    return { statusCode: 401, body: 'Unauthorized' };
  }
  const sendFrame = (frame: Parameters<typeof serialiseFrame>[0]) => sender.send(connectionId, serialiseFrame(frame));
  switch (routeKey) {
    case '$connect':
      await registry.register({
        user_id: userId,
        connection_id: connectionId,
        ...(deviceSessionId ? { device_session_id: deviceSessionId } : {}),
        connected_at: Date.now(),
      });
      countMetric('Connections', {});
      // After registering: the strongly consistent list then includes this connection and every
      // concurrent one that registered first, so the last $connect to read closes the excess.
      {
        const closed = await connectionCap.enforce(userId, connectionId);
        if (closed.length > 0) {
          logger.info('connections closed: over the per-user limit', { user_id: userId, connection_id: connectionId, closed });
          countMetric('ConnectionsOverLimit', {}, closed.length);
        }
      }
      return ok;
    case '$disconnect':
      messageBuckets.forget(connectionId);
      await registry.remove(userId, connectionId);
      return ok;
  }
  // Every client message takes a token first: over budget, it is told so once, then closed.
  const verdict = messageBuckets.take(connectionId, Date.now());
  if (verdict.kind === 'over') {
    await refuseOverBudget(connectionId, userId, verdict, 'messages');
    return ok;
  }
  switch (routeKey) {
    case 'ping':
      await sendFrame({ type: 'pong', at: new Date().toISOString() });
      return ok;
    case 'resume': {
      const cursor = parseCursor(event.body);
      if (cursor === undefined) {
        await sendFrame({ type: 'error', code: 'malformed_message', message: 'resume needs {"action":"resume","cursor":"<cursor or empty>"}' });
        return ok;
      }
      const outcome = await resumeStream.resume({ userId, connectionId, cursor, ...(deviceSessionId ? { deviceSessionId } : {}) });
      logger.info('resume', { user_id: userId, connection_id: connectionId, ...outcome });
      if (outcome.kind === 'replayed') countMetric('ReplayedEvents', {}, outcome.events);
      if (outcome.kind === 'stale') countMetric('StaleCursors', {});
      if (outcome.kind === 'over_budget') await refuseOverBudget(connectionId, userId, { kind: 'over', retryAfterMs: outcome.retryAfterMs, close: outcome.close }, 'replay');
      return ok;
    }
    default: {
      const unreadable = unreadableFrame(event.body, event.isBase64Encoded);
      await sendFrame(
        unreadable === undefined
          ? { type: 'error', code: 'unknown_action', message: `unknown action ${JSON.stringify(actionOf(event.body)).slice(0, 80)}; send {"action":"resume","cursor":…} or {"action":"ping"}` }
          : { type: 'error', code: 'malformed_message', message: unreadable },
      );
      return ok;
    }
  }
}

/**
 * A message over its connection's budget gets an `error` frame `rate_limited` with
 * `retry_after_ms`; one more before then is told so and the connection is closed.
 */
async function refuseOverBudget(connectionId: string, userId: string, verdict: Extract<BudgetVerdict, { kind: 'over' }>, budgetName: 'messages' | 'replay'): Promise<void> {
  logger.warn('client message over budget', { user_id: userId, connection_id: connectionId, budget: budgetName, retry_after_ms: verdict.retryAfterMs, closing: verdict.close });
  countMetric('ClientMessagesOverBudget', {});
  await sender.send(connectionId, serialiseFrame({
    type: 'error',
    code: 'rate_limited',
    message: verdict.close
      ? `over the ${budgetName} budget again before retry_after_ms: closing the connection`
      : `over the ${budgetName} budget (${budgetName === 'messages' ? 'client messages' : 'resumes or replayed events'} per minute): send again after retry_after_ms`,
    retry_after_ms: verdict.retryAfterMs,
  }));
  if (verdict.close) {
    countMetric('ConnectionsClosedOverBudget', {});
    messageBuckets.forget(connectionId);
    await sender.close(connectionId);
  }
}

/**
 * Why a frame that reached `$default` is not a message of the protocol at all, or undefined when
 * it is one with an action Herald does not know. API Gateway routes here every frame whose body
 * has no `action` it can route on: binary frames, text that is not JSON, JSON that is not an
 * object, and objects without a string `action`.
 */
function unreadableFrame(body: string | undefined, base64: boolean): string | undefined {
  if (base64) return 'binary frames are not part of the protocol: send JSON text frames such as {"action":"ping"}';
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? '');
  } catch {
    return 'a frame is a JSON object such as {"action":"ping"}; this one is not JSON';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'a frame is a JSON object such as {"action":"ping"}';
  if (typeof (parsed as { action?: unknown }).action !== 'string') return 'a frame needs "action": "resume" or "ping"';
  return undefined;
}

const actionOf = (body: string | undefined): string => String((JSON.parse(body ?? '{}') as { action?: unknown }).action);

function parseCursor(body: string | undefined): string | undefined {
  try {
    const cursor = (JSON.parse(body ?? '') as { cursor?: unknown }).cursor;
    return cursor === undefined || cursor === null ? '' : typeof cursor === 'string' ? cursor : undefined;
  } catch {
    return undefined;
  }
}

/** A client that left while we answered it is not an error: forget the connection. */
async function routeOrForget(event: WebSocketEvent): Promise<APIGatewayProxyResult> {
  try {
    return await route(event);
  } catch (error) {
    if (!(error instanceof ConnectionGoneError)) throw error;
    const userId = event.requestContext.authorizer?.userId;
    if (userId) await registry.remove(userId, event.requestContext.connectionId);
    return ok;
  }
}

export const handler = middy(routeOrForget).use(traceInvocation())
  .use(injectLambdaContext(logger))
  .use(countMetricsFlush());
