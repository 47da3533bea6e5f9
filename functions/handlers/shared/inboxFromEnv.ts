import { documentClient } from '../../adapters/awsClients.ts';
import { DynamoInboxStore } from '../../adapters/DynamoInboxStore.ts';
import { DEFAULT_INBOX_RETENTION_DAYS } from '../../core/inbox/inbox.ts';
import { InboxService } from '../../core/inbox/InboxService.ts';
import { postToLiveConnections } from '../../core/push/postEvent.ts';
import { numberEnv, requireEnv } from './config.ts';
import { traced } from './observability.ts';
import { connectionRegistryFromEnv, connectionSenderFromEnv, eventBufferFromEnv } from './pushFromEnv.ts';

/**
 * The in-app inbox (docs/inbox.md): items and counts in the notifications table, each change's
 * event in the user's stream, posted to their live connections. Needs the push variables.
 */
export function inboxServiceFromEnv(notificationsTable: string): InboxService {
  const buffer = eventBufferFromEnv(notificationsTable);
  const live = { registry: connectionRegistryFromEnv(), sender: connectionSenderFromEnv() };
  return new InboxService(
    { retentionDays: numberEnv('INBOX_RETENTION_DAYS', DEFAULT_INBOX_RETENTION_DAYS), freshnessMs: numberEnv('FRESHNESS_SECONDS', 86_400) * 1000 },
    {
      store: new DynamoInboxStore(traced(documentClient()), { tableName: notificationsTable, streamsTable: requireEnv('STREAMS_TABLE'), buffer }),
      // Best effort: the event is in the stream, and a device that missed it replays it.
      live: async (event) => {
        await postToLiveConnections(live, event, Date.now());
      },
    },
  );
}
