import type { CatalogEntry } from '../catalog/catalogTypes.ts';
import { CHANNELS, type Channel } from '../types.ts';

/**
 * What a user chose to receive. Absent keys mean "no choice made": the catalog's default holds.
 *
 * - `channels[ch] = false` turns a channel off for every type the user may turn off (the "no
 *   email at all" switch); `true` (or absent) leaves each type to its own setting.
 * - `types[type][ch]` turns one type on or off on one channel.
 *
 * A type's `required` channels (catalog `preferences.required`) are delivered whatever the user chose.
 */
export interface UserPreferences {
  readonly channels?: Readonly<Partial<Record<Channel, boolean>>>;
  readonly types?: Readonly<Record<string, Readonly<Partial<Record<Channel, boolean>>>>>;
}

/** Why a route is not created for delivery. */
export const PREFERENCE_CANCEL_REASON = 'preference';

/**
 * Whether a user gets `type` on `channel`: always on a required channel; never on a channel the
 * user turned off; else the user's choice for the type, else the catalog's default (on unless the
 * type is opt-in, `preferences.default: "off"`).
 */
export function wantsRoute(entry: CatalogEntry, type: string, channel: Channel, preferences: UserPreferences | undefined): boolean {
  if (requiredChannels(entry).includes(channel)) return true;
  if (preferences?.channels?.[channel] === false) return false;
  const chosen = preferences?.types?.[type]?.[channel];
  if (chosen !== undefined) return chosen;
  return entry.preferences?.default !== 'off';
}

/** The channels of a type that a user cannot turn off. */
export function requiredChannels(entry: CatalogEntry): readonly Channel[] {
  const required = entry.preferences?.required;
  if (required === true) return entry.channels;
  return required ?? [];
}

/** Limits on a preferences document (it lives in the user's state item, read on every acceptance). */
export const PREFERENCE_LIMITS = { maxTypes: 200, maxBytes: 16_384 } as const;

export type PreferencesValidation = { readonly ok: true; readonly preferences: UserPreferences } | { readonly ok: false; readonly message: string };

/**
 * Checks a preferences document as a client sends it: only known channels, only catalog types and
 * channels those types have, booleans only. A required channel may not be turned off for its type
 * (the answer says which); turning a whole channel off is allowed and leaves required types on.
 * Without a catalog (the CLI, which has none), only the shape is checked: a choice for a type the
 * catalog lacks, or against a required channel, is then stored and has no effect.
 */
export function validatePreferences(input: unknown, catalog?: Readonly<Record<string, CatalogEntry>>): PreferencesValidation {
  const fail = (message: string): PreferencesValidation => ({ ok: false, message });
  if (!isObject(input)) return fail('preferences must be a JSON object { channels?, types? }');
  const extra = Object.keys(input).filter((key) => key !== 'channels' && key !== 'types');
  if (extra.length > 0) return fail(`unknown keys ${extra.map((k) => JSON.stringify(k)).join(', ')} (preferences have channels and types)`);
  const { channels, types } = input as { channels?: unknown; types?: unknown };
  if (channels !== undefined) {
    if (!isObject(channels)) return fail('channels must be an object of channel → true | false');
    for (const [channel, on] of Object.entries(channels)) {
      if (!CHANNELS.includes(channel as Channel)) return fail(`channels: unknown channel ${JSON.stringify(channel)} (expected ${CHANNELS.join(' | ')})`);
      if (typeof on !== 'boolean') return fail(`channels.${channel} must be true or false`);
    }
  }
  if (types !== undefined) {
    if (!isObject(types)) return fail('types must be an object of notification type → { channel: true | false }');
    const entries = Object.entries(types);
    if (entries.length > PREFERENCE_LIMITS.maxTypes) return fail(`types names ${entries.length} notification types; at most ${PREFERENCE_LIMITS.maxTypes}`);
    for (const [type, byChannel] of entries) {
      const entry = catalog === undefined ? undefined : Object.hasOwn(catalog, type) ? catalog[type] : undefined;
      if (catalog !== undefined && entry === undefined) return fail(`types: unknown notification type ${JSON.stringify(type)}`);
      if (!isObject(byChannel)) return fail(`types.${type} must be an object of channel → true | false`);
      for (const [channel, on] of Object.entries(byChannel)) {
        if (!CHANNELS.includes(channel as Channel)) return fail(`types.${type}: unknown channel ${JSON.stringify(channel)} (expected ${CHANNELS.join(' | ')})`);
        if (entry !== undefined && !entry.channels.includes(channel as Channel)) return fail(`types.${type}: ${JSON.stringify(channel)} is not a channel of this type (it has ${entry.channels.join(', ')})`);
        if (typeof on !== 'boolean') return fail(`types.${type}.${channel} must be true or false`);
        if (entry !== undefined && on === false && requiredChannels(entry).includes(channel as Channel)) return fail(`types.${type}.${channel} is required and cannot be turned off`);
      }
    }
  }
  if (Buffer.byteLength(JSON.stringify(input)) > PREFERENCE_LIMITS.maxBytes) return fail(`preferences are larger than ${PREFERENCE_LIMITS.maxBytes} bytes`);
  return { ok: true, preferences: input as UserPreferences };
}

/** `preferences` with one channel turned on or off for every type (required ones stay on). */
export function withChannel(preferences: UserPreferences | undefined, channel: Channel, on: boolean): UserPreferences {
  return { ...preferences, channels: { ...preferences?.channels, [channel]: on } };
}

/** `preferences` with one type's channel set (what a one-click unsubscribe does: that type's email off). */
export function withTypeChannel(preferences: UserPreferences | undefined, type: string, channel: Channel, on: boolean): UserPreferences {
  return { ...preferences, types: { ...preferences?.types, [type]: { ...preferences?.types?.[type], [channel]: on } } };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
