import type { Catalog } from '../catalog/catalogTypes.ts';

/**
 * The in-app inbox's rules (docs/inbox.md), free of storage: an item's read state, what a change
 * does to it, and how the user's counts move with it.
 *
 * An item is `unseen` when it arrives, `seen` once the user's bell showed it, `read` once opened;
 * independently it may be `archived` (out of the default list). Counts are over items not
 * archived: `unseen` counts those still unseen, `unread` those not yet read.
 */
export const INBOX_STATES = ['unseen', 'seen', 'read'] as const;
export type InboxState = (typeof INBOX_STATES)[number];

/** What a client can ask of an item. Marking read also marks it seen; seen never undoes read. */
export const INBOX_ACTIONS = ['seen', 'read', 'unread', 'archive', 'unarchive'] as const;
export type InboxAction = (typeof INBOX_ACTIONS)[number];

/** An item's mutable part. */
export interface InboxItemStatus {
  readonly state: InboxState;
  readonly archived: boolean;
}

export interface InboxCounts {
  readonly unseen: number;
  readonly unread: number;
}

const STATE_ORDER: Readonly<Record<InboxState, number>> = { unseen: 0, seen: 1, read: 2 };

/** The item's status after `action`; the same object when the action changes nothing. */
export function applyInboxAction(status: InboxItemStatus, action: InboxAction): InboxItemStatus {
  switch (action) {
    case 'seen':
    case 'read':
      // Forward only: a late "seen" from a second device must not take a read item back.
      return STATE_ORDER[action] > STATE_ORDER[status.state] ? { ...status, state: action } : status;
    case 'unread':
      // Back to unread, but still seen: the user has seen it in the list.
      return status.state === 'read' ? { ...status, state: 'seen' } : status;
    case 'archive':
      return status.archived ? status : { ...status, archived: true };
    case 'unarchive':
      return status.archived ? { ...status, archived: false } : status;
  }
}

/** What one item contributes to its user's counts. */
export function countsOf(status: InboxItemStatus): InboxCounts {
  if (status.archived) return { unseen: 0, unread: 0 };
  return { unseen: status.state === 'unseen' ? 1 : 0, unread: status.state === 'read' ? 0 : 1 };
}

/** How the user's counts move when an item goes from `before` to `after` (`before` undefined: a new item). */
export function countsDelta(before: InboxItemStatus | undefined, after: InboxItemStatus | undefined): InboxCounts {
  const was = before === undefined ? { unseen: 0, unread: 0 } : countsOf(before);
  const is = after === undefined ? { unseen: 0, unread: 0 } : countsOf(after);
  return { unseen: is.unseen - was.unseen, unread: is.unread - was.unread };
}

export const NEW_ITEM_STATUS: InboxItemStatus = { state: 'unseen', archived: false };

const DAY_MS = 86_400_000;

/** The UTC day (`yyyy-mm-dd`) of an epoch-ms time. */
export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * Start of the oldest UTC day whose items are still kept at `now` (epoch ms): an item lives while
 * its creation day is at most `retentionDays` days back. Counting, listing and marking all use this
 * one boundary, and the counts are kept per creation day (CountsByDay), so an item leaving the
 * window leaves the counts at the same moment — with no write: expiry keeps counts exact.
 */
export function keptSince(now: number, retentionDays: number): number {
  return Date.parse(`${dayOf(now - retentionDays * DAY_MS)}T00:00:00.000Z`);
}

/** When storage may delete an item (its TTL): a day after it left the window. */
export function deletableAt(createdAt: number, retentionDays: number): number {
  return Date.parse(`${dayOf(createdAt)}T00:00:00.000Z`) + (retentionDays + 2) * DAY_MS;
}

/** A user's counts per creation day of the items (`yyyy-mm-dd` → counts). */
export type CountsByDay = Readonly<Record<string, InboxCounts>>;

/** The counts of the days still kept at `since` (keptSince). */
export function countsSince(byDay: CountsByDay, since: number): InboxCounts {
  const first = dayOf(since);
  let unseen = 0;
  let unread = 0;
  for (const [day, counts] of Object.entries(byDay)) {
    if (day < first) continue;
    unseen += counts.unseen;
    unread += counts.unread;
  }
  return { unseen, unread };
}

/** `byDay` with `delta` added to the day of `createdAt`, without the days older than `since` (and empty days). */
export function withDelta(byDay: CountsByDay, createdAt: number, delta: InboxCounts, since: number): CountsByDay {
  const first = dayOf(since);
  const day = dayOf(createdAt);
  const next: Record<string, InboxCounts> = {};
  for (const [d, counts] of Object.entries(byDay)) if (d >= first) next[d] = counts;
  // An item older than the window counts for nothing, whatever happens to it.
  if (day >= first) {
    const current = next[day] ?? { unseen: 0, unread: 0 };
    next[day] = { unseen: current.unseen + delta.unseen, unread: current.unread + delta.unread };
  }
  for (const [d, counts] of Object.entries(next)) if (counts.unseen === 0 && counts.unread === 0) delete next[d];
  return next;
}

/** Items one mark request or one page of mark-all changes at most (one DynamoDB transaction: these, the counts and the event). */
export const INBOX_MARK_BATCH = 50;
/** Items per list page at most. */
export const INBOX_PAGE_MAX = 100;
export const DEFAULT_INBOX_RETENTION_DAYS = 90;

/** Whether any catalog type is kept in the inbox (then acceptance adds items, and the app API and lifecycle serve them). */
export function hasInboxTypes(catalog: Catalog): boolean {
  return Object.values(catalog).some((entry) => entry.inbox === true);
}
