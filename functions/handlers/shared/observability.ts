import { LogFormatter, Logger, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';

/**
 * Powertools' structure without the fields every line of a function would repeat (function name,
 * ARN and memory size: each function logs to its own log group, which names it; the sampling rate
 * unless sampling is on). CloudWatch Logs bills every byte ingested, and these were about a third
 * of a route's log line. The request id stays, to join a line with its REPORT line and trace.
 */
export class HeraldLogFormatter extends LogFormatter {
  public formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    return new LogItem({
      attributes: {
        level: attributes.logLevel,
        message: attributes.message,
        timestamp: this.formatTimestamp(attributes.timestamp),
        service: attributes.serviceName,
        cold_start: attributes.lambdaContext?.coldStart,
        function_request_id: attributes.lambdaContext?.awsRequestId,
        ...(attributes.sampleRateValue ? { sampling_rate: attributes.sampleRateValue } : {}),
        xray_trace_id: attributes.xRayTraceId,
      },
    }).addAttributes(additional);
  }
}

/** One Logger and one Metrics per execution environment, shared by every handler module. */
export const logger = new Logger({ serviceName: process.env['POWERTOOLS_SERVICE_NAME'] ?? 'herald', logFormatter: new HeraldLogFormatter() });
export const metrics = new Metrics({
  namespace: process.env['POWERTOOLS_METRICS_NAMESPACE'] ?? 'Herald',
  serviceName: process.env['POWERTOOLS_SERVICE_NAME'] ?? 'herald',
});

/**
 * X-Ray subsegments, only in a stack deployed with `tracing: true`: `process.env.HERALD_TRACING`
 * is an esbuild define, so with tracing off (the default) the Tracer and the X-Ray SDK are not even
 * in the bundle (about 120 KB; importing the SDK installs async hooks that follow every promise,
 * about 6 % of the accept function's CPU in a profile of the offline stack at 50 intents/s,
 * 2026-11-23). Offline, POWERTOOLS_TRACE_ENABLED=false keeps it unloaded either way.
 */
const tracing = process.env.HERALD_TRACING === 'true' && process.env['POWERTOOLS_TRACE_ENABLED'] !== 'false' ? await loadTracing() : undefined;

async function loadTracing() {
  const [{ Tracer }, { captureLambdaHandler }] = await Promise.all([import('@aws-lambda-powertools/tracer'), import('@aws-lambda-powertools/tracer/middleware')]);
  const tracer = new Tracer({ serviceName: process.env['POWERTOOLS_SERVICE_NAME'] ?? 'herald' });
  return { tracer, invocation: captureLambdaHandler(tracer, { captureResponse: false }) };
}

/** Middy middleware: the invocation's X-Ray subsegment (a no-op when tracing is off; middy refuses a middleware without hooks). */
export const traceInvocation = (): MiddlewareObj => tracing?.invocation ?? { before: () => undefined };

const tracedClients = new WeakSet<object>();

/** Traces an AWS SDK v3 client's calls as subsegments (once per client, when tracing is on), and returns it. */
export function traced<T extends object>(client: T): T {
  if (tracing !== undefined && !tracedClients.has(client)) {
    tracing.tracer.captureAWSv3Client(client as never);
    tracedClients.add(client);
  }
  return client;
}

const pendingCounts = new Map<string, { dimensions: Record<string, string>; values: Map<string, number> }>();

/**
 * Adds to a count with its own low-cardinality dimension set (ids never go in dimensions). Counts
 * are summed during the invocation and written by {@link flushCountMetrics} as one EMF blob per
 * dimension set: a batch of ten routes logs a handful of blobs, not one per route and counter
 * (CloudWatch Logs bills every byte ingested).
 */
export function countMetric(name: string, dimensions: Record<string, string>, value = 1): void {
  const key = JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b)));
  let pending = pendingCounts.get(key);
  if (!pending) {
    pending = { dimensions, values: new Map() };
    pendingCounts.set(key, pending);
  }
  pending.values.set(name, (pending.values.get(name) ?? 0) + value);
}

/** Writes the counts gathered so far, one EMF blob per dimension set. */
export function flushCountMetrics(): void {
  for (const { dimensions, values } of pendingCounts.values()) {
    metrics.addDimensions(dimensions);
    for (const [name, value] of values) metrics.addMetric(name, 'Count', value);
    metrics.publishStoredMetrics();
  }
  pendingCounts.clear();
}

/** Middy middleware: flush the invocation's counts when it ends, however it ends. */
export const countMetricsFlush = () => ({
  after: async () => flushCountMetrics(),
  onError: async () => flushCountMetrics(),
});
