import middy from '@middy/core';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, EventBridgeEvent, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { LIFECYCLE_RECEIVE_BACKOFF, receiveBackoffMs } from '../core/backoff/receiveBackoff.ts';
import { parseSesEvent } from '../core/email/emailFeedback.ts';
import { RecordEmailFeedback, type FeedbackResult } from '../core/email/RecordEmailFeedback.ts';
import { documentClient } from '../adapters/awsClients.ts';
import { DynamoNotificationStore } from '../adapters/DynamoNotificationStore.ts';
import { DynamoSuppressionList } from '../adapters/DynamoSuppressionList.ts';
import { numberEnv, requireEnv } from './shared/config.ts';
import { receiveCountOf, redeliverAfter } from './shared/redeliverAfter.ts';
import { countMetric, countMetricsFlush, logger, traced, traceInvocation } from './shared/observability.ts';

const tableName = requireEnv('TABLE_NAME');
const recordEmailFeedback = new RecordEmailFeedback({
  routes: new DynamoNotificationStore(traced(documentClient()), { tableName, retentionMs: numberEnv('RETENTION_DAYS', 30) * 86_400_000 }),
  suppressions: new DynamoSuppressionList(traced(documentClient()), tableName),
});

const feedbackQueueUrl = requireEnv('FEEDBACK_QUEUE_URL');
/** The feedback queue's maxReceiveCount (the template's): after the last receive a failed event goes to its DLQ at once. */
const backoff = { ...LIFECYCLE_RECEIVE_BACKOFF, maxReceives: numberEnv('FEEDBACK_MAX_RECEIVES', LIFECYCLE_RECEIVE_BACKOFF.maxReceives) };
const processor = new BatchProcessor(EventType.SQS);

/**
 * One SES event from the queue (the whole EventBridge event is the message body). Malformed events
 * and event types Herald does not use are logged, counted and absorbed; any other failure makes
 * the message visible again after a short backoff, and after the queue's last receive it moves to
 * the feedback DLQ.
 */
async function handleRecord(record: SQSRecord): Promise<FeedbackResult | { kind: 'absorbed' }> {
  let event: EventBridgeEvent<string, unknown> | undefined;
  try {
    event = JSON.parse(record.body) as EventBridgeEvent<string, unknown>;
  } catch {
    event = undefined;
  }
  const parsed = parseSesEvent(event?.detail);
  if (!parsed.ok) {
    logger.warn('email feedback absorbed', {
      reason: parsed.reason,
      detail: parsed.message,
      event_id: event?.id,
      detail_type: event?.['detail-type'],
      message_id: record.messageId,
      raw_detail: JSON.stringify(event?.detail ?? null).slice(0, 1024),
    });
    countMetric('EmailFeedbackAbsorbed', { reason: parsed.reason });
    return { kind: 'absorbed' };
  }
  const { feedback, route } = parsed.event;
  const fields = {
    outcome: feedback.outcome,
    ses_message_id: feedback.message_id,
    notification_id: route?.notification_id,
    route_id: route?.route_id,
    bounce_type: feedback.bounce_type,
    bounce_sub_type: feedback.bounce_sub_type,
  };
  let result: FeedbackResult;
  try {
    result = await recordEmailFeedback.apply(parsed.event);
  } catch (error) {
    const receives = receiveCountOf(record);
    const delayMs = receiveBackoffMs(receives, backoff);
    logger.warn('email feedback failed; will be retried', { ...fields, receive: receives, retry_in_ms: delayMs, error: error as Error });
    countMetric('EmailFeedbackRetried', {});
    await redeliverAfter(feedbackQueueUrl, record, delayMs, fields);
    throw error;
  }
  // A route gone (purged with its user, or past retention) or mail Herald did not tag is worth a line, not an alarm.
  if (result.route === 'route_missing' || result.route === 'untagged') logger.info('email feedback for no route', { ...fields, route_result: result.route });
  else logger.debug('email feedback', { ...fields, route_result: result.route });
  countMetric('EmailFeedback', { outcome: feedback.outcome });
  if (result.suppressed > 0) countMetric('AddressesSuppressed', {}, result.suppressed);
  return result;
}

/** feedback λ: SES events (configuration set → default bus → rule → feedback queue) → route outcome and suppression list. */
export const handler = middy(
  (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, (record: SQSRecord) => handleRecord(record), processor, { context, throwOnFullBatchFailure: false, processInParallel: true }),
)
  .use(traceInvocation())
  .use(injectLambdaContext(logger))
  .use(countMetricsFlush());
