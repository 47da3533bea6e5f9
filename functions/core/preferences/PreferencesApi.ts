import { InvalidTokenError, type AccessIdentity } from '../auth/AccessTokenVerifier.ts';
import type { Catalog } from '../catalog/catalogTypes.ts';
import type { Clock } from '../types.ts';
import { PREFERENCE_LIMITS, validatePreferences, type UserPreferences } from './preferences.ts';

/** Where a user's preferences are kept (DynamoUserStates). */
export interface PreferenceStore {
  getPreferences(userId: string): Promise<{ preferences: UserPreferences; updatedAt?: number; deleted: boolean }>;
  putPreferences(userId: string, preferences: UserPreferences, now: number, expectedUpdatedAt?: number): Promise<'stored' | 'deleted' | 'changed'>;
}

/** What {@link changePreferences} did. */
export type PreferenceChange =
  | { readonly outcome: 'stored'; readonly preferences: UserPreferences; readonly updatedAt: number }
  | { readonly outcome: 'unchanged'; readonly preferences: UserPreferences }
  | { readonly outcome: 'deleted' }
  | { readonly outcome: 'contended' };

/**
 * Read, change, write conditional on the version read, and again if another change came in
 * between (at most 5 rounds): two read-modify-write changes (the CLI, the app, an unsubscribe
 * link) never lose one another. `change` answers the new document, or undefined when there is
 * nothing to change; it may throw to refuse (it sees the current document).
 */
export async function changePreferences(
  store: PreferenceStore,
  userId: string,
  change: (current: UserPreferences) => UserPreferences | undefined,
  clock: Clock,
): Promise<PreferenceChange> {
  for (let round = 1; round <= 5; round += 1) {
    const current = await store.getPreferences(userId);
    if (current.deleted) return { outcome: 'deleted' };
    const next = change(current.preferences);
    if (next === undefined) return { outcome: 'unchanged', preferences: current.preferences };
    const now = clock.now();
    const outcome = await store.putPreferences(userId, next, now, current.updatedAt ?? 0);
    if (outcome === 'deleted') return { outcome: 'deleted' };
    if (outcome === 'stored') return { outcome: 'stored', preferences: next, updatedAt: now };
  }
  return { outcome: 'contended' };
}

/** One request to the preferences resource, as the HTTP API hands it over. */
export interface PreferencesRequest {
  readonly method: string;
  readonly authorization?: string;
  readonly ifMatch?: string;
  readonly contentType?: string;
  readonly body?: string;
}

/** The answer: status, headers and a JSON body. */
export interface ApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

/** Every error the API answers with: `{"error": <code>, "message": <what to do>}` (docs/openapi.yaml). */
export const API_ERROR_CODES = [
  'unauthorized', 'invalid_json', 'invalid_preferences', 'unsupported_media_type', 'too_large', 'user_deleted', 'precondition_failed', 'method_not_allowed',
  'invalid_request', 'invalid_cursor', 'busy', 'not_found',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/**
 * `GET` / `PUT /v1/preferences`: the signed-in user's notification preferences. The user is the
 * token's `sub`, never a parameter, so a user only ever sees and changes their own. `GET` answers
 * an `ETag` (the time of the last change, `"0"` before any); `PUT` replaces the document, and with
 * `If-Match` only if it is still that version (412 otherwise): a client that read, changed and
 * writes back cannot overwrite a change made meanwhile on another device.
 */
export class PreferencesApi {
  public constructor(
    private readonly catalog: Catalog,
    private readonly deps: {
      readonly verify: (token: string | undefined) => Promise<AccessIdentity>;
      readonly store: PreferenceStore;
      readonly clock: Clock;
    },
  ) {}

  public async handle(request: PreferencesRequest): Promise<ApiResponse> {
    const identity = await authenticateBearer(this.deps.verify, request.authorization);
    if ('status' in identity) return identity;
    if (request.method === 'GET') return this.get(identity.userId);
    if (request.method === 'PUT') return this.put(identity.userId, request);
    return error(405, 'method_not_allowed', `${request.method} is not allowed here: GET or PUT`, { allow: 'GET, PUT' });
  }

  private async get(userId: string): Promise<ApiResponse> {
    const stored = await this.deps.store.getPreferences(userId);
    if (stored.deleted) return deleted(userId);
    return { status: 200, headers: { etag: etagOf(stored.updatedAt) }, body: { user_id: userId, preferences: stored.preferences, ...(stored.updatedAt !== undefined ? { updated_at: stored.updatedAt } : {}) } };
  }

  private async put(userId: string, request: PreferencesRequest): Promise<ApiResponse> {
    if (request.contentType !== undefined && !/^application\/(.+\+)?json\s*(;|$)/i.test(request.contentType)) {
      return error(415, 'unsupported_media_type', `send the preferences as application/json, not ${request.contentType}`);
    }
    const text = request.body ?? '';
    if (Buffer.byteLength(text) > PREFERENCE_LIMITS.maxBytes) return error(413, 'too_large', `preferences are at most ${PREFERENCE_LIMITS.maxBytes} bytes`);
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (failure) {
      return error(400, 'invalid_json', `the body is not JSON: ${(failure as Error).message}`);
    }
    const checked = validatePreferences(document, this.catalog);
    if (!checked.ok) return error(400, 'invalid_preferences', checked.message);
    let expected: number | undefined;
    if (request.ifMatch !== undefined && request.ifMatch.trim() !== '*') {
      expected = versionOf(request.ifMatch);
      if (expected === undefined) return error(412, 'precondition_failed', `If-Match ${request.ifMatch} is not an ETag this API gave (GET the preferences for one)`);
    }
    const now = this.deps.clock.now();
    const outcome = await this.deps.store.putPreferences(userId, checked.preferences, now, expected);
    if (outcome === 'deleted') return deleted(userId);
    if (outcome === 'changed') return error(412, 'precondition_failed', 'the preferences changed since that version was read: GET them again, apply the change, and PUT with the new ETag');
    return { status: 200, headers: { etag: etagOf(now) }, body: { user_id: userId, preferences: checked.preferences, updated_at: now } };
  }
}

const etagOf = (updatedAt: number | undefined) => `"${updatedAt ?? 0}"`;

/** The version an ETag names (a weak one too: the version is the same). */
function versionOf(etag: string): number | undefined {
  const match = etag.trim().match(/^(?:W\/)?"(\d{1,16})"$/);
  return match ? Number(match[1]) : undefined;
}

function deleted(userId: string): ApiResponse {
  return error(403, 'user_deleted', `user ${userId} was deleted (user.deleted): Herald keeps no preferences for them`);
}

/**
 * The user an `Authorization: Bearer <token>` header names (the WebSocket's access token), or the
 * 401 answer: the user is always the token's `sub`, never a parameter.
 */
export async function authenticateBearer(verify: (token: string | undefined) => Promise<AccessIdentity>, authorization: string | undefined): Promise<AccessIdentity | ApiResponse> {
  const token = authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  const challenge = { 'www-authenticate': 'Bearer error="invalid_token"' };
  if (token === undefined) {
    return error(401, 'unauthorized', 'send the access token (the one the WebSocket takes) as "Authorization: Bearer <token>"', { 'www-authenticate': 'Bearer' });
  }
  try {
    return await verify(token);
  } catch (failure) {
    if (failure instanceof InvalidTokenError) return error(401, 'unauthorized', `the access token was refused: ${failure.message}`, challenge);
    throw failure;
  }
}

export function error(status: number, code: ApiErrorCode, message: string, headers: Record<string, string> = {}): ApiResponse {
  return { status, headers, body: { error: code, message } };
}
