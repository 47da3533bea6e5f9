import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EMAIL_OUTCOMES,
  normalizeEmailAddress,
  OUTCOME_RANK,
  parseSesEvent,
  routeFromTags,
  routeTags,
  supersedes,
  type EmailFeedbackRecord,
} from '../../functions/core/email/emailFeedback.ts';
import { RecordEmailFeedback, type EmailFeedbackStore, type SuppressionList } from '../../functions/core/email/RecordEmailFeedback.ts';
import type { RouteAddress } from '../../functions/core/types.ts';
import { simulatorScenario } from '../../local/SesEventPublisher.ts';

const route: RouteAddress = { notification_id: 'n_0123456789abcdef0123456789abcdef', route_id: 'email:ada.l+news=1@example.com', stored_with_notification: true };
/** `mail.tags` as SES publishes them: name → [values]. */
const tagsOf = (r: RouteAddress) => ({ 'ses:configuration-set': ['herald'], ...Object.fromEntries(routeTags(r).map((t) => [t.Name, [t.Value]])) });
const mail = { timestamp: '2017-08-05T00:40:02.012Z', source: 'sender@example.com', messageId: 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000', destination: ['recipient@example.com'], tags: tagsOf(route) };

// The records below follow the examples of docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-examples.html.
describe('parseSesEvent', () => {
  it('reads a permanent bounce: the route, the outcome with its type and diagnostic, and the address to suppress', () => {
    const parsed = parseSesEvent({
      eventType: 'Bounce',
      bounce: {
        bounceType: 'Permanent', bounceSubType: 'General',
        bouncedRecipients: [{ emailAddress: 'Recipient@Example.com', action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }],
        timestamp: '2017-08-05T00:41:02.669Z', feedbackId: '01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000', reportingMTA: 'dsn; mta.example.com',
      },
      mail,
    });
    expect(parsed).toEqual({
      ok: true,
      event: {
        route,
        feedback: { outcome: 'bounced', rank: 3, at: Date.parse('2017-08-05T00:41:02.669Z'), message_id: mail.messageId, bounce_type: 'Permanent', bounce_sub_type: 'General', diagnostic: 'smtp; 550 5.1.1 user unknown' },
        suppress: [{
          email: 'recipient@example.com', reason: 'bounce', suppressed_at: Date.parse('2017-08-05T00:41:02.669Z'), bounce_type: 'Permanent', bounce_sub_type: 'General',
          diagnostic: 'smtp; 550 5.1.1 user unknown', message_id: mail.messageId, notification_id: route.notification_id, route_id: route.route_id,
        }],
      },
    });
  });

  it('keeps a transient bounce as soft_bounced and suppresses no one', () => {
    const parsed = parseSesEvent({ eventType: 'Bounce', bounce: { bounceType: 'Transient', bounceSubType: 'MailboxFull', bouncedRecipients: [{ emailAddress: 'recipient@example.com' }], timestamp: '2017-08-05T00:41:02.669Z' }, mail });
    expect(parsed.ok && parsed.event.feedback).toMatchObject({ outcome: 'soft_bounced', bounce_type: 'Transient', bounce_sub_type: 'MailboxFull' });
    expect(parsed.ok && parsed.event.suppress).toEqual([]);
  });

  it('reads a complaint (its feedback type as the diagnostic) and suppresses the complainant', () => {
    const parsed = parseSesEvent({
      eventType: 'Complaint',
      complaint: { complainedRecipients: [{ emailAddress: 'recipient@example.com' }], timestamp: '2017-08-05T00:41:02.669Z', feedbackId: 'f', complaintFeedbackType: 'abuse' },
      mail,
    });
    expect(parsed.ok && parsed.event.feedback).toMatchObject({ outcome: 'complained', rank: 4, diagnostic: 'abuse' });
    expect(parsed.ok && parsed.event.suppress.map((s) => [s.email, s.reason])).toEqual([['recipient@example.com', 'complaint']]);
  });

  it.each([
    ['Delivery', { delivery: { timestamp: '2016-10-19T23:21:04.133Z', recipients: ['recipient@example.com'], smtpResponse: '250 2.6.0 Message received' } }, 'delivered', '250 2.6.0 Message received'],
    ['Reject', { reject: { reason: 'Bad content' } }, 'rejected', 'Bad content'],
    ['DeliveryDelay', { deliveryDelay: { timestamp: '2020-06-16T00:15:40.641Z', delayType: 'InternalFailure', delayedRecipients: [{ emailAddress: 'recipient@example.com', status: '4.4.1', diagnosticCode: 'smtp; 421 4.4.1 Unable to connect' }] } }, 'delayed', 'smtp; 421 4.4.1 Unable to connect'],
  ])('reads a %s event', (eventType, body, outcome, diagnostic) => {
    const parsed = parseSesEvent({ eventType, ...body, mail });
    expect(parsed.ok && parsed.event.feedback).toMatchObject({ outcome, diagnostic, message_id: mail.messageId });
    expect(parsed.ok && parsed.event.suppress).toEqual([]);
  });

  it.each([
    ['no detail', undefined, 'malformed'],
    ['no eventType', { mail }, 'malformed'],
    ['no message id', { eventType: 'Delivery', mail: { ...mail, messageId: '' } }, 'malformed'],
    ['a Bounce without its bounce object', { eventType: 'Bounce', mail }, 'malformed'],
    ['an Open event (not subscribed)', { eventType: 'Open', open: {}, mail }, 'unsupported_event_type'],
  ])('refuses %s with a reason', (_what, detail, reason) => {
    expect(parseSesEvent(detail)).toMatchObject({ ok: false, reason });
  });

  it('reads mail Herald did not tag without a route', () => {
    const parsed = parseSesEvent({ eventType: 'Delivery', delivery: {}, mail: { ...mail, tags: { 'ses:configuration-set': ['herald'] } } });
    expect(parsed.ok && parsed.event.route).toBeUndefined();
  });
});

describe('route tags', () => {
  it('carry any route address in the characters SES allows in a tag value, under 256, and back', () => {
    const identifier = fc.stringMatching(/^[A-Za-z0-9._@+=-]{1,128}$/);
    fc.assert(
      fc.property(identifier, fc.option(identifier, { nil: undefined }), fc.boolean(), (user, session, stored) => {
        const address: RouteAddress = {
          notification_id: 'n_0123456789abcdef0123456789abcdef',
          route_id: session === undefined ? `email:${user}` : `push:${user}:${session}`,
          ...(stored ? { stored_with_notification: true as const } : {}),
        };
        for (const tag of routeTags(address)) {
          expect(tag.Value).toMatch(/^[A-Za-z0-9_-]+$/);
          expect(tag.Value.length).toBeLessThan(256);
        }
        expect(routeFromTags(tagsOf(address))).toEqual(address);
      }),
    );
  });
});

describe('outcome precedence', () => {
  const record = (outcome: (typeof EMAIL_OUTCOMES)[number], i: number): EmailFeedbackRecord => ({ outcome, rank: OUTCOME_RANK[outcome], at: i, message_id: 'm' });

  it('ends with the highest-ranked outcome whatever order the events arrive in, and a repeat changes nothing', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...EMAIL_OUTCOMES), { minLength: 1, maxLength: 8 }), (outcomes) => {
        const events = outcomes.map(record);
        const apply = (order: EmailFeedbackRecord[]) => order.reduce<EmailFeedbackRecord | undefined>((held, e) => (supersedes(e, held) ? e : held), undefined);
        const forward = apply(events);
        const backward = apply([...events].reverse());
        const twice = apply([...events, ...events]);
        const highest = Math.max(...events.map((e) => e.rank));
        expect(forward!.rank).toBe(highest);
        expect(backward!.rank).toBe(highest);
        expect(twice).toEqual(forward);
      }),
    );
  });

  it('ranks a final word over a passing one: bounce and complaint over delivery, delivery over delay', () => {
    expect(supersedes(record('bounced', 0), record('delivered', 0))).toBe(true);
    expect(supersedes(record('complained', 0), record('delivered', 0))).toBe(true);
    expect(supersedes(record('delivered', 0), record('delayed', 0))).toBe(true);
    expect(supersedes(record('delivered', 0), record('soft_bounced', 0))).toBe(true);
    expect(supersedes(record('delayed', 0), record('delivered', 0))).toBe(false);
  });
});

describe('RecordEmailFeedback', () => {
  it('suppresses before it records the route, so a failure in between leaves the address protected', async () => {
    const calls: string[] = [];
    const routes: EmailFeedbackStore = { recordEmailFeedback: async () => { calls.push('route'); throw new Error('DynamoDB unavailable'); } };
    const suppressions: Pick<SuppressionList, 'suppress'> = { suppress: async (entry) => { calls.push(`suppress ${entry.email}`); return 'added'; } };
    const parsed = parseSesEvent({ eventType: 'Complaint', complaint: { complainedRecipients: [{ emailAddress: 'a@example.com' }], complaintFeedbackType: 'abuse' }, mail });
    if (!parsed.ok) throw new Error(parsed.message);
    await expect(new RecordEmailFeedback({ routes, suppressions }).apply(parsed.event)).rejects.toThrow('DynamoDB unavailable');
    expect(calls).toEqual(['suppress a@example.com', 'route']);
  });
});

describe('normalizeEmailAddress', () => {
  it.each([
    ['Ada@Example.COM', 'ada@example.com'],
    ['  ada@example.com ', 'ada@example.com'],
    ['Ada Lovelace <Ada@Example.com>', 'ada@example.com'],
  ])('%s → %s', (raw, normalized) => expect(normalizeEmailAddress(raw)).toBe(normalized));
});

describe('mailbox simulator addresses (offline SES)', () => {
  it.each([
    ['success@simulator.amazonses.com', 'success'],
    ['bounce+label1@simulator.amazonses.com', 'bounce'],
    ['Complaint@Simulator.AmazonSES.com', 'complaint'],
    ['ooto@simulator.amazonses.com', 'ooto'],
    ['suppressionlist@simulator.amazonses.com', 'suppressionlist'],
    ['bounce@example.com', undefined],
    ['nobody@simulator.amazonses.com', undefined],
  ])('%s → %s', (address, scenario) => expect(simulatorScenario(address)).toBe(scenario));
});
