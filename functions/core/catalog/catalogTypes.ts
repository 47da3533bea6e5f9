import type { Channel } from '../types.ts';

/** An email template: `{{field}}` or `{{field.nested}}` placeholders read from the intent payload. */
export interface EmailTemplate {
  /** Subject line; values are inserted as plain text (line breaks removed). */
  readonly subject: string;
  /** Plain-text body; values are inserted as-is. */
  readonly text: string;
  /** Optional HTML body; every inserted value is HTML-escaped. */
  readonly html?: string;
}

/** What Herald does with one notification type. */
export interface CatalogEntry {
  /** Channels each recipient gets a route on. */
  readonly channels: readonly Channel[];
  /** Required when `channels` includes `email`. */
  readonly email?: EmailTemplate;
  /**
   * Attempts per route before it is dead-lettered.
   * @default the service's retry policy `maxAttempts`
   */
  readonly maxAttempts?: number;
  /**
   * At most `limit` notifications of this type per recipient in each fixed window of
   * `windowSeconds` (aligned to the Unix epoch, so an hour's window starts on the hour). Routes of a
   * notification beyond it are created `cancelled` with reason `throttled` and never attempted.
   * @default no throttle
   */
  readonly throttle?: RecipientThrottlePolicy;
  /**
   * What recipients may choose (docs/preferences.md): `required` channels (or `true`: all) are
   * delivered whatever a user chose; `default: "off"` makes the type opt-in (delivered only to users
   * who turned it on).
   * @default every channel on, each one the user can turn off
   */
  readonly preferences?: TypePreferencePolicy;
  /**
   * Also keep each notification of this type in its recipients' in-app inbox (docs/inbox.md): an
   * item per recipient, kept for the inbox retention, with read state synced to every device of
   * the user. Needs push (the inbox's API and live sync use its tokens and streams).
   * @default false
   */
  readonly inbox?: boolean;
}

/** A type's preference policy. */
export interface TypePreferencePolicy {
  readonly required?: true | readonly Channel[];
  /** @default "on" */
  readonly default?: 'on' | 'off';
}

/** A per-type recipient throttle (docs/limits.md). */
export interface RecipientThrottlePolicy {
  /** 1–100 notifications. */
  readonly limit: number;
  /** 60 s – 30 days, whole seconds. */
  readonly windowSeconds: number;
}

/** Notification type → entry. */
export type Catalog = Readonly<Record<string, CatalogEntry>>;
