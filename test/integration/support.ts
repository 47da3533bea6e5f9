import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inject } from 'vitest';
import { ApiGatewayConnectionSender } from '../../functions/adapters/ApiGatewayConnectionSender.ts';
import { DynamoConnectionRegistry } from '../../functions/adapters/DynamoConnectionRegistry.ts';
import { DynamoEventBuffer } from '../../functions/adapters/DynamoEventBuffer.ts';
import { DynamoNotificationStore } from '../../functions/adapters/DynamoNotificationStore.ts';
import { DynamoRejectionStore } from '../../functions/adapters/DynamoRejectionStore.ts';
import { DynamoRecipientThrottle } from '../../functions/adapters/DynamoRecipientThrottle.ts';
import { notificationKey, routeKey } from '../../functions/adapters/dynamoKeys.ts';
import type { EventBuffer } from '../../functions/core/push/pushPorts.ts';
import { SessionInvalidator } from '../../functions/core/push/SessionInvalidator.ts';
import { deliveryMessageFor, type RouteAddress, type RouteRecord } from '../../functions/core/types.ts';
import type { StreamEvent } from '../../functions/core/push/pushTypes.ts';
import type { FaultRule, FaultService, FaultState } from '../../local/emulators/FaultProxy.ts';

export const endpoints = inject('endpoints');
const clientConfig = { region: endpoints.region, credentials: endpoints.credentials };

export const sqs = new SQSClient({ ...clientConfig, endpoint: endpoints.sqs });
export const events = new EventBridgeClient({ ...clientConfig, endpoint: endpoints.events });
export const ses = new SESv2Client({ ...clientConfig, endpoint: endpoints.ses });
export const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ ...clientConfig, endpoint: endpoints.dynamodb }), {
  marshallOptions: { removeUndefinedValues: true },
});

export const outputs = {
  intakeQueueUrl: endpoints.outputs['HeraldIntakeQueueUrl']!,
  intakeDlqUrl: endpoints.outputs['HeraldIntakeDeadLetterQueueUrl']!,
  routeQueueUrl: endpoints.outputs['HeraldRouteQueueUrl']!,
  routeDlqUrl: endpoints.outputs['HeraldRouteDeadLetterQueueUrl']!,
  busDlqUrl: endpoints.outputs['HeraldBusDeadLetterQueueUrl']!,
  busName: endpoints.outputs['HeraldEventBusName']!,
  tableName: endpoints.outputs['HeraldTableName']!,
  streamsTableName: endpoints.outputs['HeraldStreamsTableName']!,
  connectionsTableName: endpoints.outputs['HeraldConnectionsTableName']!,
};

export const retentionMs = 30 * 86_400_000;
export const store = new DynamoNotificationStore(documents, { tableName: outputs.tableName, retentionMs, streamsTable: outputs.streamsTableName });
export const rejections = new DynamoRejectionStore(documents, { tableName: outputs.tableName, retentionMs });
/** The push event buffer as the handlers configure it (one per test file: its appends keep recent heads). */
export const eventBuffer = new DynamoEventBuffer(documents, { streamsTable: outputs.streamsTableName, notificationsTable: outputs.tableName });
export const recipientThrottle = new DynamoRecipientThrottle(documents, outputs.tableName);
export const connectionRegistry = new DynamoConnectionRegistry(documents, outputs.connectionsTableName);
/** The `@connections` management API of the test stack's WebSocket gateway. */
export const connectionSender = new ApiGatewayConnectionSender(endpoints.websocketCallback, { region: endpoints.region, credentials: endpoints.credentials });
export const sessionInvalidator = new SessionInvalidator({ registry: connectionRegistry, sender: connectionSender });

/** Every stored item of a notification (its own and its routes'), raw, as the table holds them. */
export async function notificationItems(notificationId: string): Promise<Record<string, unknown>[]> {
  const { Items } = await documents.send(new QueryCommand({
    TableName: outputs.tableName,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': notificationKey(notificationId).pk },
    ConsistentRead: true,
  }));
  return Items ?? [];
}

/** Everything the offline stack and its functions have logged so far in this test run. */
export const offlineStackLog = (): string => readFileSync(inject('functionLog'), 'utf8');

/**
 * The lines of the functions' log (the offline stack captures their stdout) that mention `marker`,
 * parsed; `_function` is the function that wrote the line (on AWS: its log group).
 */
export function functionLogLines(marker: string): Record<string, unknown>[] {
  return offlineStackLog()
    .split('\n')
    .filter((line) => line.includes(marker))
    .map((line) => ({ ...(JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>), _function: /^\[([^\]]+)\]/.exec(line)?.[1] }));
}

/** A value unique to one test, so assertions on shared emulators never see another test's data. */
export const uid = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

export async function sendIntent(intent: unknown): Promise<string> {
  const body = typeof intent === 'string' ? intent : JSON.stringify(intent);
  const sent = await sqs.send(new SendMessageCommand({ QueueUrl: outputs.intakeQueueUrl, MessageBody: body }));
  return sent.MessageId!;
}

/** Polls `probe` until it returns something other than undefined/false, or fails with `what`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000, intervalMs = 150): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface CapturedEmail {
  readonly messageId: string;
  readonly from: string;
  readonly destination: { to: string[] };
  readonly subject: string;
  readonly body: { text?: string; html?: string };
  readonly at: number;
}

/**
 * fetch for idempotent requests (GET, DELETE) to the local emulators: retried once when the server
 * closed a kept-alive socket just as it was reused (undici's "other side closed", UND_ERR_SOCKET).
 */
async function fetchIdempotent(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    if ((error as { cause?: { code?: string } }).cause?.code !== 'UND_ERR_SOCKET') throw error;
    return fetch(url, init);
  }
}

/** Emails the SES emulator captured for `to`. */
export async function mailbox(to: string): Promise<CapturedEmail[]> {
  const response = await fetchIdempotent(`${endpoints.sesMailbox}/store`);
  const { emails } = (await response.json()) as { emails: CapturedEmail[] };
  return emails.filter((e) => e.destination.to.includes(to));
}

/** The services the offline stack puts a fault proxy in front of (admin `/faults/<service>`). */
type FaultedService = FaultService;

/** Makes the offline stack's proxy in front of an emulator fail matching requests (see FaultProxy). */
export async function addFault(service: FaultedService, rule: FaultRule): Promise<FaultState> {
  const response = await fetch(`${endpoints.admin}/faults/${service}`, { method: 'POST', body: JSON.stringify(rule) });
  if (response.status !== 201) throw new Error(`adding fault failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as FaultState;
}

export async function faults(service: FaultedService): Promise<FaultState[]> {
  return (await (await fetchIdempotent(`${endpoints.admin}/faults/${service}`)).json()) as FaultState[];
}

export async function clearFaults(service: FaultedService): Promise<void> {
  await fetchIdempotent(`${endpoints.admin}/faults/${service}`, { method: 'DELETE' });
}

/**
 * Does to a live connection what a network can (admin `/gateway/connections/<id>/<action>`, see
 * local/AdminServer.ts): `drop` closes it from the server side, `vanish` cuts it without
 * $disconnect, `stall` leaves it half-open. Answers the admin's response.
 */
export function actOnConnection(connectionId: string, action: 'drop' | 'vanish' | 'stall'): Promise<Response> {
  return fetch(`${endpoints.admin}/gateway/connections/${encodeURIComponent(connectionId)}/${action}`, { method: 'POST' });
}

/** Runs the sweeper now (schedules are manual in tests) and returns its result. */
export async function fireSweeper(): Promise<{ requeued: number; deadLettered: number; skipped: number }> {
  const response = await fetch(`${endpoints.admin}/schedules/fire`, { method: 'POST' });
  if (!response.ok) throw new Error(`firing schedules failed: ${response.status} ${await response.text()}`);
  const results = (await response.json()) as Record<string, { requeued: number; deadLettered: number; skipped: number }>;
  return Object.values(results)[0]!;
}

export async function approximateDepth(queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
}

/** A valid single-recipient intent for `type`, with fields overridable. */
export function intent(type: string, recipient: { user_id: string; email?: string }, payload: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    notification_type: type,
    producer: 'tests',
    idempotency_key: uid('key'),
    audience: { kind: 'user', ...recipient },
    payload,
    ...extra,
  };
}

/**
 * Writes a notification and its routes the way acceptance does, but enqueues nothing — the state
 * after a crash between writing routes and sending their messages. `at` backdates it.
 */
export async function seedNotification(options: {
  type: string;
  recipients: { user_id: string; email?: string }[];
  payload: Record<string, unknown>;
  channels: ('email' | 'push')[];
  maxAttempts: number;
  at?: number;
  /** Store the only route in the notification's item, as accept does for a small notification. */
  storedWithNotification?: boolean;
}) {
  const { buildRoutes } = await import('../../functions/core/accept/AcceptIntent.ts');
  const { contentHashOf, notificationIdFor } = await import('../../functions/core/route/identifiers.ts');
  const at = options.at ?? Date.now();
  const key = uid('seed');
  const id = notificationIdFor('tests', key);
  const audience = { kind: 'users' as const, recipients: options.recipients };
  const built = buildRoutes(id, options.recipients, options.channels, options.maxAttempts, at, 8);
  if (options.storedWithNotification && built.length !== 1) throw new Error('only a single route can be stored with its notification');
  const routes: RouteRecord[] = options.storedWithNotification ? [{ ...built[0]!, stored_with_notification: true }] : built;
  await store.beginAcceptance(
    {
      notification_id: id,
      notification_type: options.type,
      producer: 'tests',
      idempotency_key: key,
      audience_kind: 'users',
      payload: options.payload,
      content_hash: contentHashOf({ notification_type: options.type, audience, payload: options.payload }),
      accepted_at: at,
      route_count: options.recipients.length * options.channels.length,
      state: 'accepting',
    },
    'seed',
    at,
    options.storedWithNotification ? routes[0] : undefined,
  );
  if (!options.storedWithNotification) await store.putRoutes(routes);
  await store.completeAcceptance(id, 'seed', at);
  return { id, key, routes };
}

export async function sendDeliveryMessage(route: RouteAddress): Promise<void> {
  await sqs.send(new SendMessageCommand({ QueueUrl: outputs.routeQueueUrl, MessageBody: JSON.stringify(deliveryMessageFor(route)) }));
}

/** A push route as a lease leaves it, for driving the event buffer directly. */
export interface LeasedPushRoute {
  readonly notificationId: string;
  readonly routeId: string;
  readonly leaseToken: string;
}

/** Writes a push route of `userId` leased by `leaseToken`, with no stream position yet. */
export async function leasedPushRoute(userId: string, leaseToken = uid('lease')): Promise<LeasedPushRoute> {
  const route = { notificationId: uid('n'), routeId: `push:${userId}`, leaseToken };
  await documents.send(new PutCommand({
    TableName: outputs.tableName,
    Item: { ...routeKey(route.notificationId, route.routeId), notification_id: route.notificationId, route_id: route.routeId, status: 'pending', lease_token: leaseToken },
  }));
  return route;
}

/** Appends the route's event (payload `{ at: publishedAt }`, valid for an hour) as the push dispatcher would. */
export function appendRouteEvent(
  buffer: EventBuffer,
  route: LeasedPushRoute,
  userId: string,
  options: { existing?: { epoch: string; position: number }; publishedAt?: number } = {},
): Promise<StreamEvent> {
  const now = options.publishedAt ?? Date.now();
  return buffer.appendForRoute({
    route: { notification_id: route.notificationId, route_id: route.routeId },
    leaseToken: route.leaseToken,
    ...(options.existing ? { existing: options.existing } : {}),
    event: { user_id: userId, event_id: `${route.notificationId}/${route.routeId}`, notification_id: route.notificationId, kind: 'chat.message', payload: { at: now }, published_at: now, expires_at_ms: now + 3_600_000 },
  });
}
