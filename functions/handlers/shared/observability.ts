import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** One Logger and one Metrics per execution environment, shared by every handler module. */
export const logger = new Logger({ serviceName: process.env['POWERTOOLS_SERVICE_NAME'] ?? 'herald' });
export const metrics = new Metrics({
  namespace: process.env['POWERTOOLS_METRICS_NAMESPACE'] ?? 'Herald',
  serviceName: process.env['POWERTOOLS_SERVICE_NAME'] ?? 'herald',
});

/**
 * Emits one count with its own low-cardinality dimension set (ids never go in dimensions). Each
 * call flushes its own EMF blob, because Herald's counters carry different dimension sets.
 */
export function countMetric(name: string, dimensions: Record<string, string>, value = 1): void {
  const single = metrics.singleMetric();
  for (const [key, dimension] of Object.entries(dimensions)) single.addDimension(key, dimension);
  single.addMetric(name, 'Count', value);
}
