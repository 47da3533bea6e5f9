import { DeliverRoute, type AttemptReport, type DeliverRouteDeps } from '../../core/deliver/DeliverRoute.ts';
import { PushDispatcher, type PushReport } from '../../core/push/PushDispatcher.ts';
import type { NotificationStore } from '../../core/ports.ts';
import { systemClock, type RouteRecord } from '../../core/types.ts';
import type { RetryPolicy } from '../../core/backoff/computeBackoff.ts';
import type { EventBuffer } from '../../core/push/pushPorts.ts';
import { numberEnv } from './config.ts';
import { invocationSummary } from './invocationSummary.ts';
import { countMetric, logger } from './observability.ts';
import { connectionRegistryFromEnv, connectionSenderFromEnv, eventBufferFromEnv } from './pushFromEnv.ts';
import { routeLogFields } from './routeLogFields.ts';

/**
 * Route attempts as deliver runs them, shared with accept (which runs the first attempt of small
 * push intents itself): the same dispatch, the same log line per attempt, summary entry and metrics.
 */
export function routeAttempts(options: {
  readonly store: NotificationStore;
  readonly retryPolicy: RetryPolicy;
  readonly leaseMs: number;
  readonly dispatchers: DeliverRouteDeps['dispatchers'];
}): DeliverRoute {
  return new DeliverRoute(
    { retryPolicy: options.retryPolicy, leaseMs: options.leaseMs },
    { store: options.store, dispatchers: options.dispatchers, clock: systemClock, onAttempt: reportAttempt },
  );
}

/** The push channel from the environment (STREAMS_TABLE, CONNECTIONS_TABLE, WEBSOCKET_CALLBACK_URL). */
export function pushDispatcherFromEnv(notificationsTable: string, buffer: EventBuffer = eventBufferFromEnv(notificationsTable)): PushDispatcher {
  return new PushDispatcher(
    { freshnessMs: numberEnv('FRESHNESS_SECONDS', 86_400) * 1000, retentionMs: numberEnv('RETENTION_DAYS', 30) * 86_400_000 },
    {
      buffer,
      registry: connectionRegistryFromEnv(),
      sender: connectionSenderFromEnv(),
      clock: systemClock,
      onReport: reportPush,
    },
  );
}

/** What the push dispatcher did in the current attempt of a route, told on that attempt's log line. */
const pushOutcomes = new Map<string, { user_id: string; position: number; sent: number; gone: number }>();
const pushOutcomeKey = (route: Pick<RouteRecord, 'notification_id' | 'route_id'>) => `${route.notification_id}/${route.route_id}`;

/**
 * Middy middleware: at the end of each invocation, forgets what attempts that threw after their
 * push left behind (they never reached their log line), so the map cannot grow across invocations.
 */
export const forgetPushOutcomes = () => ({
  after: async () => pushOutcomes.clear(),
  onError: async () => pushOutcomes.clear(),
});

function reportPush({ route, position, sent, gone }: PushReport): void {
  pushOutcomes.set(pushOutcomeKey(route), { user_id: route.user_id, position, sent, gone });
  countMetric('PushEventsSent', {}, sent);
  if (gone > 0) countMetric('GoneConnections', {}, gone);
}

function reportAttempt({ notification, route, outcome, recorded }: AttemptReport): void {
  const push = pushOutcomes.get(pushOutcomeKey(route));
  pushOutcomes.delete(pushOutcomeKey(route));
  // One line per attempt (with the push outcome on it); a published one is DEBUG and an id on the
  // invocation's summary line (log volume is billed per byte).
  const fields = { ...routeLogFields(notification, route), attempt: route.attempts, max_attempts: route.max_attempts, recorded, ...(push ?? {}) };
  const dimensions = { channel: route.channel, notification_type: notification?.notification_type ?? 'unknown' };
  if (outcome.status === 'published') {
    if (recorded) {
      logger.debug('route published', fields);
      invocationSummary.add('published', `${route.notification_id}/${route.route_id}`);
    } else {
      // Sent, but the route changed under the attempt (its lease ran out and another took it): it may be sent again.
      logger.warn('route published but not recorded: the route changed under the attempt', fields);
      invocationSummary.count('lost_race');
    }
    countMetric('RoutePublishAttempts', { ...dimensions, result: 'published' });
    countMetric('RoutePublishedTotal', {});
    return;
  }
  const failure = { ...fields, failure_classification: outcome.classification, failure_message: outcome.message };
  countMetric('RoutePublishAttempts', { ...dimensions, result: outcome.status === 'failed' ? 'retry' : 'dead_letter', classification: outcome.classification });
  invocationSummary.count(outcome.status === 'failed' ? 'retry_scheduled' : 'dead_lettered');
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
