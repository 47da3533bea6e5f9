import middy from '@middy/core';
import { hasInboxTypes } from '../core/inbox/inbox.ts';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, EventBridgeEvent, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ApplyLifecycleEvent, type LifecycleResult } from '../core/lifecycle/ApplyLifecycleEvent.ts';
import { LIFECYCLE_RECEIVE_BACKOFF, receiveBackoffMs } from '../core/backoff/receiveBackoff.ts';
import { parseLifecycleEvent } from '../core/lifecycle/parseLifecycleEvent.ts';
import { SessionInvalidator } from '../core/push/SessionInvalidator.ts';
import { systemClock } from '../core/types.ts';
import { documentClient } from '../adapters/awsClients.ts';
import { DynamoNotificationStore } from '../adapters/DynamoNotificationStore.ts';
import { DynamoUserStates } from '../adapters/DynamoUserStates.ts';
import { loadServiceConfig, numberEnv, requireEnv, streamsTableOption } from './shared/config.ts';
import { inboxServiceFromEnv } from './shared/inboxFromEnv.ts';
import { receiveCountOf, redeliverAfter } from './shared/redeliverAfter.ts';
import { countMetric, countMetricsFlush, logger, traced, traceInvocation } from './shared/observability.ts';
import { connectionRegistryFromEnv, connectionSenderFromEnv, eventBufferFromEnv, pushConfigured } from './shared/pushFromEnv.ts';

const { tableName, catalog } = loadServiceConfig();
const applyLifecycleEvent = new ApplyLifecycleEvent(
  {
    deletedUserRetentionMs: numberEnv('DELETED_USER_RETENTION_DAYS', 30) * 86_400_000,
    pageSize: 100,
    safetyMarginMs: 15_000,
  },
  {
    users: new DynamoUserStates(traced(documentClient()), tableName),
    routes: new DynamoNotificationStore(traced(documentClient()), { tableName, retentionMs: numberEnv('RETENTION_DAYS', 30) * 86_400_000, ...streamsTableOption() }),
    // An email-only service has no streams to purge or sessions to end.
    ...(pushConfigured()
      ? { push: { buffer: eventBufferFromEnv(tableName), sessions: new SessionInvalidator({ registry: connectionRegistryFromEnv(), sender: connectionSenderFromEnv() }) } }
      : {}),
    ...(hasInboxTypes(catalog) ? { inbox: inboxServiceFromEnv(tableName) } : {}),
    clock: systemClock,
  },
);

const lifecycleQueueUrl = requireEnv('LIFECYCLE_QUEUE_URL');
/** The lifecycle queue's maxReceiveCount (the template's): after the last receive a failed event goes to the DLQ at once. */
const backoff = { ...LIFECYCLE_RECEIVE_BACKOFF, maxReceives: numberEnv('LIFECYCLE_MAX_RECEIVES', LIFECYCLE_RECEIVE_BACKOFF.maxReceives) };
const processor = new BatchProcessor(EventType.SQS);

/**
 * One lifecycle event from the queue (the whole EventBridge event is the message body).
 * Malformed events and unknown event types are logged, counted and absorbed — retrying cannot fix
 * them. Any other failure makes the message visible again after a short backoff and reports it
 * failed; after the queue's maximum receives it moves to the lifecycle DLQ.
 */
async function handleRecord(record: SQSRecord, context: Context): Promise<LifecycleResult | { kind: 'absorbed' }> {
  let event: EventBridgeEvent<string, unknown>;
  try {
    event = JSON.parse(record.body) as EventBridgeEvent<string, unknown>;
  } catch {
    event = { detail: undefined } as unknown as EventBridgeEvent<string, unknown>;
  }
  const parsed = parseLifecycleEvent(event?.detail);
  if (!parsed.ok) {
    logger.warn('lifecycle event absorbed', {
      reason: parsed.reason,
      detail: parsed.message,
      event_id: event?.id,
      source: event?.source,
      message_id: record.messageId,
      raw_detail: JSON.stringify(event?.detail ?? null).slice(0, 1024),
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
  let result: LifecycleResult;
  try {
    result = await applyLifecycleEvent.apply(lifecycle, () => context.getRemainingTimeInMillis());
  } catch (error) {
    const receives = receiveCountOf(record);
    const delayMs = receiveBackoffMs(receives, backoff);
    logger.warn('lifecycle event failed; will be retried', { ...fields, receive: receives, retry_in_ms: delayMs, error: error as Error });
    countMetric('LifecycleEventsRetried', { event_type: lifecycle.event_type });
    await redeliverAfter(lifecycleQueueUrl, record, delayMs, fields);
    throw error;
  }
  logger.info(`lifecycle event ${result.kind}`, { ...fields, ...result });
  countMetric('LifecycleEvents', { event_type: lifecycle.event_type, result: result.kind });
  if (result.kind === 'applied') countMetric('RoutesCancelled', { reason: lifecycle.event_type }, result.cancelled + result.cancelRequested);
  return result;
}

/** lifecycle λ: lifecycle queue (fed by the bus rule, detail-type `herald.lifecycle`) → apply. Partial batch responses. */
export const handler = middy(
  (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, (record: SQSRecord) => handleRecord(record, context), processor, { context, throwOnFullBatchFailure: false, processInParallel: true }),
)
  .use(traceInvocation())
  .use(injectLambdaContext(logger))
  .use(countMetricsFlush());
