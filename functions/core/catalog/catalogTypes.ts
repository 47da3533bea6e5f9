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
}

/** Notification type → entry. */
export type Catalog = Readonly<Record<string, CatalogEntry>>;
