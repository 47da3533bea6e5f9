import { TransientError } from '../errors.ts';
import type { StreamEvent, StreamHead } from '../push/pushTypes.ts';
import {
  applyInboxAction,
  countsDelta,
  countsSince,
  INBOX_MARK_BATCH,
  keptSince,
  NEW_ITEM_STATUS,
  deletableAt,
  withDelta,
  type CountsByDay,
  type InboxAction,
  type InboxCounts,
  type InboxItemStatus,
} from './inbox.ts';

/** One notification in one user's inbox. */
export interface InboxItem extends InboxItemStatus {
  readonly user_id: string;
  /** `<created_at>-<notification_id>`: orders the list, names the item in the API. */
  readonly item_id: string;
  readonly notification_id: string;
  readonly notification_type: string;
  readonly payload: Record<string, unknown>;
  readonly created_at: number;
  /** When storage may delete it (epoch ms): a day after it left the inbox (inbox.ts deletableAt). */
  readonly expires_at_ms: number;
}

/** The user's counts as stored (per creation day of the items), with the version every change is conditional on. */
export interface StoredCounts {
  readonly byDay: CountsByDay;
  readonly version: number;
}

/** `inbox`: not archived (the default view); `unread`: not archived, not read; `archived`; `all`. */
export type InboxFilter = 'inbox' | 'unread' | 'archived' | 'all';

export interface InboxPage {
  readonly items: readonly InboxItem[];
  /** Opaque; undefined on the last page. */
  readonly next?: string;
}

/** What changed in one transaction: the stream event that tells every device of the user. */
/**
 * `version` numbers the user's inbox changes (1, 2, …, one per transaction): a client that loaded
 * the list at version v ignores events at or below it, so nothing older overwrites what it read.
 */
export type InboxEventPayload =
  | { readonly op: 'added'; readonly item: PublicInboxItem; readonly counts: InboxCounts; readonly version: number }
  | { readonly op: 'changed'; readonly items: readonly ({ readonly item_id: string } & InboxItemStatus)[]; readonly counts: InboxCounts; readonly version: number };

/** An item as clients see it. */
export type PublicInboxItem = Omit<InboxItem, 'user_id' | 'expires_at_ms'>;

/**
 * Storage of inboxes. Every change is one transaction of: the items' writes (each conditional on
 * the status read), the counts (conditional on the version read) and the change's event at the
 * user's next stream position (conditional on the position being free). Any condition failing
 * cancels it all: `conflict`, and the caller reads again.
 */
export interface InboxStore {
  counts(userId: string): Promise<StoredCounts>;
  /** Strongly consistent; missing ids are left out. */
  getItems(userId: string, itemIds: readonly string[]): Promise<InboxItem[]>;
  /** Which of these users have the item `itemId` (strongly consistent). */
  usersWithItem(userIds: readonly string[], itemId: string): Promise<Set<string>>;
  /** Newest first, created at or after `since` (epoch ms). `before`: only items created at or before it. */
  list(userId: string, options: { filter: InboxFilter; since: number; type?: string; limit: number; cursor?: string; before?: number; wouldChange?: InboxAction }): Promise<InboxPage>;
  /** The stream's epoch and last position (strongly consistent; begins the stream if need be). */
  head(userId: string, now: number): Promise<StreamHead>;
  /** `exists`: the item is there already (an earlier attempt added it, with its event). */
  /** `counts`: as read (its version is the condition); `after`: the counts to write. */
  add(item: InboxItem, counts: StoredCounts, after: CountsByDay, event: StreamEvent): Promise<'added' | 'exists' | 'conflict'>;
  change(userId: string, changes: readonly { readonly item: InboxItem; readonly to: InboxItemStatus }[], counts: StoredCounts, after: CountsByDay, event: StreamEvent): Promise<'changed' | 'conflict'>;
  /** Deletes the user's inbox (items and counts); answers how many items were deleted. */
  purge(userId: string): Promise<number>;
}

/** Sends a stored event to the user's live connections (best effort: the stream has it for replay). */
export type LiveEventSender = (event: StreamEvent) => Promise<void>;

export interface InboxServiceConfig {
  /** Whole days an item is kept (inbox.ts keptSince). */
  readonly retentionDays: number;
  /** How long an inbox event stays replayable: the push freshness window. */
  readonly freshnessMs: number;
  /** Transactions tried before giving up on a busy inbox. @default 12 */
  readonly maxAttempts?: number;
}

/** The kind of the stream events inbox changes travel as. */
export const INBOX_EVENT_KIND = 'inbox';

/** A mark request's answer. */
export interface MarkResult {
  readonly changed: number;
  readonly counts: InboxCounts;
  /** The inbox's version after this request (its change's, when it made one). */
  readonly version: number;
  /** Mark-all: more items may remain; call again with the `before` of this answer. */
  readonly more?: boolean;
  readonly before?: number;
}

export class InboxBusyError extends TransientError {
  public constructor(userId: string, attempts: number) {
    super(`the inbox of ${userId} kept changing: ${attempts} attempts conflicted`);
    this.name = 'InboxBusyError';
  }
}

/**
 * The inbox: adding a notification to a user's inbox, listing, counting and marking items. Each
 * change and its event are one transaction, so every device that follows the stream sees the
 * changes in one order and ends with the same counts; a device that was away replays them.
 */
export class InboxService {
  public constructor(
    private readonly config: InboxServiceConfig,
    private readonly deps: { readonly store: InboxStore; readonly live?: LiveEventSender; readonly random?: () => number },
  ) {}

  /** Adds the notification to the user's inbox, once (idempotent: a retry finds it there). */
  public async add(input: { userId: string; notificationId: string; notificationType: string; payload: Record<string, unknown>; createdAt: number }, now: number): Promise<'added' | 'exists'> {
    const item: InboxItem = {
      user_id: input.userId,
      item_id: inboxItemId(input.createdAt, input.notificationId),
      notification_id: input.notificationId,
      notification_type: input.notificationType,
      payload: input.payload,
      created_at: input.createdAt,
      ...NEW_ITEM_STATUS,
      expires_at_ms: deletableAt(input.createdAt, this.config.retentionDays),
    };
    const since = keptSince(now, this.config.retentionDays);
    return this.retrying(input.userId, async () => {
      const [counts, head] = await Promise.all([this.deps.store.counts(input.userId), this.deps.store.head(input.userId, now)]);
      const after = withDelta(counts.byDay, item.created_at, countsDelta(undefined, NEW_ITEM_STATUS), since);
      const event = this.event(input.userId, head, `inbox/${item.item_id}/added`, { op: 'added', item: publicItem(item), counts: countsSince(after, since), version: counts.version + 1 }, now);
      const outcome = await this.deps.store.add(item, counts, after, event);
      if (outcome === 'added') await this.deps.live?.(event);
      return outcome === 'conflict' ? undefined : outcome;
    });
  }

  /** Which of these users already have the item `itemId` (a resumed acceptance adds only the rest). */
  public usersWithItem(userIds: readonly string[], itemId: string): Promise<Set<string>> {
    return this.deps.store.usersWithItem(userIds, itemId);
  }

  /** The counts of the items still kept at `now`, and the inbox's version (its last change). */
  public async counts(userId: string, now: number): Promise<InboxCounts & { readonly version: number }> {
    const stored = await this.deps.store.counts(userId);
    return { ...countsSince(stored.byDay, keptSince(now, this.config.retentionDays)), version: stored.version };
  }

  public list(userId: string, options: { filter: InboxFilter; type?: string; limit: number; cursor?: string }, now: number): Promise<InboxPage> {
    return this.deps.store.list(userId, { ...options, since: keptSince(now, this.config.retentionDays) });
  }

  /** Deletes the user's inbox (user.deleted); answers the items deleted. */
  public purge(userId: string): Promise<number> {
    return this.deps.store.purge(userId);
  }

  /** Applies `action` to these items (at most INBOX_MARK_BATCH); unknown ids and no-ops are skipped. */
  public async mark(userId: string, itemIds: readonly string[], action: InboxAction, now: number): Promise<MarkResult> {
    const ids = [...new Set(itemIds)];
    return this.retrying(userId, async () => {
      const [items, counts, head] = await Promise.all([this.deps.store.getItems(userId, ids), this.deps.store.counts(userId), this.deps.store.head(userId, now)]);
      // An item past retention is gone from the inbox, whether or not storage has deleted it yet.
      const since = keptSince(now, this.config.retentionDays);
      return this.applyTo(userId, items.filter((item) => item.created_at >= since), action, counts, head, now);
    });
  }

  /**
   * Applies `action` to the items it would change, created at or before `before`, one batch of at
   * most INBOX_MARK_BATCH per call (one transaction, one event): `more` says to call again with
   * the answer's `before` (where this call stopped). Items arriving meanwhile are newer than the
   * first call's `before` and left as they are.
   */
  public async markAll(userId: string, action: InboxAction, before: number, now: number): Promise<MarkResult> {
    return this.retrying(userId, async () => {
      const [page, counts, head] = await Promise.all([
        this.deps.store.list(userId, { filter: action === 'unarchive' ? 'archived' : 'inbox', since: keptSince(now, this.config.retentionDays), limit: INBOX_MARK_BATCH, before, wouldChange: action }),
        this.deps.store.counts(userId),
        this.deps.store.head(userId, now),
      ]);
      const result = await this.applyTo(userId, page.items, action, counts, head, now);
      // The next call starts at the oldest item of this page (inclusive: one created in the same
      // millisecond and not on this page is still taken; this page's are changed and filtered out),
      // so mark-all reads the inbox once, not again from the top at every call.
      return result && { ...result, more: page.next !== undefined, before: page.items.at(-1)?.created_at ?? before };
    });
  }

  private async applyTo(userId: string, items: readonly InboxItem[], action: InboxAction, counts: StoredCounts, head: StreamHead, now: number): Promise<MarkResult | undefined> {
    const changes = items
      .map((item) => ({ item, to: applyInboxAction(item, action) }))
      .filter(({ item, to }) => to.state !== item.state || to.archived !== item.archived)
      .slice(0, INBOX_MARK_BATCH);
    const since = keptSince(now, this.config.retentionDays);
    if (changes.length === 0) return { changed: 0, counts: countsSince(counts.byDay, since), version: counts.version };
    const after = changes.reduce((byDay, { item, to }) => withDelta(byDay, item.created_at, countsDelta(item, to), since), counts.byDay);
    const visible = countsSince(after, since);
    const event = this.event(userId, head, `inbox/changed/${counts.version + 1}`, {
      op: 'changed',
      items: changes.map(({ item, to }) => ({ item_id: item.item_id, state: to.state, archived: to.archived })),
      counts: visible,
      version: counts.version + 1,
    }, now);
    if ((await this.deps.store.change(userId, changes, counts, after, event)) === 'conflict') return undefined;
    await this.deps.live?.(event);
    return { changed: changes.length, counts: visible, version: counts.version + 1 };
  }

  private event(userId: string, head: StreamHead, eventId: string, payload: InboxEventPayload, now: number): StreamEvent {
    return {
      user_id: userId,
      epoch: head.epoch,
      position: head.position + 1,
      event_id: eventId,
      notification_id: payload.op === 'added' ? payload.item.notification_id : '',
      kind: INBOX_EVENT_KIND,
      payload: payload as unknown as Record<string, unknown>,
      published_at: now,
      expires_at_ms: now + this.config.freshnessMs,
    };
  }

  /** Runs `attempt` until it answers (undefined: a conflict), with jittered backoff between tries. */
  private async retrying<T>(userId: string, attempt: () => Promise<T | undefined>): Promise<T> {
    const attempts = this.config.maxAttempts ?? 12;
    const random = this.deps.random ?? Math.random;
    for (let i = 1; i <= attempts; i += 1) {
      const answer = await attempt();
      if (answer !== undefined) return answer;
      if (i >= 2) await new Promise((resolve) => setTimeout(resolve, Math.min(200, 5 * 2 ** i) * random()));
    }
    throw new InboxBusyError(userId, attempts);
  }
}

/** `<created_at>-<notification_id>`: newest-first order by creation time, unique per user. */
export function inboxItemId(createdAt: number, notificationId: string): string {
  return `${createdAt}-${notificationId}`;
}

/** The creation time and notification an item id names; undefined when it is not one. */
export function parseInboxItemId(itemId: string): { createdAt: number; notificationId: string } | undefined {
  const match = /^(\d{1,15})-(n_[0-9a-f]{32})$/.exec(itemId);
  return match ? { createdAt: Number(match[1]), notificationId: match[2]! } : undefined;
}

export function publicItem({ user_id: _user, expires_at_ms: _expires, ...item }: InboxItem): PublicInboxItem {
  return item;
}

