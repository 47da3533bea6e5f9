import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CatalogEntry } from '../../functions/core/catalog/catalogTypes.ts';
import { validateCatalog } from '../../functions/core/catalog/validateCatalog.ts';
import { requiredChannels, validatePreferences, wantsRoute, withTypeChannel, type UserPreferences } from '../../functions/core/preferences/preferences.ts';
import { CHANNELS, type Channel } from '../../functions/core/types.ts';

const template = { subject: 's', text: 't' };
const catalog: Record<string, CatalogEntry> = {
  'chat.message': { channels: ['push'] },
  'security.alert': { channels: ['push', 'email'], email: template, preferences: { required: ['email'] } },
  'password.reset': { channels: ['email'], email: template, preferences: { required: true } },
  digest: { channels: ['email'], email: template, preferences: { default: 'off' } },
};

describe('wantsRoute', () => {
  it.each([
    ['no choices: an opt-out type is delivered', 'chat.message', 'push', undefined, true],
    ['no choices: an opt-in type is not', 'digest', 'email', undefined, false],
    ['the type turned off on that channel', 'chat.message', 'push', { types: { 'chat.message': { push: false } } }, false],
    ['an opt-in type turned on', 'digest', 'email', { types: { digest: { email: true } } }, true],
    ['the whole channel off', 'chat.message', 'push', { channels: { push: false } }, false],
    ['the whole channel off beats the type turned on', 'digest', 'email', { channels: { email: false }, types: { digest: { email: true } } }, false],
    ['a required channel with the whole channel off', 'security.alert', 'email', { channels: { email: false } }, true],
    ['the other channel of a type with a required one', 'security.alert', 'push', { channels: { push: false } }, false],
    ['a type required on every channel', 'password.reset', 'email', { channels: { email: false } }, true],
  ] as const)('%s', (_name, type, channel, preferences, expected) => {
    expect(wantsRoute(catalog[type]!, type, channel as Channel, preferences as UserPreferences | undefined)).toBe(expected);
  });

  const choices = fc.record(
    {
      channels: fc.dictionary(fc.constantFrom(...CHANNELS), fc.boolean()),
      types: fc.dictionary(fc.constantFrom(...Object.keys(catalog)), fc.dictionary(fc.constantFrom(...CHANNELS), fc.boolean())),
    },
    { requiredKeys: [] },
  );

  it('delivers a required channel whatever the user chose, and nothing on a channel the user turned off otherwise (property)', () => {
    fc.assert(
      fc.property(choices, fc.constantFrom(...Object.keys(catalog)), (preferences, type) => {
        const entry = catalog[type]!;
        for (const channel of entry.channels) {
          const wanted = wantsRoute(entry, type, channel, preferences);
          if (requiredChannels(entry).includes(channel)) expect(wanted).toBe(true);
          else if (preferences.channels?.[channel] === false) expect(wanted).toBe(false);
          else if (preferences.types?.[type]?.[channel] !== undefined) expect(wanted).toBe(preferences.types[type]![channel]);
          else expect(wanted).toBe(entry.preferences?.default !== 'off');
        }
      }),
    );
  });

  it('a one-click unsubscribe (the type off on email) stops that type by email and nothing else (property)', () => {
    fc.assert(
      fc.property(choices, (preferences) => {
        const after = withTypeChannel(preferences, 'digest', 'email', false);
        expect(wantsRoute(catalog['digest']!, 'digest', 'email', after)).toBe(false);
        for (const [type, entry] of Object.entries(catalog)) {
          if (type === 'digest') continue;
          for (const channel of entry.channels) expect(wantsRoute(entry, type, channel, after)).toBe(wantsRoute(entry, type, channel, preferences));
        }
      }),
    );
  });
});

describe('validatePreferences', () => {
  it('accepts channel and type choices the catalog has', () => {
    const input = { channels: { email: false }, types: { 'chat.message': { push: false }, digest: { email: true } } };
    expect(validatePreferences(input, catalog)).toEqual({ ok: true, preferences: input });
    expect(validatePreferences({}, catalog)).toEqual({ ok: true, preferences: {} });
  });

  it.each([
    ['not an object', [], 'must be a JSON object'],
    ['an unknown key', { channel: {} }, 'unknown keys "channel"'],
    ['an unknown channel', { channels: { sms: false } }, 'unknown channel "sms"'],
    ['a non-boolean', { channels: { push: 'no' } }, 'channels.push must be true or false'],
    ['an unknown type', { types: { 'nope.nope': { push: false } } }, 'unknown notification type "nope.nope"'],
    ['a `__proto__` type', JSON.parse('{"types":{"__proto__":{"push":false}}}'), 'unknown notification type "__proto__"'],
    ['a channel the type does not have', { types: { 'chat.message': { email: false } } }, '"email" is not a channel of this type'],
    ['a required channel turned off', { types: { 'security.alert': { email: false } } }, 'types.security.alert.email is required'],
  ])('refuses %s with a specific message', (_name, input, message) => {
    const result = validatePreferences(input, catalog);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toContain(message);
  });
});

describe('catalog preferences', () => {
  it('accepts required channels of the type and an on/off default', () => {
    expect(() => validateCatalog(catalog)).not.toThrow();
  });

  it.each([
    [{ channels: ['push'], preferences: { required: ['email'] } }, 'not a channel of this type'],
    [{ channels: ['push'], preferences: { required: [] } }, 'non-empty array'],
    [{ channels: ['push'], preferences: { default: 'maybe' } }, 'must be "on" or "off"'],
    [{ channels: ['push'], preferences: { required: true, default: 'off' } }, 'no effect'],
    [{ channels: ['push'], preferences: { requried: ['push'] } }, 'unknown keys requried'],
    [{ channels: ['email'], preferences: { required: true }, email: { subject: 's', text: 'stop: {{unsubscribe_url}}' } }, 'its emails have no unsubscribe link'],
  ])('refuses %o', (entry, message) => {
    expect(() => validateCatalog({ t: entry })).toThrow(message);
  });
});
