import { ConfigurationError } from '../errors.ts';
import { CHANNELS, type Channel } from '../types.ts';
import { templateFields, UNSUBSCRIBE_URL_TEMPLATE_FIELD } from '../email/renderTemplate.ts';
import { requiredChannels } from '../preferences/preferences.ts';
import type { Catalog, CatalogEntry } from './catalogTypes.ts';

const TYPE_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
/** SQS redrive needs maxReceiveCount above every route's attempts; 1,000 is SQS's ceiling. */
export const MAX_ATTEMPTS_CEILING = 50;
// A misspelt key ("maxAttempt", "htm") would otherwise be ignored without a word.
const ENTRY_KEYS = ['channels', 'email', 'maxAttempts', 'throttle', 'preferences', 'inbox'];
const PREFERENCE_KEYS = ['required', 'default'];
const THROTTLE_KEYS = ['limit', 'windowSeconds'];
/** The admitted notifications of a window are kept in one item: 100 ids keep it near 2 KB. */
export const THROTTLE_LIMIT_CEILING = 100;
export const THROTTLE_WINDOW_SECONDS = { min: 60, max: 30 * 86_400 } as const;
const TEMPLATE_KEYS = ['subject', 'text', 'html'];
const unknownKeys = (value: object, known: readonly string[]) => Object.keys(value).filter((key) => !known.includes(key));

/**
 * Checks a catalog and throws a {@link ConfigurationError} naming the first bad entry.
 * Runs at synth time (the construct); the handlers get the catalog it accepted, compiled into their bundles.
 */
export function validateCatalog(catalog: unknown): Catalog {
  if (typeof catalog !== 'object' || catalog === null || Array.isArray(catalog)) {
    throw new ConfigurationError('catalog must be an object of notification type → entry');
  }
  const entries = Object.entries(catalog as Record<string, unknown>);
  if (entries.length === 0) throw new ConfigurationError('catalog must define at least one notification type');
  for (const [type, raw] of entries) {
    const where = `catalog entry "${type}"`;
    if (!TYPE_PATTERN.test(type) || type.length > 64) {
      throw new ConfigurationError(`${where}: type names are 1-64 chars of a-z, 0-9, ".", "_", "-" and start with a letter or digit`);
    }
    if (typeof raw !== 'object' || raw === null) throw new ConfigurationError(`${where}: must be an object`);
    const entry = raw as Record<string, unknown>;
    const extra = unknownKeys(entry, ENTRY_KEYS);
    if (extra.length > 0) throw new ConfigurationError(`${where}: unknown keys ${extra.join(', ')} (an entry has ${ENTRY_KEYS.join(', ')})`);
    const channels = entry['channels'];
    if (!Array.isArray(channels) || channels.length === 0) {
      throw new ConfigurationError(`${where}: channels must be a non-empty array of ${CHANNELS.join(' | ')}`);
    }
    for (const channel of channels) {
      if (!CHANNELS.includes(channel as Channel)) {
        throw new ConfigurationError(`${where}: unknown channel "${String(channel)}" (expected ${CHANNELS.join(' | ')})`);
      }
    }
    if (new Set(channels).size !== channels.length) throw new ConfigurationError(`${where}: channels must not repeat`);
    const email = entry['email'];
    if (channels.includes('email')) {
      if (typeof email !== 'object' || email === null) {
        throw new ConfigurationError(`${where}: the email channel needs an email template { subject, text, html? }`);
      }
      const template = email as Record<string, unknown>;
      const extraFields = unknownKeys(template, TEMPLATE_KEYS);
      if (extraFields.length > 0) {
        throw new ConfigurationError(`${where}: email has unknown keys ${extraFields.join(', ')} (a template has ${TEMPLATE_KEYS.join(', ')})`);
      }
      for (const field of ['subject', 'text'] as const) {
        if (typeof template[field] !== 'string' || (template[field] as string).trim() === '') {
          throw new ConfigurationError(`${where}: email.${field} must be a non-empty string`);
        }
      }
      if (template['html'] !== undefined && typeof template['html'] !== 'string') {
        throw new ConfigurationError(`${where}: email.html must be a string when given`);
      }
      for (const field of ['subject', 'text', 'html'] as const) {
        if (typeof template[field] === 'string') {
          try {
            templateFields(template[field] as string);
          } catch (error) {
            throw new ConfigurationError(`${where}: email.${field}: ${(error as Error).message}`, { cause: error });
          }
        }
      }
    } else if (email !== undefined) {
      throw new ConfigurationError(`${where}: has an email template but no email channel`);
    }
    const maxAttempts = entry['maxAttempts'];
    if (
      maxAttempts !== undefined &&
      (typeof maxAttempts !== 'number' || !Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > MAX_ATTEMPTS_CEILING)
    ) {
      throw new ConfigurationError(`${where}: maxAttempts must be an integer from 1 to ${MAX_ATTEMPTS_CEILING}`);
    }
    if (entry['throttle'] !== undefined) validateThrottle(entry['throttle'], where);
    if (entry['inbox'] !== undefined && typeof entry['inbox'] !== 'boolean') throw new ConfigurationError(`${where}: inbox must be true or false`);
    if (entry['preferences'] !== undefined) validatePreferencePolicy(entry['preferences'], channels as Channel[], where);
    const template = entry['email'] as Record<string, string> | undefined;
    if (template !== undefined && requiredChannels(entry as unknown as CatalogEntry).includes('email')) {
      const usesLink = ['subject', 'text', 'html'].some((field) => typeof template[field] === 'string' && templateFields(template[field]).includes(UNSUBSCRIBE_URL_TEMPLATE_FIELD));
      if (usesLink) throw new ConfigurationError(`${where}: the email template uses {{${UNSUBSCRIBE_URL_TEMPLATE_FIELD}}}, but the type requires email, so its emails have no unsubscribe link`);
    }
  }
  return catalog as Catalog;
}

function validateThrottle(throttle: unknown, where: string): void {
  if (typeof throttle !== 'object' || throttle === null || Array.isArray(throttle)) {
    throw new ConfigurationError(`${where}: throttle must be an object { limit, windowSeconds }`);
  }
  const extra = unknownKeys(throttle, THROTTLE_KEYS);
  if (extra.length > 0) throw new ConfigurationError(`${where}: throttle has unknown keys ${extra.join(', ')} (a throttle has ${THROTTLE_KEYS.join(', ')})`);
  const { limit, windowSeconds } = throttle as Record<string, unknown>;
  const whole = (value: unknown, min: number, max: number) => typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
  if (!whole(limit, 1, THROTTLE_LIMIT_CEILING)) {
    throw new ConfigurationError(`${where}: throttle.limit must be an integer from 1 to ${THROTTLE_LIMIT_CEILING}`);
  }
  if (!whole(windowSeconds, THROTTLE_WINDOW_SECONDS.min, THROTTLE_WINDOW_SECONDS.max)) {
    throw new ConfigurationError(`${where}: throttle.windowSeconds must be an integer from ${THROTTLE_WINDOW_SECONDS.min} to ${THROTTLE_WINDOW_SECONDS.max} (30 days)`);
  }
}

function validatePreferencePolicy(policy: unknown, channels: readonly Channel[], where: string): void {
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) {
    throw new ConfigurationError(`${where}: preferences must be an object { required?, default? }`);
  }
  const extra = unknownKeys(policy, PREFERENCE_KEYS);
  if (extra.length > 0) throw new ConfigurationError(`${where}: preferences has unknown keys ${extra.join(', ')} (it has ${PREFERENCE_KEYS.join(', ')})`);
  const { required, default: fallback } = policy as Record<string, unknown>;
  if (required !== undefined && required !== true) {
    if (!Array.isArray(required) || required.length === 0) throw new ConfigurationError(`${where}: preferences.required must be true or a non-empty array of the type's channels`);
    for (const channel of required) {
      if (!channels.includes(channel as Channel)) throw new ConfigurationError(`${where}: preferences.required names "${String(channel)}", not a channel of this type (${channels.join(', ')})`);
    }
  }
  if (fallback !== undefined && fallback !== 'on' && fallback !== 'off') throw new ConfigurationError(`${where}: preferences.default must be "on" or "off"`);
  if (fallback === 'off' && (required === true || (Array.isArray(required) && required.length === channels.length))) {
    throw new ConfigurationError(`${where}: preferences.default "off" has no effect when every channel is required`);
  }
}
