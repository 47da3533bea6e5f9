import type { UserPreferences } from '../preferences/preferences.ts';
/** What Herald remembers about a user's lifecycle. */
export interface UserStateStore {
  /** Remembers the deletion until `until` (epoch ms) so new intents for the user are refused. */
  markDeleted(userId: string, occurredAtMs: number, until: number): Promise<void>;
  /** The `occurred_at_ms` of the newest applied event with this key, if any. */
  appliedAt(userId: string, eventKey: string): Promise<number | undefined>;
  /** Records an event as applied unless a newer one with the same key already was. */
  markApplied(userId: string, eventKey: string, occurredAtMs: number): Promise<void>;
  /** Which of these users are deleted (and still remembered) at `now`. */
  deletedAmong(userIds: readonly string[], now: number): Promise<Set<string>>;
  /** For each of these users: deleted (and still remembered) at `now`, and their notification preferences. One read for all. */
  recipientStates(userIds: readonly string[], now: number): Promise<Map<string, RecipientState>>;
}

/** What acceptance needs to know about a recipient. */
export interface RecipientState {
  readonly deleted: boolean;
  readonly preferences?: UserPreferences;
}
