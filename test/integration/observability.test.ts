import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { notificationIdFor } from '../../functions/core/route/identifiers.ts';
import { intent, mailbox, sendIntent, store, uid, waitFor } from './support.ts';

/** JSON lines the functions wrote (the offline stack captures their stdout), parsed. */
function functionLog(): Record<string, any>[] {
  return readFileSync(inject('functionLog'), 'utf8')
    .split('\n')
    .filter((line) => line.includes('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line.slice(line.indexOf('{')))];
      } catch {
        return [];
      }
    });
}

describe('structured logs and metrics of the real handlers', () => {
  it('puts the same correlation fields on every route log line and emits EMF with low-cardinality dimensions', async () => {
    // Prepare
    const email = `${uid('obs')}@example.com`;
    const sent = { ...intent('welcome', { user_id: uid('obs'), email }, { name: 'Obs' }), request_id: uid('req'), trace_id: uid('trace') };
    const id = notificationIdFor('tests', sent.idempotency_key);

    // Act
    await sendIntent(sent);
    await waitFor('both routes published', async () => {
      const routes = await store.listRoutes(id);
      return (routes.length === 2 && routes.every((r) => r.status === 'published')) || undefined;
    });
    await waitFor('email', async () => (await mailbox(email)).length === 1 || undefined);

    // Assess: logs
    const routeLines = await waitFor('route log lines', async () => {
      const lines = functionLog().filter((l) => l['notification_id'] === id && l['route_id']);
      return lines.length >= 2 ? lines : undefined;
    });
    for (const line of routeLines) {
      expect(line).toMatchObject({
        notification_id: id,
        producer: 'tests',
        idempotency_key: sent.idempotency_key,
        request_id: sent.request_id,
        trace_id: sent.trace_id,
        service: 'herald',
      });
      expect(['email', 'push']).toContain(line['channel']);
      expect(line['route_id']).toMatch(/^(email|push):/);
      expect(line['function_request_id']).toBeTruthy();
      // Not repeated on every line: the log group names the function.
      expect(line).not.toHaveProperty('function_name');
      expect(line).not.toHaveProperty('function_arn');
    }
    expect(routeLines.map((l) => l['message'])).toContain('route published');

    // Assess: metrics (EMF): names and dimension sets, never ids
    const emf = functionLog().filter((l) => l['_aws']?.CloudWatchMetrics);
    const publish = emf.find((l) => l['RoutePublishAttempts'] === 1 && l['notification_type'] === 'welcome' && l['result'] === 'published');
    expect(publish).toBeDefined();
    expect(publish!['_aws'].CloudWatchMetrics[0]).toMatchObject({ Namespace: 'Herald', Metrics: [{ Name: 'RoutePublishAttempts', Unit: 'Count' }] });
    expect(publish!['_aws'].CloudWatchMetrics[0].Dimensions[0].sort()).toEqual(['channel', 'notification_type', 'result', 'service'].sort());
    const rejected = emf.find((l) => l['IntentsRejected'] === 1);
    expect(rejected!['_aws'].CloudWatchMetrics[0].Dimensions[0].sort()).toEqual(['reason', 'service']);
    expect(emf.some((l) => l['RoutePublishedTotal'] === 1)).toBe(true);
    for (const blob of emf) {
      for (const dimension of blob['_aws'].CloudWatchMetrics[0].Dimensions.flat() as string[]) {
        expect(['service', 'channel', 'notification_type', 'result', 'classification', 'reason', 'event_type']).toContain(dimension);
      }
    }
  });
});
