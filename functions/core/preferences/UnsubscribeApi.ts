import type { Catalog } from '../catalog/catalogTypes.ts';
import type { Clock } from '../types.ts';
import { changePreferences, type ApiResponse, type PreferenceStore } from './PreferencesApi.ts';
import { requiredChannels, withTypeChannel } from './preferences.ts';
import { InvalidUnsubscribeTokenError, type UnsubscribeTokens } from './unsubscribeTokens.ts';

/** What the link's page or the one-click POST answers; `outcome` is for the logs and metrics. */
export interface UnsubscribeResponse extends ApiResponse {
  readonly outcome: 'page' | 'unsubscribed' | 'refused' | 'required' | 'deleted';
}

/**
 * One-click unsubscribe (RFC 8058), at the URL every unsubscribable email names in
 * `List-Unsubscribe` (and templates may put in the body as `{{unsubscribe_url}}`):
 *
 * - `POST` turns the token's type off by email for the token's user, with no sign-in: what a mail
 *   client sends for `List-Unsubscribe-Post: List-Unsubscribe=One-Click`, and what the page's
 *   button sends. Done again, it changes nothing more.
 * - `GET` only shows a page with that button: link scanners and prefetchers follow links, and
 *   must not unsubscribe anyone.
 *
 * A forged, altered or expired token gets a page saying so, and nothing changes.
 */
export class UnsubscribeApi {
  public constructor(
    private readonly catalog: Catalog,
    private readonly deps: { readonly tokens: () => Promise<UnsubscribeTokens>; readonly store: PreferenceStore; readonly clock: Clock },
  ) {}

  public async handle(request: { readonly method: string; readonly token?: string }): Promise<UnsubscribeResponse> {
    if (request.method !== 'GET' && request.method !== 'POST') return page(405, 'refused', 'Not allowed', 'Open the link, or send a POST.', { allow: 'GET, POST' });
    const tokens = await this.deps.tokens();
    let claims;
    try {
      claims = await tokens.verify(request.token, this.deps.clock.now());
    } catch (error) {
      if (!(error instanceof InvalidUnsubscribeTokenError)) throw error;
      const why = error.reason === 'expired' ? 'This unsubscribe link has expired.' : 'This unsubscribe link is not valid: it was altered or cut short.';
      return page(400, 'refused', 'Link not valid', `${why} Nothing was changed. Use the link in a more recent email, or change your notification settings in the app.`);
    }
    const entry = Object.hasOwn(this.catalog, claims.notificationType) ? this.catalog[claims.notificationType] : undefined;
    const label = escapeHtml(claims.notificationType);
    if (entry !== undefined && requiredChannels(entry).includes('email')) {
      return page(409, 'required', 'Cannot unsubscribe', `“${label}” emails are required (security and account messages) and cannot be turned off. Nothing was changed.`);
    }
    if (request.method === 'GET') {
      return page(200, 'page', 'Unsubscribe', `Stop “${label}” emails?`, {}, true);
    }
    const changed = await changePreferences(this.deps.store, claims.userId, (current) =>
      current.types?.[claims.notificationType]?.email === false ? undefined : withTypeChannel(current, claims.notificationType, 'email', false), this.deps.clock);
    if (changed.outcome === 'deleted') return page(410, 'deleted', 'Nothing to unsubscribe', 'This account no longer exists; Herald sends it nothing.');
    if (changed.outcome === 'contended') throw new Error(`the preferences of ${claims.userId} kept changing while unsubscribing`);
    return page(200, 'unsubscribed', 'Unsubscribed', `You will no longer get “${label}” emails. You can turn them on again in the app's notification settings.`);
  }
}

function page(status: number, outcome: UnsubscribeResponse['outcome'], title: string, message: string, headers: Record<string, string> = {}, withButton = false): UnsubscribeResponse {
  const button = withButton ? '<form method="post"><button type="submit">Unsubscribe</button></form>' : '';
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>${title}</title></head>` +
    `<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 4rem auto; padding: 0 1rem"><h1>${title}</h1><p>${message}</p>${button}</body></html>`;
  return { status, outcome, headers: { 'content-type': 'text/html; charset=utf-8', ...headers }, body };
}

const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
