import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { routeTags } from '../core/email/emailFeedback.ts';
import { DispatchError } from '../core/errors.ts';
import type { EmailSender } from '../core/ports.ts';

/** SES rejects these for good: retrying cannot help. */
const PERMANENT_ERRORS = new Set([
  'MessageRejected',
  'MailFromDomainNotVerifiedException',
  'BadRequestException',
  'AccountSuspendedException',
  'NotFoundException',
]);
/** SES or IAM refused the caller: a permission or sending-authorization policy, not a passing fault. */
const NOT_AUTHORIZED_ERRORS = new Set(['AccessDeniedException', 'AccessDenied', 'NotAuthorizedException']);

/**
 * What a failed SendEmail means for the route. Permission and identity errors are permanent (a
 * retry in minutes meets the same policy) and named, so the dead letter says what to fix.
 */
export function classifySesError(error: unknown): DispatchError {
  const name = (error as { name?: string }).name ?? 'Error';
  const detail = (error as Error).message ?? String(error);
  const message = `SES SendEmail failed: ${name}: ${detail}`;
  if (NOT_AUTHORIZED_ERRORS.has(name)) {
    return new DispatchError('email_not_authorized', `${message} (the deliver function's role or an identity policy does not allow this send)`, false, { cause: error });
  }
  // SES's words when an address is not a verified identity: the sender's, or in the sandbox a recipient's.
  if (name === 'MessageRejected' && /not verified|failed the check/i.test(detail)) {
    return new DispatchError('email_identity_unverified', `${message} (in the SES sandbox every recipient must be a verified identity too)`, false, { cause: error });
  }
  if (PERMANENT_ERRORS.has(name)) return new DispatchError('email_rejected', message, false, { cause: error });
  return new DispatchError('email_send_failed', message, true, { cause: error });
}

/** Sends rendered email through SES v2 `SendEmail`. */
export class SesEmailSender implements EmailSender {
  public constructor(
    private readonly client: SESv2Client,
    private readonly options: { readonly from: string; readonly configurationSet?: string },
  ) {}

  public async send(input: Parameters<EmailSender['send']>[0]): Promise<{ messageId?: string }> {
    try {
      const { MessageId } = await this.client.send(
        new SendEmailCommand({
          FromEmailAddress: this.options.from,
          Destination: { ToAddresses: [input.to] },
          Content: {
            Simple: {
              Subject: { Data: input.email.subject, Charset: 'UTF-8' },
              Body: {
                Text: { Data: input.email.text, Charset: 'UTF-8' },
                ...(input.email.html !== undefined ? { Html: { Data: input.email.html, Charset: 'UTF-8' } } : {}),
              },
              // Custom headers of a simple message (docs.aws.amazon.com/ses/latest/dg/header-fields.html: List-Unsubscribe and -Post at most once each).
              ...(input.headers && input.headers.length > 0 ? { Headers: input.headers.map((h) => ({ Name: h.name, Value: h.value })) } : {}),
            },
          },
          // SES publishes a message's tags with each of its events: the feedback function finds the route by them.
          EmailTags: routeTags(input.route),
          ...(this.options.configurationSet ? { ConfigurationSetName: this.options.configurationSet } : {}),
        }),
      );
      return MessageId === undefined ? {} : { messageId: MessageId };
    } catch (error) {
      throw classifySesError(error);
    }
  }
}
