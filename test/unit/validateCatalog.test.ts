import { describe, expect, it } from 'vitest';
import { validateCatalog } from '../../functions/core/catalog/validateCatalog.ts';
import { ConfigurationError } from '../../functions/core/errors.ts';

const email = { subject: 'S {{a}}', text: 'T' };

describe('validateCatalog', () => {
  it('accepts a sound catalog', () => {
    const catalog = {
      welcome: { channels: ['email', 'push'], email },
      'friend.request': { channels: ['push'], maxAttempts: 3, throttle: { limit: 5, windowSeconds: 3600 } },
    };
    expect(validateCatalog(catalog)).toBe(catalog);
  });

  it.each([
    [null, 'catalog must be an object'],
    [{}, 'at least one notification type'],
    [{ 'Bad Type': { channels: ['push'] } }, 'catalog entry "Bad Type": type names are'],
    [{ a: { channels: [] } }, 'catalog entry "a": channels must be a non-empty array'],
    [{ a: { channels: ['sms'] } }, 'catalog entry "a": unknown channel "sms"'],
    [{ a: { channels: ['push', 'push'] } }, 'catalog entry "a": channels must not repeat'],
    [{ a: { channels: ['email'] } }, 'catalog entry "a": the email channel needs an email template'],
    [{ a: { channels: ['email'], email: { subject: '', text: 'x' } } }, 'catalog entry "a": email.subject must be a non-empty string'],
    [{ a: { channels: ['email'], email: { subject: 'x', text: 'x', html: 3 } } }, 'catalog entry "a": email.html must be a string'],
    [{ a: { channels: ['email'], email: { subject: 'x {{ oops', text: 'x' } } }, 'catalog entry "a": email.subject: malformed placeholder'],
    [{ a: { channels: ['push'], email } }, 'catalog entry "a": has an email template but no email channel'],
    [{ a: { channels: ['push'], maxAttempts: 0 } }, 'catalog entry "a": maxAttempts must be an integer from 1 to 50'],
    [{ ok: { channels: ['push'] }, b: { channels: ['push'], maxAttempts: 51 } }, 'catalog entry "b"'],
    [{ a: { channels: ['push'], maxAttempt: 3 } }, 'catalog entry "a": unknown keys maxAttempt (an entry has channels, email, maxAttempts, throttle, preferences, inbox)'],
    [{ a: { channels: ['push'], inbox: 'yes' } }, 'catalog entry "a": inbox must be true or false'],
    [{ a: { channels: ['push'], throttle: 5 } }, 'catalog entry "a": throttle must be an object { limit, windowSeconds }'],
    [{ a: { channels: ['push'], throttle: { limit: 5, window: 60 } } }, 'catalog entry "a": throttle has unknown keys window'],
    [{ a: { channels: ['push'], throttle: { limit: 0, windowSeconds: 60 } } }, 'catalog entry "a": throttle.limit must be an integer from 1 to 100'],
    [{ a: { channels: ['push'], throttle: { limit: 101, windowSeconds: 60 } } }, 'throttle.limit must be an integer from 1 to 100'],
    [{ a: { channels: ['push'], throttle: { limit: 1, windowSeconds: 59 } } }, 'catalog entry "a": throttle.windowSeconds must be an integer from 60 to 2592000'],
    [{ a: { channels: ['push'], throttle: { limit: 1, windowSeconds: 90.5 } } }, 'throttle.windowSeconds must be an integer'],
    [{ a: { channels: ['email'], email: { ...email, htm: '<p>' } } }, 'catalog entry "a": email has unknown keys htm (a template has subject, text, html)'],
  ])('rejects %j: %s', (catalog, message) => {
    expect(() => validateCatalog(catalog)).toThrow(ConfigurationError);
    expect(() => validateCatalog(catalog)).toThrow(message);
  });
});
