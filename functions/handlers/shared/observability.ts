import { LogFormatter, Logger, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import type { MiddlewareObj } from '@middy/core';
import { Console } from 'node:console';

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

const serviceName = process.env['POWERTOOLS_SERVICE_NAME'] ?? 'herald';
const metricsNamespace = process.env['POWERTOOLS_METRICS_NAMESPACE'] ?? 'Herald';

/** One Logger per execution environment, shared by every handler module. */
export const logger = new Logger({ serviceName, logFormatter: new HeraldLogFormatter() });

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
 * are summed during the invocation and written by {@link flushCountMetrics} in as few EMF blobs as
 * the dimension sets allow (CloudWatch Logs bills every byte ingested).
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

/** An EMF document: `_aws` with its metric directives, and the dimension and metric values at the root. */
type EmfDocument = { _aws: { Timestamp: number; CloudWatchMetrics: unknown[] } } & Record<string, unknown>;

/** Writes to stdout itself, as Powertools does: not through the console Lambda rewrites when its log format is JSON. */
const emfOutput = new Console({ stdout: process.stdout, stderr: process.stderr });

/**
 * Writes the counts gathered so far as CloudWatch embedded metric format documents, each metric
 * with the `service` dimension and its own (the format Powertools Metrics writes, which Herald
 * used until 2026-12-05). Dimension sets are merged into one document wherever their root members
 * agree: an EMF document may carry several metric directives, each with its own dimension sets and
 * metrics, reading their values from the shared root (CloudWatch "Specification: Embedded metric
 * format": `CloudWatchMetrics` is an array of MetricDirective objects). Sets that disagree on a
 * dimension's value (two `result`s, say) or name the same metric go in documents of their own. A
 * published push logged two documents, 640 bytes; it now logs one. Written here rather than by
 * Powertools Metrics, which serialises one directive per document: 13 KB less in every bundle.
 */
export function flushCountMetrics(): void {
  const documents: EmfDocument[] = [];
  const timestamp = Date.now();
  for (const { dimensions, values } of pendingCounts.values()) {
    const serialised: EmfDocument = {
      _aws: {
        Timestamp: timestamp,
        CloudWatchMetrics: [{ Namespace: metricsNamespace, Dimensions: [['service', ...Object.keys(dimensions)]], Metrics: [...values.keys()].map((Name) => ({ Name, Unit: 'Count' })) }],
      },
      service: serviceName,
      ...dimensions,
      ...Object.fromEntries(values),
    };
    const into = documents.find((document) => mergeable(document, serialised));
    if (into === undefined) {
      documents.push(serialised);
    } else {
      const { _aws: aws, ...members } = serialised;
      into._aws.CloudWatchMetrics.push(...aws.CloudWatchMetrics);
      Object.assign(into, members);
    }
  }
  pendingCounts.clear();
  for (const document of documents) emfOutput.log(JSON.stringify(document));
}

/** Whether every root member the two documents share has the same value (metric values never do: a metric is named once per document). */
function mergeable(document: EmfDocument, other: EmfDocument): boolean {
  for (const [member, value] of Object.entries(other)) {
    if (member === '_aws') continue;
    if (member in document && (document[member] !== value || typeof value === 'number')) return false;
  }
  return true;
}

/** Middy middleware: flush the invocation's counts when it ends, however it ends. */
export const countMetricsFlush = () => ({
  after: async () => flushCountMetrics(),
  onError: async () => flushCountMetrics(),
});
