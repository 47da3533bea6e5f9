import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { ApplyLifecycleEvent, type LifecycleResult } from '../core/lifecycle/ApplyLifecycleEvent.ts';
import { parseLifecycleEvent } from '../core/lifecycle/parseLifecycleEvent.ts';
import { SessionInvalidator } from '../core/push/SessionInvalidator.ts';
import { systemClock } from '../core/types.ts';
import { documentClient } from '../adapters/awsClients.ts';
import { DynamoNotificationStore } from '../adapters/DynamoNotificationStore.ts';
import { DynamoUserStates } from '../adapters/DynamoUserStates.ts';
import { numberEnv, requireEnv } from './shared/config.ts';
import { countMetric, countMetricsFlush, logger, traced, traceInvocation } from './shared/observability.ts';
import { connectionRegistryFromEnv, connectionSenderFromEnv, eventBufferFromEnv, pushConfigured } from './shared/pushFromEnv.ts';

const tableName = requireEnv('TABLE_NAME');
const applyLifecycleEvent = new ApplyLifecycleEvent(
  {
    deletedUserRetentionMs: numberEnv('DELETED_USER_RETENTION_DAYS', 30) * 86_400_000,
    pageSize: 100,
    safetyMarginMs: 15_000,
  },
  {
    users: new DynamoUserStates(traced(documentClient()), tableName),
    routes: new DynamoNotificationStore(traced(documentClient()), { tableName, retentionMs: numberEnv('RETENTION_DAYS', 30) * 86_400_000 }),
    // An email-only service has no streams to purge or sessions to end.
    ...(pushConfigured()
      ? { push: { buffer: eventBufferFromEnv(tableName), sessions: new SessionInvalidator({ registry: connectionRegistryFromEnv(), sender: connectionSenderFromEnv() }) } }
      : {}),
    clock: systemClock,
  },
);

/**
 * lifecycle λ (EventBridge rule, detail-type `herald.lifecycle`). Malformed events and unknown
 * event types are logged, counted and absorbed — retrying cannot fix them. Any other failure
 * throws, so EventBridge retries the event and sends it to the rule's DLQ when retries are spent.
 */
async function handleLifecycle(event: EventBridgeEvent<string, unknown>, context: Context): Promise<LifecycleResult | { kind: 'absorbed' }> {
  const parsed = parseLifecycleEvent(event.detail);
  if (!parsed.ok) {
    logger.warn('lifecycle event absorbed', {
      reason: parsed.reason,
      detail: parsed.message,
      event_id: event.id,
      source: event.source,
      raw_detail: JSON.stringify(event.detail ?? null).slice(0, 1024),
    });
    countMetric('LifecycleEventsAbsorbed', { reason: parsed.reason });
    return { kind: 'absorbed' };
  }
  const { event: lifecycle } = parsed;
  const fields = {
    event_type: lifecycle.event_type,
    user_id: lifecycle.user_id,
    device_session_id: lifecycle.device_session_id,
    occurred_at_ms: lifecycle.occurred_at_ms,
    trace_id: lifecycle.trace_id,
    reason_code: lifecycle.reason_code,
  };
  const result = await applyLifecycleEvent.apply(lifecycle, () => context.getRemainingTimeInMillis());
  logger.info(`lifecycle event ${result.kind}`, { ...fields, ...result });
  countMetric('LifecycleEvents', { event_type: lifecycle.event_type, result: result.kind });
  if (result.kind === 'applied') countMetric('RoutesCancelled', { reason: lifecycle.event_type }, result.cancelled + result.cancelRequested);
  return result;
}

export const handler = middy(handleLifecycle).use(traceInvocation())
  .use(injectLambdaContext(logger))
  .use(countMetricsFlush());
