import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { notificationIdFor } from '../../functions/core/route/identifiers.ts';
import { addFault, clearFaults, intent, mailbox, sendIntent, store, uid, waitFor } from './support.ts';

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
  afterEach(async () => {
    await clearFaults('ses');
  });

  it('tells each invocation on one summary line, keeps a line with every correlation field for failed attempts, and emits EMF with low-cardinality dimensions', async () => {
    // Prepare: one intent that goes through (push at accept, email at deliver) and one whose first email attempt fails.
    const user = uid('obs');
    const email = `${user}@example.com`;
    const sent = { ...intent('welcome', { user_id: user, email }, { name: 'Obs' }), request_id: uid('req'), trace_id: uid('trace') };
    const id = notificationIdFor('tests', sent.idempotency_key);
    const flakyEmail = `${uid('obs-flaky')}@example.com`;
    await addFault('ses', { match: flakyEmail, status: 400, errorType: 'SendingPausedException', message: 'sending paused', times: 1 });
    const flaky = { ...intent('flaky', { user_id: uid('obs'), email: flakyEmail }, { n: 1 }), request_id: uid('req'), trace_id: uid('trace') };
    const flakyId = notificationIdFor('tests', flaky.idempotency_key);

    // Act
    await sendIntent(sent);
    await sendIntent(flaky);
    await waitFor('every route published', async () => {
      const routes = [...(await store.listRoutes(id)), ...(await store.listRoutes(flakyId))];
      return (routes.length === 3 && routes.every((r) => r.status === 'published')) || undefined;
    });
    await waitFor('email', async () => (await mailbox(email)).length === 1 || undefined);

    // Assess: a success is an id on its invocation's summary line, not a line of its own
    const summaries = await waitFor('summary lines', async () => {
      const lines = functionLog().filter((l) => l['level'] === 'INFO' && (l['message'] === 'intake batch' || l['message'] === 'delivery batch'));
      const intake = lines.find((l) => (l['accepted'] as string[] | undefined)?.includes(id));
      const delivery = lines.find((l) => (l['published'] as string[] | undefined)?.includes(`${id}/email:${user}`));
      return intake && delivery ? { intake, delivery } : undefined;
    });
    expect(summaries.intake).toMatchObject({ message: 'intake batch', service: 'herald', published: expect.arrayContaining([`${id}/push:${user}`]) });
    expect(summaries.intake['routes']).toBeGreaterThanOrEqual(2);
    expect(summaries.delivery).toMatchObject({ message: 'delivery batch', service: 'herald' });
    for (const line of [summaries.intake, summaries.delivery]) {
      expect(line['function_request_id']).toBeTruthy();
      // Not repeated on every line: the log group names the function.
      expect(line).not.toHaveProperty('function_name');
      expect(line).not.toHaveProperty('function_arn');
    }
    expect(functionLog().filter((l) => l['notification_id'] === id && l['level'] !== 'DEBUG')).toEqual([]);

    // Assess: a failed attempt has its own line with the route's correlation fields
    const failed = await waitFor('failed attempt line', async () =>
      functionLog().find((l) => l['notification_id'] === flakyId && l['message'] === 'route attempt failed; retry scheduled'),
    );
    expect(failed).toMatchObject({
      level: 'WARN',
      notification_id: flakyId,
      route_id: `email:${flaky.audience.user_id}`,
      channel: 'email',
      notification_type: 'flaky',
      producer: 'tests',
      idempotency_key: flaky.idempotency_key,
      request_id: flaky.request_id,
      trace_id: flaky.trace_id,
      service: 'herald',
      attempt: 1,
      failure_classification: 'email_send_failed',
    });
    expect(failed['function_request_id']).toBeTruthy();
    const retried = await waitFor('summary line of the failed attempt', async () =>
      functionLog().find((l) => l['message'] === 'delivery batch' && l['function_request_id'] === failed['function_request_id']),
    );
    expect(retried['retry_scheduled']).toBeGreaterThanOrEqual(1);

    // Assess: metrics (EMF): names and dimension sets, never ids
    const emf = functionLog().filter((l) => l['_aws']?.CloudWatchMetrics);
    const publish = emf.find((l) => l['RoutePublishAttempts'] === 1 && l['notification_type'] === 'welcome' && l['result'] === 'published');
    expect(publish).toBeDefined();
    // A document carries one directive per dimension set; each metric is read with its directive's dimensions.
    type Directive = { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] };
    const directiveOf = (blob: Record<string, any>, metric: string) => (blob['_aws'].CloudWatchMetrics as Directive[]).find((d) => d.Metrics.some((m) => m.Name === metric))!;
    expect(directiveOf(publish!, 'RoutePublishAttempts')).toMatchObject({ Namespace: 'Herald', Metrics: [{ Name: 'RoutePublishAttempts', Unit: 'Count' }] });
    expect(directiveOf(publish!, 'RoutePublishAttempts').Dimensions[0]!.sort()).toEqual(['channel', 'notification_type', 'result', 'service'].sort());
    const rejected = emf.find((l) => l['IntentsRejected'] === 1);
    expect(directiveOf(rejected!, 'IntentsRejected').Dimensions[0]!.sort()).toEqual(['reason', 'service']);
    expect(emf.some((l) => l['RoutePublishedTotal'] === 1)).toBe(true);
    for (const blob of emf) {
      for (const directive of blob['_aws'].CloudWatchMetrics as Directive[]) {
        for (const dimension of directive.Dimensions.flat()) {
          expect(['service', 'channel', 'notification_type', 'result', 'classification', 'reason', 'event_type', 'route', 'status', 'outcome']).toContain(dimension);
        }
      }
    }
  });
});
