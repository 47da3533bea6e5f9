import { RefreshingValue } from '../../core/auth/RefreshingValue.ts';
import type { UnsubscribeLink } from '../../core/deliver/EmailDispatcher.ts';
import { UnsubscribeTokens } from '../../core/preferences/unsubscribeTokens.ts';
import { systemClock } from '../../core/types.ts';
import { readSecretVersions } from '../../adapters/readSecret.ts';
import { logger } from './observability.ts';

/** How long the unsubscribe key is kept before it is read again. */
const KEY_TTL_MS = 5 * 60_000;

/** The unsubscribe tokens of the stack's key (UNSUBSCRIBE_SECRET_ARN), read lazily and kept a few minutes; undefined without one. */
export function unsubscribeTokensFromEnv(): (() => Promise<UnsubscribeTokens>) | undefined {
  const secretArn = process.env['UNSUBSCRIBE_SECRET_ARN'];
  if (!secretArn) return undefined;
  const key = new RefreshingValue(async () => new UnsubscribeTokens((await readSecretVersions(secretArn)).current), KEY_TTL_MS, systemClock, (error) =>
    logger.warn('reading the unsubscribe secret failed; signing with the key read before', { error: error as Error }),
  );
  return () => key.get();
}

/** Each email's one-click unsubscribe link: UNSUBSCRIBE_URL with a token signed by the stack's key; undefined when the stack has no app API. */
export function unsubscribeLinkFromEnv(): UnsubscribeLink | undefined {
  const url = process.env['UNSUBSCRIBE_URL'];
  const tokens = unsubscribeTokensFromEnv();
  if (!url || tokens === undefined) return undefined;
  return async (userId, notificationType) => {
    const token = await (await tokens()).sign({ userId, notificationType, channel: 'email' }, Date.now());
    return `${url}?token=${token}`;
  };
}
