import type { RouteAddress } from '../types.ts';

/**
 * What SES said became of an email, after the send (docs/email-feedback.md). From SES's event
 * records (docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html):
 * `Delivery` → delivered; `Bounce` with bounceType Permanent → bounced, Transient or Undetermined
 * → soft_bounced; `Complaint` → complained; `Reject` (SES found a virus and did not send) →
 * rejected; `DeliveryDelay` → delayed.
 */
export const EMAIL_OUTCOMES = ['delayed', 'soft_bounced', 'delivered', 'rejected', 'bounced', 'complained'] as const;
export type EmailOutcome = (typeof EMAIL_OUTCOMES)[number];

/**
 * Which outcome a route keeps when several arrive (in any order: EventBridge delivers best effort
 * and SQS out of order). A later, final word beats a passing one: a delay or a soft bounce is
 * replaced by the delivery or the hard bounce that follows; a bounce can come after a delivery (the
 * receiving server accepted the message, then bounced it); a complaint beats a delivery. Equal
 * ranks keep the first (a redelivered event changes nothing).
 */
export const OUTCOME_RANK: Readonly<Record<EmailOutcome, number>> = {
  delayed: 1,
  soft_bounced: 1,
  delivered: 2,
  rejected: 3,
  bounced: 3,
  complained: 4,
};

/** The SES event types Herald subscribes its configuration set's event destination to (CloudFormation's spelling). */
export const FEEDBACK_EVENT_TYPES = ['bounce', 'complaint', 'delivery', 'reject', 'deliveryDelay'] as const;

/** EventBridge detail-types of those events (docs.aws.amazon.com/eventbridge/latest/ref/events-ref-ses.html). */
export const FEEDBACK_DETAIL_TYPES = ['Email Bounced', 'Email Complaint Received', 'Email Delivered', 'Email Rejected', 'Email Delivery Delayed'] as const;

/** What a route records of its email's fate. */
export interface EmailFeedbackRecord {
  readonly outcome: EmailOutcome;
  /** Its rank (OUTCOME_RANK), stored so the write can be conditional on it. */
  readonly rank: number;
  /** When SES says it happened (epoch ms). */
  readonly at: number;
  readonly message_id: string;
  readonly bounce_type?: string;
  readonly bounce_sub_type?: string;
  /** The receiving server's words (a bounce's diagnosticCode, a delay's), or the complaint's feedback type. */
  readonly diagnostic?: string;
}

/** Why an address is on Herald's suppression list. */
export type SuppressionReason = 'bounce' | 'complaint' | 'manual';

export interface SuppressionEntry {
  /** Normalized (normalizeEmailAddress). */
  readonly email: string;
  readonly reason: SuppressionReason;
  readonly suppressed_at: number;
  readonly bounce_type?: string;
  readonly bounce_sub_type?: string;
  readonly diagnostic?: string;
  /** The SES message and Herald route that caused it, when feedback did. */
  readonly message_id?: string;
  readonly notification_id?: string;
  readonly route_id?: string;
}

/** One SES event, as Herald uses it. */
export interface EmailFeedback {
  readonly feedback: EmailFeedbackRecord;
  /** The route that sent the email, from the message's tags; undefined for mail Herald did not tag. */
  readonly route?: RouteAddress;
  /** Addresses to suppress: a permanent bounce's bounced recipients, a complaint's complainants. */
  readonly suppress: readonly SuppressionEntry[];
}

export type ParsedFeedback = { readonly ok: true; readonly event: EmailFeedback } | { readonly ok: false; readonly reason: 'malformed' | 'unsupported_event_type'; readonly message: string };

/** Tags SES publishes with every event of a message sent with them (their values: ASCII letters, digits, _ and -, < 256 chars). */
export const ROUTE_TAGS = { notification: 'herald_notification', route: 'herald_route', stored: 'herald_stored' } as const;

/**
 * The message tags that let a feedback event find its route. SES allows only letters, digits, `_`
 * and `-` in a tag value (docs.aws.amazon.com/ses/latest/APIReference-V2/API_MessageTag.html), so
 * the route id (`email:<user id>`, which may hold `.@+=`) travels base64url-encoded.
 */
export function routeTags(route: RouteAddress): { Name: string; Value: string }[] {
  return [
    { Name: ROUTE_TAGS.notification, Value: route.notification_id },
    { Name: ROUTE_TAGS.route, Value: Buffer.from(route.route_id, 'utf8').toString('base64url') },
    ...(route.stored_with_notification ? [{ Name: ROUTE_TAGS.stored, Value: 'with_notification' }] : []),
  ];
}

/** The route named by a message's tags, as SES publishes them (`mail.tags`: name → [values]). */
export function routeFromTags(tags: unknown): RouteAddress | undefined {
  if (typeof tags !== 'object' || tags === null) return undefined;
  const first = (name: string) => {
    const values = (tags as Record<string, unknown>)[name];
    return Array.isArray(values) && typeof values[0] === 'string' ? values[0] : undefined;
  };
  const notificationId = first(ROUTE_TAGS.notification);
  const encodedRoute = first(ROUTE_TAGS.route);
  if (notificationId === undefined || encodedRoute === undefined || !/^[A-Za-z0-9_-]+$/.test(encodedRoute)) return undefined;
  return {
    notification_id: notificationId,
    route_id: Buffer.from(encodedRoute, 'base64url').toString('utf8'),
    ...(first(ROUTE_TAGS.stored) === 'with_notification' ? { stored_with_notification: true as const } : {}),
  };
}

/**
 * The form an address is kept in on the suppression list: trimmed and lower-cased. The domain is
 * case-insensitive (RFC 5321 §2.4); the local part may in theory not be, but no mailbox provider
 * treats it so, and erring towards suppression is the safe side.
 */
export function normalizeEmailAddress(address: string): string {
  const bare = /<([^>]+)>\s*$/.exec(address)?.[1] ?? address;
  return bare.trim().toLowerCase();
}

/** At most this much of a receiving server's diagnostic is kept. */
const DIAGNOSTIC_MAX = 512;

/** Reads one SES event record (an EventBridge event's `detail`, or an SNS message's body). */
export function parseSesEvent(detail: unknown): ParsedFeedback {
  if (typeof detail !== 'object' || detail === null) return malformed('the event has no detail object');
  const record = detail as Record<string, unknown>;
  const eventType = record['eventType'] ?? record['notificationType'];
  const mail = record['mail'] as Record<string, unknown> | undefined;
  if (typeof eventType !== 'string') return malformed('the event has no eventType');
  if (typeof mail !== 'object' || mail === null || typeof mail['messageId'] !== 'string' || mail['messageId'] === '') return malformed('the event has no mail.messageId');
  const messageId = mail['messageId'];
  const route = routeFromTags(mail['tags']);
  const base = (outcome: EmailOutcome, timestamp: unknown, extra: Partial<EmailFeedbackRecord> = {}): EmailFeedbackRecord => ({
    outcome,
    rank: OUTCOME_RANK[outcome],
    at: timeOf(timestamp) ?? timeOf(mail['timestamp']) ?? 0,
    message_id: messageId,
    ...extra,
  });
  const done = (feedback: EmailFeedbackRecord, suppress: SuppressionEntry[] = []): ParsedFeedback => ({
    ok: true,
    event: { feedback, ...(route ? { route } : {}), suppress },
  });
  switch (eventType) {
    case 'Delivery': {
      const delivery = objectAt(record, 'delivery');
      return done(base('delivered', delivery?.['timestamp'], textField('diagnostic', delivery?.['smtpResponse'])));
    }
    case 'Bounce': {
      const bounce = objectAt(record, 'bounce');
      if (bounce === undefined) return malformed('a Bounce event has no bounce object');
      const bounceType = typeof bounce['bounceType'] === 'string' ? bounce['bounceType'] : 'Undetermined';
      const subType = typeof bounce['bounceSubType'] === 'string' ? bounce['bounceSubType'] : undefined;
      const recipients = arrayOfObjects(bounce['bouncedRecipients']);
      const diagnostic = recipients.map((r) => r['diagnosticCode']).find((d) => typeof d === 'string');
      const feedback = base(bounceType === 'Permanent' ? 'bounced' : 'soft_bounced', bounce['timestamp'], {
        bounce_type: bounceType,
        ...(subType ? { bounce_sub_type: subType } : {}),
        ...textField('diagnostic', diagnostic),
      });
      // Only a hard bounce says the address will never take mail (SES adds those to its own list too).
      const suppress = bounceType !== 'Permanent' ? [] : recipients.flatMap((r) => addressOf(r['emailAddress'])).map((email) => ({
        email,
        reason: 'bounce' as const,
        suppressed_at: feedback.at,
        bounce_type: bounceType,
        ...(subType ? { bounce_sub_type: subType } : {}),
        ...textField('diagnostic', recipients.find((r) => addressOf(r['emailAddress'])[0] === email)?.['diagnosticCode']),
        ...provenance(messageId, route),
      }));
      return done(feedback, suppress);
    }
    case 'Complaint': {
      const complaint = objectAt(record, 'complaint');
      if (complaint === undefined) return malformed('a Complaint event has no complaint object');
      const feedbackType = complaint['complaintFeedbackType'];
      const feedback = base('complained', complaint['timestamp'], textField('diagnostic', feedbackType));
      const suppress = arrayOfObjects(complaint['complainedRecipients']).flatMap((r) => addressOf(r['emailAddress'])).map((email) => ({
        email,
        reason: 'complaint' as const,
        suppressed_at: feedback.at,
        ...textField('diagnostic', feedbackType),
        ...provenance(messageId, route),
      }));
      return done(feedback, suppress);
    }
    case 'Reject': {
      const reject = objectAt(record, 'reject');
      return done(base('rejected', undefined, textField('diagnostic', reject?.['reason'])));
    }
    case 'DeliveryDelay': {
      const delay = objectAt(record, 'deliveryDelay');
      const delayed = arrayOfObjects(delay?.['delayedRecipients']);
      return done(base('delayed', delay?.['timestamp'], {
        ...(typeof delay?.['delayType'] === 'string' ? { bounce_type: 'DeliveryDelay', bounce_sub_type: delay['delayType'] } : {}),
        ...textField('diagnostic', delayed.map((r) => r['diagnosticCode']).find((d) => typeof d === 'string')),
      }));
    }
    default:
      return { ok: false, reason: 'unsupported_event_type', message: `Herald does not subscribe to SES "${eventType}" events` };
  }
}

/** Whether `candidate` replaces what a route holds (`current`): strictly higher rank only. */
export function supersedes(candidate: Pick<EmailFeedbackRecord, 'rank'>, current: Pick<EmailFeedbackRecord, 'rank'> | undefined): boolean {
  return current === undefined || candidate.rank > current.rank;
}

function malformed(message: string): ParsedFeedback {
  return { ok: false, reason: 'malformed', message };
}

function objectAt(record: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const value = record[key];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function arrayOfObjects(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null) : [];
}

function addressOf(value: unknown): string[] {
  return typeof value === 'string' && value.includes('@') ? [normalizeEmailAddress(value)] : [];
}

function timeOf(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const at = Date.parse(value);
  return Number.isFinite(at) ? at : undefined;
}

function textField(key: 'diagnostic', value: unknown): { diagnostic?: string } {
  return typeof value === 'string' && value !== '' ? { [key]: value.slice(0, DIAGNOSTIC_MAX) } : {};
}

function provenance(messageId: string, route: RouteAddress | undefined): Pick<SuppressionEntry, 'message_id' | 'notification_id' | 'route_id'> {
  return { message_id: messageId, ...(route ? { notification_id: route.notification_id, route_id: route.route_id } : {}) };
}
