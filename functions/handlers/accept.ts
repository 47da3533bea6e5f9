import middy from '@middy/core';
import { hasInboxTypes } from '../core/inbox/inbox.ts';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { AcceptIntent } from '../core/accept/AcceptIntent.ts';
import { INTAKE_RECEIVE_BACKOFF, receiveBackoffMs } from '../core/backoff/receiveBackoff.ts';
import { AcceptanceIncompleteError, AcceptanceInProgressError } from '../core/errors.ts';
import { systemClock } from '../core/types.ts';
import { documentClient, sqsClient } from '../adapters/awsClients.ts';
import { DynamoNotificationStore } from '../adapters/DynamoNotificationStore.ts';
import { DynamoRejectionStore } from '../adapters/DynamoRejectionStore.ts';
import { DynamoUserStates } from '../adapters/DynamoUserStates.ts';
import { DynamoRecipientThrottle } from '../adapters/DynamoRecipientThrottle.ts';
import { SqsRouteQueue } from '../adapters/SqsRouteQueue.ts';
import { continuedFrom, sendContinuation, type ContinuedMessage } from '../adapters/intakeContinuation.ts';
import { loadServiceConfig, numberEnv, requireEnv, streamsTableOption } from './shared/config.ts';
import { invocationSummary, logInvocationSummary } from './shared/invocationSummary.ts';
import { receiveCountOf, redeliverAfter } from './shared/redeliverAfter.ts';
import { countMetric, countMetricsFlush, logger, traced, traceInvocation } from './shared/observability.ts';
import { eventBufferFromEnv } from './shared/pushFromEnv.ts';
import { inboxServiceFromEnv } from './shared/inboxFromEnv.ts';
import { forgetPushOutcomes, pushDispatcherFromEnv, routeAttempts } from './shared/routeAttempts.ts';

const config = loadServiceConfig();
const store = new DynamoNotificationStore(traced(documentClient()), { tableName: config.tableName, retentionMs: config.retentionMs, ...streamsTableOption() });
/** Intents with at most this many push routes get their first push attempt here (0: none do). */
const firstPushAttemptMaxRoutes = numberEnv('FIRST_PUSH_ATTEMPT_MAX_ROUTES', 0);
const firstPushAttemptLeaseMs = numberEnv('LEASE_MS', 20_000);
/** How long one acceptance holds a notification; a retry is never held back longer than that. */
const acceptanceLeaseMs = numberEnv('ACCEPT_LEASE_MS', 20_000);
const userStates = new DynamoUserStates(traced(documentClient()), config.tableName);
const acceptIntent = new AcceptIntent(
  {
    catalog: config.catalog,
    limits: { maxPayloadBytes: config.maxPayloadBytes },
    defaultMaxAttempts: config.retryPolicy.maxAttempts,
    acceptanceLeaseMs,
    dueShards: config.dueShards,
    firstPushAttempt: { maxRoutes: firstPushAttemptMaxRoutes, leaseMs: firstPushAttemptLeaseMs },
  },
  {
    store,
    // One store answers both, so a recipient's state and address share a BatchGetItem.
    users: userStates,
    suppressions: userStates,
    rejections: new DynamoRejectionStore(traced(documentClient()), { tableName: config.tableName, retentionMs: config.retentionMs }),
    routeQueue: new SqsRouteQueue(traced(sqsClient()), requireEnv('ROUTE_QUEUE_URL')),
    clock: systemClock,
    throttle: new DynamoRecipientThrottle(traced(documentClient()), config.tableName),
    ...(firstPushAttemptMaxRoutes > 0 ? firstPushAttemptDeps() : {}),
    // Types kept in the in-app inbox (catalog `inbox`) get an item per recipient at acceptance.
    ...(hasInboxTypes(config.catalog) ? { inbox: inboxServiceFromEnv(config.tableName) } : {}),
  },
);

/** Accept's first push attempt: deliver's attempt code, and the event buffer it shares with it (stream heads). */
function firstPushAttemptDeps() {
  const streams = eventBufferFromEnv(config.tableName);
  const push = pushDispatcherFromEnv(config.tableName, streams);
  return {
    streams,
    push,
    deliverer: routeAttempts({ store, retryPolicy: config.retryPolicy, leaseMs: firstPushAttemptLeaseMs, dispatchers: { push } }),
  };
}
const processor = new BatchProcessor(EventType.SQS);
const intakeQueueUrl = requireEnv('INTAKE_QUEUE_URL');
/** A duplicate that arrives mid-acceptance looks again this soon, not after the full visibility timeout. */
const IN_PROGRESS_RETRY_MS = 2_000;

/** The intake queue's maxReceiveCount (the template's): after the last receive a failing intent goes to the DLQ at once. */
const intakeBackoff = { ...INTAKE_RECEIVE_BACKOFF, maxReceives: numberEnv('INTAKE_MAX_RECEIVES', INTAKE_RECEIVE_BACKOFF.maxReceives) };

async function acceptRecord(record: SQSRecord, context: Context): Promise<void> {
  // A continuation goes on with the acceptance of the intake message it names, whose routes are all enqueued.
  const continued = continuedFrom(record.messageAttributes);
  const source = continued ?? { id: record.messageId, sentAt: Number(record.attributes.SentTimestamp ?? Date.now()) };
  let result;
  try {
    result = await acceptIntent.handle({
      id: source.id,
      sentAt: source.sentAt,
      body: record.body,
      remainingMs: () => context.getRemainingTimeInMillis(),
      ...(continued !== undefined ? { routesEnqueued: true } : {}),
    });
  } catch (error) {
    if (error instanceof AcceptanceIncompleteError && error.addedHere > 0 && (await continueAcceptance(record, source, error))) return;
    // Reported as a batch item failure, and visible again soon: a throttle or a blip is over in a
    // second, and waiting out the queue's 6-minute visibility timeout delayed the intent that long.
    // Another acceptance holds the lease: looking again before it expires cannot take over and
    // only spends one of the message's receives (a holder that is alive finishes in far less).
    const retryInMs = error instanceof AcceptanceInProgressError
      ? Math.max(IN_PROGRESS_RETRY_MS, Math.min(error.leaseRemainingMs ?? 0, acceptanceLeaseMs) + 250)
      : receiveBackoffMs(receiveCountOf(record), intakeBackoff);
    await redeliverAfter(intakeQueueUrl, record, retryInMs, {});
    logger.warn('intent acceptance failed; will be retried', { message_id: record.messageId, retry_in_ms: retryInMs, error: error as Error });
    invocationSummary.count('retried');
    countMetric('IntentsRetried', {});
    throw error;
  }
  switch (result.kind) {
    case 'accepted':
      logger.debug('intent accepted', {
        notification_id: result.notificationId,
        routes: result.routes,
        attempted_here: result.attemptedHere,
        resumed: result.resumed,
        message_id: record.messageId,
      });
      invocationSummary.add('accepted', result.notificationId);
      invocationSummary.count('routes', result.routes);
      countMetric('IntentsAccepted', {});
      countMetric('RoutesCreated', {}, result.routes);
      if (result.optedOut.length > 0) {
        invocationSummary.count('opted_out', result.optedOut.length);
        for (const channel of new Set(result.optedOut)) countMetric('RoutesOptedOut', { channel }, result.optedOut.filter((c) => c === channel).length);
        if (result.suppressed > 0) countMetric('RoutesSuppressed', {}, result.suppressed);
      }
      if (result.throttled > 0) {
        invocationSummary.count('throttled', result.throttled);
        countMetric('RoutesThrottled', { notification_type: result.notificationType }, result.throttled);
        countMetric('RoutesThrottledTotal', {}, result.throttled);
      }
      break;
    case 'redelivered':
      logger.debug('intake message redelivered after its acceptance', { notification_id: result.notificationId, message_id: record.messageId });
      // A rejected message's redelivery has no notification id when the intent named none.
      if (result.notificationId !== undefined) invocationSummary.add('redelivered', result.notificationId);
      else invocationSummary.count('redelivered_unnamed');
      countMetric('IntentsRedelivered', {});
      break;
    case 'duplicate':
      logger.debug('duplicate intent ignored', { notification_id: result.notificationId, message_id: record.messageId });
      invocationSummary.add('duplicate', result.notificationId);
      countMetric('IntentsDuplicate', {});
      break;
    case 'rejected':
      logger.warn('intent rejected', { reason: result.reason, detail: result.message, message_id: record.messageId });
      invocationSummary.count('rejected');
      countMetric('IntentsRejected', { reason: result.reason });
      countMetric('IntentsRejectedTotal', {});
      break;
  }
}

/**
 * An acceptance that stopped before its deadline having got further (a large inbox fan-out) goes
 * on in a copy of its message, sent now with fresh receives; this record is then done. False
 * when the copy could not be sent: the record is retried like any failure.
 */
async function continueAcceptance(record: SQSRecord, source: ContinuedMessage, stopped: AcceptanceIncompleteError): Promise<boolean> {
  const fields = { message_id: record.messageId, source_message_id: source.id, notification_id: stopped.notificationId, done: stopped.done, left: stopped.left };
  try {
    await sendContinuation(traced(sqsClient()), intakeQueueUrl, record.body, source);
  } catch (error) {
    logger.warn('could not send the continuation of an acceptance; the intent is retried', { ...fields, error: error as Error });
    return false;
  }
  logger.info('intent acceptance continues in a new intake message', fields);
  invocationSummary.count('continued');
  countMetric('IntentsContinued', {});
  return true;
}

/** accept λ: intake queue → notification + routes → first push attempt / route queue. Partial batch responses. */
export const handler = middy(
  (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, acceptRecord, processor, { context, throwOnFullBatchFailure: false, processInParallel: true }),
)
  .use(traceInvocation())
  .use(injectLambdaContext(logger))
  // After injectLambdaContext, so the summary line is written while the request id is still set.
  .use(logInvocationSummary('intake batch'))
  .use(countMetricsFlush())
  .use(forgetPushOutcomes());
