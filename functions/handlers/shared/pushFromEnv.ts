import { ApiGatewayConnectionSender } from '../../adapters/ApiGatewayConnectionSender.ts';
import { documentClient } from '../../adapters/awsClients.ts';
import { DynamoConnectionRegistry } from '../../adapters/DynamoConnectionRegistry.ts';
import { DynamoEventBuffer } from '../../adapters/DynamoEventBuffer.ts';
import { requireEnv } from './config.ts';
import { traced } from './observability.ts';

// The push channel's adapters, from the environment the stack gives a function that pushes.

/** Whether this function was deployed with push: an email-only service (`push: false`) sets none of its variables. */
export function pushConfigured(): boolean {
  return Boolean(process.env['STREAMS_TABLE']);
}

/** Per-user event streams (STREAMS_TABLE). */
export function eventBufferFromEnv(notificationsTable: string): DynamoEventBuffer {
  return new DynamoEventBuffer(traced(documentClient()), { streamsTable: requireEnv('STREAMS_TABLE'), notificationsTable });
}

/** Live connections by user (CONNECTIONS_TABLE). */
export function connectionRegistryFromEnv(): DynamoConnectionRegistry {
  return new DynamoConnectionRegistry(traced(documentClient()), requireEnv('CONNECTIONS_TABLE'));
}

/** The `@connections` management API of the WebSocket stage (WEBSOCKET_CALLBACK_URL). */
export function connectionSenderFromEnv(): ApiGatewayConnectionSender {
  return new ApiGatewayConnectionSender(requireEnv('WEBSOCKET_CALLBACK_URL'));
}
