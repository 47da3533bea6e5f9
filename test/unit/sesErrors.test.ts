import { describe, expect, it } from 'vitest';
import { classifySesError } from '../../functions/adapters/SesEmailSender.ts';

const sesError = (name: string, message: string) => Object.assign(new Error(message), { name });

describe('classifySesError', () => {
  it.each([
    // IAM or an identity policy: the same send is refused in a minute too.
    ['AccessDeniedException', 'User: arn:aws:sts::1:assumed-role/deliver is not authorized to perform: ses:SendEmail on resource: arn:aws:ses:us-east-1:1:identity/ada@example.com', 'email_not_authorized', false],
    // The SES sandbox: SES's own words for an unverified recipient.
    ['MessageRejected', 'Email address is not verified. The following identities failed the check in region US-EAST-1: ada@example.com', 'email_identity_unverified', false],
    ['MessageRejected', 'Illegal address', 'email_rejected', false],
    ['MailFromDomainNotVerifiedException', 'MAIL FROM domain not verified', 'email_rejected', false],
    ['AccountSuspendedException', 'suspended', 'email_rejected', false],
    // Paused sending (by the account or SES) can be resumed: retried within the route's attempts.
    ['SendingPausedException', 'paused', 'email_send_failed', true],
    ['TooManyRequestsException', 'Maximum sending rate exceeded', 'email_send_failed', true],
    ['InternalFailure', 'injected', 'email_send_failed', true],
  ])('%s (%s) → %s, retried: %s', (name, message, classification, retryable) => {
    const classified = classifySesError(sesError(name, message));
    expect(classified.classification).toBe(classification);
    expect(classified.retryable).toBe(retryable);
    expect(classified.message).toContain(message);
  });
});
