import fc from 'fast-check';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { EMAIL_OUTCOMES, OUTCOME_RANK, routeTags, type EmailFeedbackRecord } from '../../functions/core/email/emailFeedback.ts';
import { DynamoSuppressionList } from '../../functions/adapters/DynamoSuppressionList.ts';
import { notificationIdFor } from '../../functions/core/route/identifiers.ts';
import type { RouteRecord } from '../../functions/core/types.ts';
import { documents, endpoints, functionLogLines, intent, mailbox, outputs, seedNotification, sendIntent, sqs, store, uid, waitFor } from './support.ts';
import { runCommand } from '../runCommand.ts';

const suppressions = new DynamoSuppressionList(documents, outputs.tableName);

/** Sends a `receipt` email to `address` and answers its notification id. */
async function sendReceipt(user: string, address: string): Promise<string> {
  const sent = intent('receipt', { user_id: user, email: address }, { order: { id: uid('o'), total: '9.99' } });
  await sendIntent(sent);
  return notificationIdFor('tests', sent.idempotency_key);
}

/** The notification's only route once SES's feedback for it has arrived (the outcome `expected`). */
async function routeWithFeedback(id: string, expected: string): Promise<RouteRecord> {
  return waitFor(`the route of ${id} to record "${expected}"`, async () => {
    const [route] = await store.listRoutes(id);
    return route?.email_feedback?.outcome === expected ? route : undefined;
  });
}

async function settled(id: string): Promise<RouteRecord> {
  return waitFor(`the route of ${id} settled`, async () => {
    const [route] = await store.listRoutes(id);
    return route && ['published', 'cancelled', 'dead_letter'].includes(route.status) ? route : undefined;
  });
}

/** Runs the real `herald` command against the test stack. */
const herald = (...args: string[]) => runCommand(process.execPath, ['bin/herald-cli.mjs', ...args, '--endpoints', '.local/test-endpoints.json']);

/** Emails the SES emulator received for an address, whatever its case. */
const mailTo = async (address: string) => [...(await mailbox(address)), ...(await mailbox(address.toUpperCase()))];

describe('SES feedback on the offline stack (configuration set → default bus → feedback queue → feedback function)', () => {
  it('records a delivery on the route, with the SES message id it was sent as', async () => {
    const id = await sendReceipt(uid('ok'), `success+${uid('l')}@simulator.amazonses.com`);
    const route = await routeWithFeedback(id, 'delivered');
    expect(route.status).toBe('published');
    expect(route.email_message_id).toEqual(expect.any(String));
    expect(route.email_feedback).toMatchObject({ outcome: 'delivered', message_id: route.email_message_id, rank: 2 });
  });

  it('a hard bounce from bounce@ shows on the route and suppresses the address: the next email to it is cancelled without calling SES', async () => {
    // Prepare: a labelled simulator address, so no other test shares its suppression entry.
    const address = `bounce+${uid('l')}@simulator.amazonses.com`;
    const first = await sendReceipt(uid('b'), address);

    // Act 1: the bounce comes back through the feedback path.
    const bounced = await routeWithFeedback(first, 'bounced');

    // Assess: on the route, with SES's bounce type and the receiving server's words; the address listed.
    expect(bounced.email_feedback).toMatchObject({ bounce_type: 'Permanent', bounce_sub_type: 'General', diagnostic: 'smtp; 550 5.1.1 user unknown' });
    const entry = await waitFor('the suppression entry', () => suppressions.get(address));
    expect(entry).toMatchObject({ email: address, reason: 'bounce', bounce_type: 'Permanent', notification_id: first, route_id: bounced.route_id, message_id: bounced.email_message_id });

    // Act 2: another email to the same address (another user, upper case: the same mailbox).
    const second = await sendReceipt(uid('b2'), address.toUpperCase());

    // Assess: created cancelled, never attempted, and SES never got it.
    const route = await settled(second);
    expect(route).toMatchObject({ status: 'cancelled', cancel_reason: 'suppressed', attempts: 0 });
    expect(await mailTo(address)).toHaveLength(1);
  });

  it('a complaint from complaint@ follows the delivery, wins over it on the route, and suppresses the address', async () => {
    const address = `complaint+${uid('l')}@simulator.amazonses.com`;
    const id = await sendReceipt(uid('c'), address);
    const route = await routeWithFeedback(id, 'complained');
    expect(route.email_feedback).toMatchObject({ outcome: 'complained', diagnostic: 'abuse', rank: 4 });
    expect(await waitFor('the suppression entry', () => suppressions.get(address))).toMatchObject({ reason: 'complaint' });
  });

  it('suppressionlist@ bounces as suppressed; ooto@ is delivered and not suppressed', async () => {
    const listed = `suppressionlist+${uid('l')}@simulator.amazonses.com`;
    const away = `ooto+${uid('l')}@simulator.amazonses.com`;
    const [onList, outOfOffice] = await Promise.all([sendReceipt(uid('s'), listed), sendReceipt(uid('o'), away)]);
    expect((await routeWithFeedback(onList, 'bounced')).email_feedback).toMatchObject({ bounce_type: 'Permanent', bounce_sub_type: 'Suppressed' });
    expect(await waitFor('the suppression entry', () => suppressions.get(listed))).toMatchObject({ reason: 'bounce', bounce_sub_type: 'Suppressed' });
    await routeWithFeedback(outOfOffice, 'delivered');
    expect(await suppressions.get(away)).toBeUndefined();
  });

  it('herald status shows the outcome; herald suppression remove lets the next email go out', async () => {
    // Prepare: a bounced, suppressed address.
    const address = `bounce+${uid('l')}@simulator.amazonses.com`;
    const id = await sendReceipt(uid('cli'), address);
    await routeWithFeedback(id, 'bounced');
    await waitFor('the suppression entry', () => suppressions.get(address));

    // Act + assess: status names the outcome; get shows the entry; remove takes it off.
    const status = await herald('status', id);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('bounced Permanent/General smtp; 550 5.1.1 user unknown');
    const shown = await herald('suppression', 'get', '--email', address, '--json');
    expect(JSON.parse(shown.stdout)).toMatchObject({ email: address, reason: 'bounce' });
    expect((await herald('suppression', 'remove', '--email', address)).code).toBe(0);
    expect((await herald('suppression', 'get', '--email', address)).code).toBe(3);
    expect((await herald('suppression', 'remove', '--email', address)).code).toBe(3);

    // The next email to it is sent again (and bounces again: the address is still bad).
    const again = await sendReceipt(uid('cli2'), address);
    expect((await settled(again)).status).toBe('published');
    expect(await mailTo(address)).toHaveLength(2);
  });
});

describe('recording feedback on a route (DynamoNotificationStore against DynamoDB Local)', () => {
  it('keeps the highest-ranked outcome whatever the order, concurrency and repeats, in either storage layout', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...EMAIL_OUTCOMES), { minLength: 1, maxLength: 6 }), fc.boolean(), async (outcomes, together) => {
        const { routes } = await seedNotification({
          type: 'receipt', recipients: [{ user_id: uid('fb'), email: 'x@example.com' }], payload: {}, channels: ['email'], maxAttempts: 3, storedWithNotification: together,
        });
        const address = routes[0]!;
        const records: EmailFeedbackRecord[] = outcomes.map((outcome, i) => ({ outcome, rank: OUTCOME_RANK[outcome], at: i, message_id: `m-${i}` }));
        // Every event twice (at-least-once delivery), all at once.
        const answers = await Promise.all([...records, ...records].map((r) => store.recordEmailFeedback(address, r)));
        const [stored] = await store.listRoutes(address.notification_id);
        const highest = Math.max(...records.map((r) => r.rank));
        expect(stored!.email_feedback!.rank).toBe(highest);
        expect(answers.filter((a) => a === 'recorded').length).toBeGreaterThanOrEqual(1);
        expect(answers).not.toContain('route_missing');
        // The rest of the route is untouched.
        expect(stored).toMatchObject({ status: 'pending', attempts: 0, route_id: address.route_id });
      }),
      { numRuns: 15 },
    );
  });

  it('writes nothing for a route that does not exist (purged, or past retention)', async () => {
    const gone = { notification_id: `n_${'0'.repeat(32)}`, route_id: `email:${uid('gone')}` };
    expect(await store.recordEmailFeedback(gone, { outcome: 'delivered', rank: 2, at: 0, message_id: 'm' })).toBe('route_missing');
    expect(await store.getRoute(gone.notification_id, gone.route_id)).toBeUndefined();
  });
});

describe('bad feedback events', () => {
  it('absorbs a malformed event or one Herald does not use: logged with its reason, deleted from the queue, never retried', async () => {
    const marker = uid('bad-feedback');
    const bodies = [
      'not json',
      JSON.stringify({ id: marker, source: 'aws.ses', 'detail-type': 'Email Opened', detail: { eventType: 'Open', mail: { messageId: marker } } }),
    ];
    for (const body of bodies) await sqs.send(new SendMessageCommand({ QueueUrl: endpoints.outputs['HeraldFeedbackQueueUrl']!, MessageBody: body }));
    const lines = await waitFor('both absorbed', async () => {
      const absorbed = functionLogLines('email feedback absorbed');
      const mine = absorbed.filter((l) => l['event_id'] === marker || l['reason'] === 'malformed');
      return mine.some((l) => l['reason'] === 'unsupported_event_type') && mine.some((l) => l['reason'] === 'malformed') ? mine : undefined;
    });
    expect(lines.find((l) => l['event_id'] === marker)).toMatchObject({ reason: 'unsupported_event_type', detail_type: 'Email Opened' });
    // Handled once: deleted from the queue, not received again after its visibility timeout or a backoff.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(functionLogLines(marker).filter((l) => l['message'] === 'email feedback absorbed')).toHaveLength(1);
  });
});

describe('an SES event EventBridge could not deliver (the bus DLQ)', () => {
  it('herald redrive-queue bus sends it to the feedback queue (no one but SES may put aws.ses events on a bus), and the route gets its outcome', async () => {
    // Prepare: a sent route, and its Delivery event as EventBridge leaves a failed one in the DLQ (the whole event).
    const { routes } = await seedNotification({ type: 'receipt', recipients: [{ user_id: uid('dlq'), email: 'x@example.com' }], payload: {}, channels: ['email'], maxAttempts: 3 });
    const address = routes[0]!;
    const event = {
      version: '0', id: uid('ev'), 'detail-type': 'Email Delivered', source: 'aws.ses', account: '000000000000', time: new Date().toISOString(), region: 'us-east-1', resources: [],
      detail: {
        eventType: 'Delivery',
        mail: { timestamp: new Date().toISOString(), messageId: uid('msg'), destination: ['x@example.com'], tags: Object.fromEntries(routeTags(address).map((t) => [t.Name, [t.Value]])) },
        delivery: { timestamp: new Date().toISOString(), recipients: ['x@example.com'], smtpResponse: '250 ok' },
      },
    };
    await sqs.send(new SendMessageCommand({ QueueUrl: endpoints.outputs['HeraldBusDeadLetterQueueUrl']!, MessageBody: JSON.stringify(event) }));

    // Act.
    const redriven = await herald('redrive-queue', 'bus', '--json');

    // Assess: moved, and handled by the feedback function.
    expect(redriven.code, redriven.stderr).toBe(0);
    expect(JSON.parse(redriven.stdout)).toMatchObject({ put: expect.any(Number), left: [] });
    const route = await routeWithFeedback(address.notification_id, 'delivered');
    expect(route.email_feedback).toMatchObject({ message_id: event.detail.mail.messageId, diagnostic: '250 ok' });
  });
});
