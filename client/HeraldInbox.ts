import type { HeraldEvent, ResyncInfo } from './types.ts';

/** An inbox item as the app API and the `inbox` events carry it (docs/inbox.md). */
export interface InboxItem {
  readonly item_id: string;
  readonly notification_id: string;
  readonly notification_type: string;
  readonly payload: Record<string, unknown>;
  readonly created_at: number;
  readonly state: 'unseen' | 'seen' | 'read';
  readonly archived: boolean;
}

export interface InboxCounts {
  readonly unseen: number;
  readonly unread: number;
}

export type InboxAction = 'seen' | 'read' | 'unread' | 'archive' | 'unarchive';

/** What the helper shows: the items of the first page (newest first, not archived) and the counts. */
export interface InboxView {
  readonly items: readonly InboxItem[];
  readonly counts: InboxCounts;
  /** The last server change reflected (the inbox's version); 0 before the first load. */
  readonly version: number;
  /** Marks sent and not yet answered: the view already shows them (optimistic). */
  readonly pending: number;
}

/** The part of HeraldClient the helper listens to. */
export interface InboxEventSource {
  on(type: 'event', listener: (event: HeraldEvent) => void): () => void;
  on(type: 'resync', listener: (info: ResyncInfo) => void): () => void;
}

export interface HeraldInboxOptions {
  /** The connected client: `inbox` events keep the view current. */
  readonly client: InboxEventSource;
  /** The app API's base URL (the stack output HeraldHttpApiUrl). */
  readonly apiUrl: string;
  /** The same access token the WebSocket takes (a function: called for each request). */
  readonly token: () => string | Promise<string>;
  /** Items loaded. @default 50 */
  readonly pageSize?: number;
  readonly fetch?: typeof fetch;
}

type Listener = (view: InboxView) => void;

/**
 * An in-app inbox kept current: the list and the counts, loaded from the app API and then moved by
 * the `inbox` events of the user's stream (every device's changes, in order). Marks are applied at
 * once (optimistic) and reconciled with the server's answer; a failed mark is rolled back by
 * reloading. Events at or below the version a load read are already in it and are ignored, so a
 * late event never takes the view back. On `resync` (history gone), the view reloads.
 *
 * @example
 * const inbox = new HeraldInbox({ client, apiUrl, token: () => getToken() });
 * inbox.subscribe((view) => renderBell(view.counts.unread, view.items));
 * await inbox.load();
 * await inbox.mark([item.item_id], 'read');
 */
export class HeraldInbox {
  private items: InboxItem[] = [];
  private counts: InboxCounts = { unseen: 0, unread: 0 };
  private version = 0;
  private pending = 0;
  private readonly listeners = new Set<Listener>();
  private readonly unsubscribe: (() => void)[] = [];

  public constructor(private readonly options: HeraldInboxOptions) {
    this.unsubscribe.push(
      options.client.on('event', (event) => this.apply(event)),
      options.client.on('resync', () => void this.load().catch(() => undefined)),
    );
  }

  public get view(): InboxView {
    return { items: this.items, counts: this.counts, version: this.version, pending: this.pending };
  }

  /** Calls `listener` now and on every change; answers a function that stops it. */
  public subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    listener(this.view);
    return () => this.listeners.delete(listener);
  }

  /** Reads the first page and the counts from the API (again). */
  public async load(): Promise<void> {
    const answer = (await this.request('GET', `/v1/inbox?limit=${this.options.pageSize ?? 50}`)) as { items: InboxItem[]; counts: InboxCounts; version: number };
    // A newer state may have arrived by event while the request ran: keep whichever is newer.
    if (answer.version < this.version) return;
    this.items = answer.items;
    this.counts = answer.counts;
    this.version = answer.version;
    this.changed();
  }

  /** Marks items (at most 50): shown at once, then as the server answers. */
  public async mark(itemIds: readonly string[], action: InboxAction): Promise<void> {
    const ids = new Set(itemIds);
    this.pending += 1;
    // The loaded items the action changes move the counts; the server's answer settles the rest.
    let { unseen, unread } = this.counts;
    this.items = this.items.map((item) => {
      if (!ids.has(item.item_id)) return item;
      const after = applyAction(item, action);
      unseen += contribution(after).unseen - contribution(item).unseen;
      unread += contribution(after).unread - contribution(item).unread;
      return after;
    }).filter((item) => !item.archived);
    this.counts = { unseen: Math.max(0, unseen), unread: Math.max(0, unread) };
    this.changed();
    try {
      const answer = (await this.request('POST', '/v1/inbox/mark', { action, item_ids: [...ids] })) as { counts: InboxCounts; version: number };
      this.settle(answer);
    } catch (error) {
      this.pending -= 1;
      await this.load().catch(() => undefined);
      throw error;
    }
  }

  /** Marks every item (`read` by default) until the server says none is left. */
  public async markAll(action: InboxAction = 'read'): Promise<void> {
    this.pending += 1;
    this.items = this.items.map((item) => applyAction(item, action)).filter((item) => !item.archived);
    this.counts = action === 'read' || action === 'archive' ? { unseen: 0, unread: 0 } : action === 'seen' ? { ...this.counts, unseen: 0 } : this.counts;
    this.changed();
    try {
      let before: number | undefined;
      let answer: { counts: InboxCounts; version: number; more?: boolean; before?: number };
      do {
        answer = (await this.request('POST', '/v1/inbox/mark-all', { action, ...(before !== undefined ? { before } : {}) })) as typeof answer;
        before = answer.before;
      } while (answer.more);
      this.settle(answer);
    } catch (error) {
      this.pending -= 1;
      await this.load().catch(() => undefined);
      throw error;
    }
  }

  /** Stops listening to the client. */
  public close(): void {
    for (const stop of this.unsubscribe.splice(0)) stop();
    this.listeners.clear();
  }

  private apply(event: HeraldEvent): void {
    if (event.kind !== 'inbox' || event.payload === undefined) return;
    const payload = event.payload as
      | { op: 'added'; item: InboxItem; counts: InboxCounts; version: number }
      | { op: 'changed'; items: { item_id: string; state: InboxItem['state']; archived: boolean }[]; counts: InboxCounts; version: number };
    // Already in what the last load or answer showed.
    if (payload.version <= this.version) return;
    if (payload.op === 'added') {
      if (!this.items.some((item) => item.item_id === payload.item.item_id)) {
        this.items = [payload.item, ...this.items].sort((a, b) => b.created_at - a.created_at).slice(0, this.options.pageSize ?? 50);
      }
    } else {
      const byId = new Map(payload.items.map((change) => [change.item_id, change]));
      this.items = this.items.map((item) => {
        const change = byId.get(item.item_id);
        return change ? { ...item, state: change.state, archived: change.archived } : item;
      }).filter((item) => !item.archived);
    }
    this.counts = payload.counts;
    this.version = payload.version;
    this.changed();
  }

  /** The server's answer to a mark: its counts are the truth at its version. */
  private settle(answer: { counts: InboxCounts; version: number }): void {
    this.pending -= 1;
    if (answer.version >= this.version) {
      this.counts = answer.counts;
      this.version = answer.version;
    }
    this.changed();
  }

  private changed(): void {
    const view = this.view;
    for (const listener of this.listeners) listener(view);
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const doFetch = this.options.fetch ?? fetch;
    const response = await doFetch(`${this.options.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${await this.options.token()}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    const parsed = text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>);
    if (!response.ok) throw new Error(`inbox ${method} ${path}: ${response.status} ${String(parsed?.['error'] ?? '')}: ${String(parsed?.['message'] ?? '')}`);
    return parsed;
  }
}

/** The item after `action`, by the server's rules (docs/inbox.md): seen and read only move forward. */
function applyAction(item: InboxItem, action: InboxAction): InboxItem {
  switch (action) {
    case 'seen':
      return item.state === 'unseen' ? { ...item, state: 'seen' } : item;
    case 'read':
      return { ...item, state: 'read' };
    case 'unread':
      return item.state === 'read' ? { ...item, state: 'seen' } : item;
    case 'archive':
      return { ...item, archived: true };
    case 'unarchive':
      return { ...item, archived: false };
  }
}

/** What an item adds to the counts (docs/inbox.md): only items not archived; unseen; not yet read. */
function contribution(item: InboxItem): InboxCounts {
  if (item.archived) return { unseen: 0, unread: 0 };
  return { unseen: item.state === 'unseen' ? 1 : 0, unread: item.state === 'read' ? 0 : 1 };
}
