import middy from '@middy/core';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { EmailDispatcher } from '../core/deliver/EmailDispatcher.ts';
import { parseDeliveryMessage } from '../core/deliver/parseDeliveryMessage.ts';
import { documentClient, sesClient, sqsClient } from '../adapters/awsClients.ts';
import { DynamoNotificationStore } from '../adapters/DynamoNotificationStore.ts';
import { SesEmailSender } from '../adapters/SesEmailSender.ts';
import { SqsRouteQueue } from '../adapters/SqsRouteQueue.ts';
import { loadServiceConfig, numberEnv, requireEnv, streamsTableOption } from './shared/config.ts';
import { logInvocationSummary } from './shared/invocationSummary.ts';
import { countMetric, countMetricsFlush, logger, traced, traceInvocation } from './shared/observability.ts';
import { pushConfigured } from './shared/pushFromEnv.ts';
import { unsubscribeLinkFromEnv } from './shared/unsubscribe.ts';
import { forgetPushOutcomes, pushDispatcherFromEnv, routeAttempts } from './shared/routeAttempts.ts';

const config = loadServiceConfig();
const routeQueue = new SqsRouteQueue(traced(sqsClient()), requireEnv('ROUTE_QUEUE_URL'));
const deliverRoute = routeAttempts({
  store: new DynamoNotificationStore(traced(documentClient()), { tableName: config.tableName, retentionMs: config.retentionMs, ...streamsTableOption() }),
  retryPolicy: config.retryPolicy,
  leaseMs: numberEnv('LEASE_MS', 20_000),
  dispatchers: {
    email: new EmailDispatcher(config.catalog, new SesEmailSender(traced(sesClient()), {
        from: requireEnv('EMAIL_FROM'),
        ...(process.env['EMAIL_CONFIGURATION_SET'] ? { configurationSet: process.env['EMAIL_CONFIGURATION_SET'] } : {}),
      }), unsubscribeLinkFromEnv()),
    // An email-only service has no push channel; its catalog names none.
    ...(pushConfigured() ? { push: pushDispatcherFromEnv(config.tableName) } : {}),
  },
});
const processor = new BatchProcessor(EventType.SQS);

/** Thrown to leave a message on the queue (reported as a batch item failure) after delaying it. */
class RedeliveryScheduled extends Error {
  public constructor(delayMs: number) {
    super(`redelivery scheduled in ${delayMs} ms`);
    this.name = 'RedeliveryScheduled';
  }
}

async function deliverRecord(record: SQSRecord): Promise<void> {
  const message = parseDeliveryMessage(record.body);
  if (message === undefined) {
    // Nothing can ever deliver it; keep the evidence in the log and consume it.
    logger.error('malformed delivery message consumed', { message_id: record.messageId, body: record.body.slice(0, 512) });
    countMetric('MalformedDeliveryMessages', {});
    return;
  }
  const decision = await deliverRoute.handle(message);
  if (decision.kind === 'done') {
    if (decision.reason === 'crashed_dead_letter') {
      logger.warn('route dead-lettered: every attempt started and the last never finished', { ...message, failure_classification: 'worker_crashed' });
      countMetric('RouteDeadLetters', { channel: decision.route?.channel ?? 'unknown', classification: 'worker_crashed' });
      countMetric('RouteDeadLettersTotal', {});
    } else if (decision.reason !== 'published' && decision.reason !== 'dead_letter') {
      logger.info('delivery message consumed without an attempt', { ...message, reason: decision.reason });
    }
    return;
  }
  if (await routeQueue.delay(record.receiptHandle, decision.delayMs)) throw new RedeliveryScheduled(decision.delayMs);
  // Beyond SQS's 12 h visibility ceiling: the sweeper re-enqueues the route when it is due.
  logger.info('route due beyond SQS visibility limit; left to the sweeper', { ...message, delay_ms: decision.delayMs });
}

/** deliver λ: route queue → lease → channel → complete. Partial batch responses. */
export const handler = middy(
  (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, deliverRecord, processor, { context, throwOnFullBatchFailure: false, processInParallel: true }),
)
  .use(traceInvocation())
  .use(injectLambdaContext(logger))
  // After injectLambdaContext, so the summary line is written while the request id is still set.
  .use(logInvocationSummary('delivery batch'))
  .use(countMetricsFlush())
  .use(forgetPushOutcomes());
