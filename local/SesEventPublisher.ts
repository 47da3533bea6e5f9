import { LOCAL_ACCOUNT, LOCAL_REGION } from './Intrinsics.ts';

/** An SES configuration set's event destination on an EventBridge bus, from the template. */
export interface LocalSesEventDestination {
  readonly configurationSetName: string;
  /** CloudFormation's spelling: `bounce`, `complaint`, `delivery`, `reject`, `deliveryDelay`, `send`, … */
  readonly eventTypes: ReadonlySet<string>;
  /** The bus's name (SES allows only `default`). */
  readonly busName: string;
}

/** Puts an AWS service's event on a bus, as the service itself does (no `aws.*` source check). */
export type ServiceEventSink = (busName: string, entry: { source: string; detailType: string; detail: Record<string, unknown>; resources: string[] }) => void;

/** The SendEmail request fields the events need (SES v2 JSON body). */
interface SendEmailRequest {
  readonly ConfigurationSetName?: string;
  readonly FromEmailAddress?: string;
  readonly Destination?: { ToAddresses?: string[]; CcAddresses?: string[]; BccAddresses?: string[] };
  readonly EmailTags?: { Name: string; Value: string }[];
  readonly Content?: { Simple?: { Subject?: { Data?: string } } };
}

/** SES event type → its EventBridge detail-type (docs.aws.amazon.com/eventbridge/latest/ref/events-ref-ses.html). */
const DETAIL_TYPES: Record<string, string> = {
  Send: 'Email Sent',
  Delivery: 'Email Delivered',
  Bounce: 'Email Bounced',
  Complaint: 'Email Complaint Received',
  Reject: 'Email Rejected',
  DeliveryDelay: 'Email Delivery Delayed',
};

/** What the mailbox simulator does with a message to one of its addresses (docs.aws.amazon.com/ses/latest/dg/send-an-email-from-console.html#send-email-simulator). */
export type SimulatorScenario = 'success' | 'bounce' | 'ooto' | 'complaint' | 'suppressionlist';
const SIMULATOR_DOMAIN = 'simulator.amazonses.com';

/**
 * The scenario of a simulator address; labels (`bounce+label1@…`) are allowed, as on SES. Any
 * other address is an ordinary recipient: the offline mailbox accepts it, so SES would report a delivery.
 */
export function simulatorScenario(address: string): SimulatorScenario | undefined {
  const [local, domain] = address.trim().toLowerCase().split('@') as [string, string | undefined];
  if (domain !== SIMULATOR_DOMAIN) return undefined;
  const name = local.split('+')[0];
  return name === 'success' || name === 'bounce' || name === 'ooto' || name === 'complaint' || name === 'suppressionlist' ? name : undefined;
}

/**
 * SES event publishing for the offline stack. After the SES emulator accepts a SendEmail made with
 * a configuration set that has an EventBridge destination in the template, the events SES would
 * publish for each recipient go to that bus, a moment later and asynchronously as on SES:
 * - `success@` and any ordinary address: Delivery;
 * - `bounce@`: Bounce, Permanent/General, `smtp; 550 5.1.1 user unknown`;
 * - `complaint@`: Delivery, then Complaint (`abuse`);
 * - `ooto@`: Delivery (the out-of-office reply goes to the sender's address, not to an event);
 * - `suppressionlist@`: Bounce, Permanent/Suppressed (as if on SES's global suppression list), no Delivery.
 * Only the event types the destination matches are published. The records follow SES's event
 * format (docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html), with
 * the message's tags in `mail.tags`, `ses:configuration-set` among them.
 */
export class SesEventPublisher {
  private readonly pending = new Set<NodeJS.Timeout>();
  /** Events published so far, by type (for tests and the admin API). */
  public readonly published = new Map<string, number>();

  public constructor(
    private readonly destinations: readonly LocalSesEventDestination[],
    private readonly sink: ServiceEventSink,
    private readonly delayMs = 50,
  ) {}

  /** Called for every SendEmail the emulator applied (`status` 200), with its request and answer bodies. */
  public afterSendEmail(requestBody: string, responseBody: string): void {
    const request = parse<SendEmailRequest>(requestBody);
    const messageId = parse<{ MessageId?: string }>(responseBody)?.MessageId;
    if (!request?.ConfigurationSetName || !messageId) return;
    const destinations = this.destinations.filter((d) => d.configurationSetName === request.ConfigurationSetName);
    if (destinations.length === 0) return;
    const sentAt = new Date();
    const recipients = [...(request.Destination?.ToAddresses ?? []), ...(request.Destination?.CcAddresses ?? []), ...(request.Destination?.BccAddresses ?? [])];
    const mail = {
      timestamp: sentAt.toISOString(),
      source: request.FromEmailAddress ?? '',
      sourceArn: `arn:aws:ses:${LOCAL_REGION}:${LOCAL_ACCOUNT}:identity/${request.FromEmailAddress ?? ''}`,
      sendingAccountId: LOCAL_ACCOUNT,
      messageId,
      destination: recipients,
      headersTruncated: false,
      commonHeaders: { from: [request.FromEmailAddress ?? ''], to: request.Destination?.ToAddresses ?? [], messageId, subject: request.Content?.Simple?.Subject?.Data ?? '' },
      tags: {
        'ses:configuration-set': [request.ConfigurationSetName],
        'ses:source-ip': ['127.0.0.1'],
        'ses:from-domain': [(request.FromEmailAddress ?? '').split('@')[1] ?? ''],
        'ses:caller-identity': ['local'],
        ...Object.fromEntries((request.EmailTags ?? []).map((tag) => [tag.Name, [tag.Value]])),
      },
    };
    const events = recipients.flatMap((recipient) => eventsFor(recipient, sentAt));
    let step = 1;
    for (const event of events) {
      for (const destination of destinations) {
        if (!destination.eventTypes.has(cloudFormationName(event.eventType))) continue;
        const timer = setTimeout(() => {
          this.pending.delete(timer);
          this.published.set(event.eventType, (this.published.get(event.eventType) ?? 0) + 1);
          this.sink(destination.busName, {
            source: 'aws.ses',
            detailType: DETAIL_TYPES[event.eventType]!,
            detail: { eventType: event.eventType, mail, ...event.body },
            resources: [`arn:aws:ses:${LOCAL_REGION}:${LOCAL_ACCOUNT}:configuration-set/${request.ConfigurationSetName}`],
          });
        }, this.delayMs * step);
        this.pending.add(timer);
      }
      step += 1;
    }
  }

  public close(): void {
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
  }
}

interface SesEvent {
  readonly eventType: keyof typeof DETAIL_TYPES;
  readonly body: Record<string, unknown>;
}

function eventsFor(recipient: string, sentAt: Date): SesEvent[] {
  const at = (ms: number) => new Date(sentAt.getTime() + ms).toISOString();
  const delivery: SesEvent = {
    eventType: 'Delivery',
    body: { delivery: { timestamp: at(300), processingTimeMillis: 300, recipients: [recipient], smtpResponse: '250 2.6.0 Message received', reportingMTA: 'a8-70.smtp-out.amazonses.com' } },
  };
  const hardBounce = (subType: string, diagnosticCode?: string): SesEvent => ({
    eventType: 'Bounce',
    body: {
      bounce: {
        bounceType: 'Permanent',
        bounceSubType: subType,
        bouncedRecipients: [{ emailAddress: recipient, action: 'failed', status: '5.1.1', ...(diagnosticCode ? { diagnosticCode } : {}) }],
        timestamp: at(400),
        feedbackId: `local-feedback-${sentAt.getTime()}`,
        reportingMTA: 'dsn; a8-70.smtp-out.amazonses.com',
      },
    },
  });
  switch (simulatorScenario(recipient)) {
    case 'bounce':
      return [hardBounce('General', 'smtp; 550 5.1.1 user unknown')];
    case 'suppressionlist':
      return [hardBounce('Suppressed', 'Amazon SES has suppressed sending to this address because it has a recent history of bouncing as an invalid address.')];
    case 'complaint':
      return [
        delivery,
        {
          eventType: 'Complaint',
          body: {
            complaint: {
              complainedRecipients: [{ emailAddress: recipient }],
              timestamp: at(600),
              feedbackId: `local-complaint-${sentAt.getTime()}`,
              userAgent: 'Amazon SES Mailbox Simulator',
              complaintFeedbackType: 'abuse',
              arrivalDate: at(550),
            },
          },
        },
      ];
    default:
      return [delivery];
  }
}

/** `DeliveryDelay` → `deliveryDelay`: the template's MatchingEventTypes spelling. */
function cloudFormationName(eventType: string): string {
  return eventType.charAt(0).toLowerCase() + eventType.slice(1);
}

function parse<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
