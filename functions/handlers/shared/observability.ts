import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

/** One Logger and one Metrics per execution environment, shared by every handler module. */
export const logger = new Logger({ serviceName: process.env['POWERTOOLS_SERVICE_NAME'] ?? 'herald' });
export const metrics = new Metrics({
  namespace: process.env['POWERTOOLS_METRICS_NAMESPACE'] ?? 'Herald',
  serviceName: process.env['POWERTOOLS_SERVICE_NAME'] ?? 'herald',
});

/** X-Ray tracing (active on every function); disabled offline by POWERTOOLS_TRACE_ENABLED=false. */
export const tracer = new Tracer({ serviceName: process.env['POWERTOOLS_SERVICE_NAME'] ?? 'herald' });

const tracedClients = new WeakSet<object>();

/** Traces an AWS SDK v3 client's calls as subsegments (once per client), and returns it. */
export function traced<T extends object>(client: T): T {
  if (!tracedClients.has(client)) {
    tracer.captureAWSv3Client(client as never);
    tracedClients.add(client);
  }
  return client;
}

/**
 * Emits one count with its own low-cardinality dimension set (ids never go in dimensions). Each
 * call flushes its own EMF blob, because Herald's counters carry different dimension sets.
 */
export function countMetric(name: string, dimensions: Record<string, string>, value = 1): void {
  const single = metrics.singleMetric();
  for (const [key, dimension] of Object.entries(dimensions)) single.addDimension(key, dimension);
  single.addMetric(name, 'Count', value);
}
