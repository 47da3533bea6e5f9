import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

process.env['POWERTOOLS_TRACE_ENABLED'] = 'false';
process.env['POWERTOOLS_SERVICE_NAME'] = 'herald';
let observability: typeof import('../../functions/handlers/shared/observability.ts');
beforeAll(async () => {
  observability = await import('../../functions/handlers/shared/observability.ts');
});

/** The EMF documents one flush writes to stdout. */
function flushed(): Record<string, unknown>[] {
  const lines: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    observability.flushCountMetrics();
  } finally {
    write.mockRestore();
  }
  return lines.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
}

type Directive = { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] };
const directives = (document: Record<string, unknown>) => (document['_aws'] as { CloudWatchMetrics: Directive[] }).CloudWatchMetrics;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('flushCountMetrics', () => {
  it('writes the dimension sets of a published push as one EMF document with a directive per set', () => {
    const { countMetric } = observability;
    countMetric('IntentsAccepted', {});
    countMetric('RoutesCreated', {}, 1);
    countMetric('RoutePublishAttempts', { channel: 'push', notification_type: 'chat', result: 'published' });
    countMetric('RoutePublishedTotal', {});

    const documents = flushed();

    expect(documents).toHaveLength(1);
    const [document] = documents;
    expect(directives(document!)).toEqual([
      { Namespace: 'Herald', Dimensions: [['service']], Metrics: [{ Name: 'IntentsAccepted', Unit: 'Count' }, { Name: 'RoutesCreated', Unit: 'Count' }, { Name: 'RoutePublishedTotal', Unit: 'Count' }] },
      { Namespace: 'Herald', Dimensions: [['service', 'channel', 'notification_type', 'result']], Metrics: [{ Name: 'RoutePublishAttempts', Unit: 'Count' }] },
    ]);
    expect(document).toMatchObject({ service: 'herald', channel: 'push', notification_type: 'chat', result: 'published', IntentsAccepted: 1, RoutesCreated: 1, RoutePublishedTotal: 1, RoutePublishAttempts: 1 });
  });

  it('keeps sets that disagree on a dimension value, or name the same metric, in documents of their own, each value where its directive reads it', () => {
    const { countMetric } = observability;
    countMetric('RoutePublishAttempts', { channel: 'push', result: 'published' }, 3);
    countMetric('RoutePublishAttempts', { channel: 'push', result: 'retry' }, 2);
    countMetric('RouteRetries', { channel: 'push' });
    countMetric('RouteRetries', { channel: 'email' });

    const documents = flushed();

    const readings = documents.flatMap((document) =>
      directives(document).flatMap((directive) => directive.Metrics.map((metric) => ({
        metric: metric.Name,
        dimensions: Object.fromEntries(directive.Dimensions[0]!.map((name) => [name, document[name]])),
        value: document[metric.Name],
      }))),
    );
    expect(readings).toEqual(expect.arrayContaining([
      { metric: 'RoutePublishAttempts', dimensions: { service: 'herald', channel: 'push', result: 'published' }, value: 3 },
      { metric: 'RoutePublishAttempts', dimensions: { service: 'herald', channel: 'push', result: 'retry' }, value: 2 },
      { metric: 'RouteRetries', dimensions: { service: 'herald', channel: 'push' }, value: 1 },
      { metric: 'RouteRetries', dimensions: { service: 'herald', channel: 'email' }, value: 1 },
    ]));
    expect(readings).toHaveLength(4);
    // The two published-and-retry documents cannot share a root; RouteRetries{push} joins one of them.
    expect(documents.length).toBe(3);
  });

  it('writes nothing when nothing was counted', () => {
    expect(flushed()).toEqual([]);
  });
});
