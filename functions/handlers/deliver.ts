import middy from '@middy/core';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DeliverRoute, type AttemptReport } from '../core/deliver/DeliverRoute.ts';
import { EmailDispatcher } from '../core/deliver/EmailDispatcher.ts';
import { PushDispatcher, type PushReport } from '../core/push/PushDispatcher.ts';
import { parseDeliveryMessage } from '../core/deliver/parseDeliveryMessage.ts';
import { systemClock } from '../core/types.ts';
import { documentClient, sesClient, sqsClient } from '../adapters/awsClients.ts';
import { ApiGatewayConnectionSender } from '../adapters/ApiGatewayConnectionSender.ts';
import { DynamoConnectionRegistry } from '../adapters/DynamoConnectionRegistry.ts';
import { DynamoEventBuffer } from '../adapters/DynamoEventBuffer.ts';
import { DynamoNotificationStore } from '../adapters/DynamoNotificationStore.ts';
import { SesEmailSender } from '../adapters/SesEmailSender.ts';
import { SqsRouteQueue } from '../adapters/SqsRouteQueue.ts';
import { loadServiceConfig, numberEnv, requireEnv } from './shared/config.ts';
import { countMetric, countMetricsFlush, logger, traced, tracer } from './shared/observability.ts';
import { routeLogFields } from './shared/routeLogFields.ts';

const config = loadServiceConfig();
const routeQueue = new SqsRouteQueue(traced(sqsClient()), requireEnv('ROUTE_QUEUE_URL'));
const deliverRoute = new DeliverRoute(
  { retryPolicy: config.retryPolicy, leaseMs: numberEnv('LEASE_MS', 60_000) },
  {
    store: new DynamoNotificationStore(traced(documentClient()), { tableName: config.tableName, retentionMs: config.retentionMs }),
    dispatchers: {
      email: new EmailDispatcher(config.catalog, new SesEmailSender(traced(sesClient()), { from: requireEnv('EMAIL_FROM') })),
      push: new PushDispatcher(
        { freshnessMs: numberEnv('FRESHNESS_SECONDS', 86_400) * 1000 },
        {
          buffer: new DynamoEventBuffer(traced(documentClient()), { streamsTable: requireEnv('STREAMS_TABLE'), notificationsTable: config.tableName }),
          registry: new DynamoConnectionRegistry(traced(documentClient()), requireEnv('CONNECTIONS_TABLE')),
          sender: new ApiGatewayConnectionSender(requireEnv('WEBSOCKET_CALLBACK_URL')),
          clock: systemClock,
          onReport: reportPush,
        },
      ),
    },
    clock: systemClock,
    onAttempt: reportAttempt,
  },
);
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
  let decision;
  try {
    decision = await deliverRoute.handle(message);
  } finally {
    // An attempt that threw after the push never reached its log line; forget its outcome.
    pushOutcomes.delete(pushOutcomeKey(message));
  }
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

/** What the push dispatcher did in the current attempt of a route, told on that attempt's log line. */
const pushOutcomes = new Map<string, { user_id: string; position: number; sent: number; gone: number }>();
const pushOutcomeKey = (route: { notification_id: string; route_id: string }) => `${route.notification_id}/${route.route_id}`;

function reportPush({ route, position, sent, gone }: PushReport): void {
  pushOutcomes.set(pushOutcomeKey(route), { user_id: route.user_id, position, sent, gone });
  countMetric('PushEventsSent', {}, sent);
  if (gone > 0) countMetric('GoneConnections', {}, gone);
}

function reportAttempt({ notification, route, outcome, recorded }: AttemptReport): void {
  const push = pushOutcomes.get(pushOutcomeKey(route));
  pushOutcomes.delete(pushOutcomeKey(route));
  // One line per attempt (with the push outcome on it): log volume is billed per byte.
  const fields = { ...routeLogFields(notification, route), attempt: route.attempts, max_attempts: route.max_attempts, recorded, ...(push ?? {}) };
  const dimensions = { channel: route.channel, notification_type: notification?.notification_type ?? 'unknown' };
  if (outcome.status === 'published') {
    logger.info('route published', fields);
    countMetric('RoutePublishAttempts', { ...dimensions, result: 'published' });
    countMetric('RoutePublishedTotal', {});
    return;
  }
  const failure = { ...fields, failure_classification: outcome.classification, failure_message: outcome.message };
  countMetric('RoutePublishAttempts', { ...dimensions, result: outcome.status === 'failed' ? 'retry' : 'dead_letter', classification: outcome.classification });
  if (outcome.status === 'failed') {
    logger.warn('route attempt failed; retry scheduled', { ...failure, next_attempt_at: new Date(outcome.nextAttemptAt).toISOString() });
    countMetric('RouteRetries', dimensions);
    countMetric('RouteRetriesTotal', {});
  } else {
    logger.warn('route dead-lettered', failure);
    countMetric('RouteDeadLetters', { ...dimensions, classification: outcome.classification });
    countMetric('RouteDeadLettersTotal', {});
  }
}

/** deliver λ: route queue → lease → channel → complete. Partial batch responses. */
export const handler = middy(
  async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, deliverRecord, processor, { context, throwOnFullBatchFailure: false, processInParallel: true }),
)
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(injectLambdaContext(logger))
  .use(countMetricsFlush());
