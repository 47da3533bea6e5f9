import type { AccessIdentity } from '../auth/AccessTokenVerifier.ts';
import { authenticateBearer, error, type ApiResponse } from '../preferences/PreferencesApi.ts';
import type { Clock } from '../types.ts';
import { INBOX_ACTIONS, INBOX_MARK_BATCH, INBOX_PAGE_MAX, type InboxAction } from './inbox.ts';
import { InboxBusyError, publicItem, type InboxFilter, type InboxService } from './InboxService.ts';

/** One request to the inbox resources, as the HTTP API hands it over. */
export interface InboxRequest {
  readonly method: string;
  /** `/v1/inbox`, `/v1/inbox/counts`, `/v1/inbox/mark` or `/v1/inbox/mark-all`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly authorization?: string;
  readonly contentType?: string;
  readonly body?: string;
}

const FILTERS: readonly InboxFilter[] = ['inbox', 'unread', 'archived', 'all'];
const DEFAULT_PAGE = 20;
/** Mark requests are small JSON documents: ids of at most INBOX_MARK_BATCH items. */
const MAX_BODY_BYTES = 16 * 1024;

/**
 * The signed-in user's inbox over HTTP (docs/openapi.yaml): list (newest first, cursor paging,
 * filters), counts, mark items seen/read/unread/archived, mark all. The user is the token's `sub`:
 * a user only ever sees and changes their own items. Each change reaches every device of the user
 * as an `inbox` event in their stream (docs/inbox.md).
 */
export class InboxApi {
  public constructor(
    private readonly deps: {
      readonly verify: (token: string | undefined) => Promise<AccessIdentity>;
      readonly inbox: InboxService;
      readonly clock: Clock;
    },
  ) {}

  public async handle(request: InboxRequest): Promise<ApiResponse> {
    const identity = await authenticateBearer(this.deps.verify, request.authorization);
    if ('status' in identity) return identity;
    const userId = identity.userId;
    try {
      switch (request.path) {
        case '/v1/inbox':
          return request.method === 'GET' ? await this.list(userId, request.query ?? {}) : notAllowed(request.method, 'GET');
        case '/v1/inbox/counts':
          return request.method === 'GET' ? ok(countsAnswer(await this.deps.inbox.counts(userId, this.deps.clock.now()))) : notAllowed(request.method, 'GET');
        case '/v1/inbox/mark':
        case '/v1/inbox/mark-all':
          return request.method === 'POST' ? await this.mark(userId, request) : notAllowed(request.method, 'POST');
        default:
          return error(404, 'not_found', `no inbox resource at ${request.path}`);
      }
    } catch (failure) {
      if (failure instanceof InboxBusyError) return error(503, 'busy', 'the inbox is being changed from several places at once: try again in a moment', { 'retry-after': '1' });
      if ((failure as Error).name === 'InvalidInboxCursorError') return error(400, 'invalid_cursor', 'cursor is not one this API returned: start again without it');
      throw failure;
    }
  }

  private async list(userId: string, query: Readonly<Record<string, string | undefined>>): Promise<ApiResponse> {
    const filter = (query['filter'] ?? 'inbox') as InboxFilter;
    if (!FILTERS.includes(filter)) return error(400, 'invalid_request', `filter must be one of ${FILTERS.join(', ')}`);
    const limit = query['limit'] === undefined ? DEFAULT_PAGE : Number(query['limit']);
    if (!Number.isInteger(limit) || limit < 1 || limit > INBOX_PAGE_MAX) return error(400, 'invalid_request', `limit must be a whole number from 1 to ${INBOX_PAGE_MAX}`);
    const type = query['type'];
    if (type !== undefined && !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(type)) return error(400, 'invalid_request', 'type must be a notification type name');
    const now = this.deps.clock.now();
    const counts = await this.deps.inbox.counts(userId, now);
    const page = await this.deps.inbox.list(userId, { filter, limit, ...(type !== undefined ? { type } : {}), ...(query['cursor'] ? { cursor: query['cursor'] } : {}) }, now);
    // The version is read before the page: events above it may or may not be in the page, never below.
    return ok({ items: page.items.map(publicItem), ...(page.next !== undefined ? { next: page.next } : {}), ...countsAnswer(counts) });
  }

  private async mark(userId: string, request: InboxRequest): Promise<ApiResponse> {
    if (request.contentType !== undefined && !/^application\/(.+\+)?json\s*(;|$)/i.test(request.contentType)) {
      return error(415, 'unsupported_media_type', `send application/json, not ${request.contentType}`);
    }
    const text = request.body ?? '';
    if (Buffer.byteLength(text) > MAX_BODY_BYTES) return error(413, 'too_large', `a mark request is at most ${MAX_BODY_BYTES} bytes`);
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return error(400, 'invalid_request', 'the body must be a JSON object');
      body = parsed as Record<string, unknown>;
    } catch (failure) {
      return error(400, 'invalid_json', `the body is not JSON: ${(failure as Error).message}`);
    }
    const action = body['action'] as InboxAction;
    if (!INBOX_ACTIONS.includes(action)) return error(400, 'invalid_request', `action must be one of ${INBOX_ACTIONS.join(', ')}`);
    const now = this.deps.clock.now();
    if (request.path === '/v1/inbox/mark-all') {
      const before = body['before'] ?? now;
      if (!Number.isInteger(before) || (before as number) < 0) return error(400, 'invalid_request', 'before must be epoch milliseconds (the value a previous answer gave)');
      return ok(await this.deps.inbox.markAll(userId, action, before as number, now));
    }
    const ids = body['item_ids'];
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > INBOX_MARK_BATCH || !ids.every((id) => typeof id === 'string' && id.length <= 64)) {
      return error(400, 'invalid_request', `item_ids must be a list of 1 to ${INBOX_MARK_BATCH} item ids`);
    }
    return ok(await this.deps.inbox.mark(userId, ids as string[], action, now));
  }
}

const ok = (body: unknown): ApiResponse => ({ status: 200, headers: {}, body });

/** `{counts: {unseen, unread}, version}`: the version lets a client ignore events it already has. */
function countsAnswer({ version, ...counts }: { unseen: number; unread: number; version: number }): { counts: { unseen: number; unread: number }; version: number } {
  return { counts, version };
}

function notAllowed(method: string, allowed: string): ApiResponse {
  return error(405, 'method_not_allowed', `${method} is not allowed here: ${allowed}`, { allow: allowed });
}
