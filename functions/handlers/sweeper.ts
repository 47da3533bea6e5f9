import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { SweepDueRoutes, type SweepResult } from '../core/sweep/SweepDueRoutes.ts';
import { systemClock } from '../core/types.ts';
import { documentClient, sqsClient } from '../adapters/awsClients.ts';
import { DynamoNotificationStore } from '../adapters/DynamoNotificationStore.ts';
import { SqsRouteQueue } from '../adapters/SqsRouteQueue.ts';
import { loadServiceConfig, numberEnv, requireEnv, streamsTableOption } from './shared/config.ts';
import { countMetric, countMetricsFlush, logger, traced, traceInvocation } from './shared/observability.ts';

const config = loadServiceConfig();
const sweep = new SweepDueRoutes(
  {
    dueShards: config.dueShards,
    graceMs: numberEnv('SWEEP_GRACE_MS', 120_000),
    requeueBackoffMs: numberEnv('SWEEP_REQUEUE_BACKOFF_MS', 300_000),
    limitPerShard: numberEnv('SWEEP_LIMIT_PER_SHARD', 200),
  },
  {
    store: new DynamoNotificationStore(traced(documentClient()), { tableName: config.tableName, retentionMs: config.retentionMs, ...streamsTableOption() }),
    routeQueue: new SqsRouteQueue(traced(sqsClient()), requireEnv('ROUTE_QUEUE_URL')),
    clock: systemClock,
  },
);

/** sweeper λ (EventBridge schedule): re-enqueues stranded due routes, dead-letters crashed ones. */
export const handler = middy(async (): Promise<SweepResult> => {
  const result = await sweep.run();
  if (result.requeued + result.deadLettered > 0) logger.warn('sweeper found stranded routes', { ...result });
  else logger.debug('sweep found nothing', { ...result });
  countMetric('SweeperRequeued', {}, result.requeued);
  countMetric('SweeperDeadLettered', {}, result.deadLettered);
  if (result.deadLettered > 0) countMetric('RouteDeadLettersTotal', {}, result.deadLettered);
  return result;
})
  .use(traceInvocation())
  .use(injectLambdaContext(logger))
  .use(countMetricsFlush());
