import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { DispatchError } from '../core/errors.ts';
import type { EmailSender } from '../core/ports.ts';
import type { RenderedEmail } from '../core/email/renderTemplate.ts';

/** SES rejects these for good: retrying cannot help. */
const PERMANENT_ERRORS = new Set([
  'MessageRejected',
  'MailFromDomainNotVerifiedException',
  'BadRequestException',
  'AccountSuspendedException',
  'NotFoundException',
]);

/** Sends rendered email through SES v2 `SendEmail`. */
export class SesEmailSender implements EmailSender {
  public constructor(
    private readonly client: SESv2Client,
    private readonly options: { readonly from: string; readonly configurationSet?: string },
  ) {}

  public async send(input: { to: string; email: RenderedEmail; routeId: string }): Promise<void> {
    try {
      await this.client.send(
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
            },
          },
          // Lets SES event destinations correlate bounces with the route.
          EmailTags: [{ Name: 'herald_route', Value: input.routeId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 256) }],
          ...(this.options.configurationSet ? { ConfigurationSetName: this.options.configurationSet } : {}),
        }),
      );
    } catch (error) {
      const name = (error as { name?: string }).name ?? 'Error';
      const message = `SES SendEmail failed: ${name}: ${(error as Error).message}`;
      if (PERMANENT_ERRORS.has(name)) throw new DispatchError('email_rejected', message, false, { cause: error });
      throw new DispatchError('email_send_failed', message, true, { cause: error });
    }
  }
}
