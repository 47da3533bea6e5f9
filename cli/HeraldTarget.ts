import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { existsSync, readFileSync } from 'node:fs';
import { DynamoNotificationStore } from '../functions/adapters/DynamoNotificationStore.ts';
import { DynamoRejectionStore } from '../functions/adapters/DynamoRejectionStore.ts';
import { DynamoUserStates } from '../functions/adapters/DynamoUserStates.ts';
import { DynamoSuppressionList } from '../functions/adapters/DynamoSuppressionList.ts';
import { DynamoEventBuffer } from '../functions/adapters/DynamoEventBuffer.ts';
import { DynamoInboxStore } from '../functions/adapters/DynamoInboxStore.ts';
import { DEFAULT_INBOX_RETENTION_DAYS } from '../functions/core/inbox/inbox.ts';
import { InboxService } from '../functions/core/inbox/InboxService.ts';
import type { OfflineEndpoints } from '../local/OfflineStack.ts';
import { CliError, EXIT } from './output.ts';

/** Where the CLI works: the offline stack (default) or a deployed stack. */
export interface HeraldTarget {
  readonly kind: 'local' | 'aws';
  readonly outputs: Record<string, string>;
  readonly sqs: SQSClient;
  readonly events: EventBridgeClient;
  readonly ses: SESv2Client;
  readonly secrets: SecretsManagerClient;
  readonly store: DynamoNotificationStore;
  readonly rejections: DynamoRejectionStore;
  /** Users' lifecycle state and notification preferences. */
  readonly users: DynamoUserStates;
  /** Addresses no email is sent to (hard bounces, complaints, operators). */
  readonly suppressions: DynamoSuppressionList;
  /** Users' in-app inboxes (read only here: nothing is posted to connections); a stack with push. */
  readonly inbox?: InboxService;
  readonly websocketUrl?: string;
  /** Local only: the HS256 key of the offline stack. */
  readonly localTokenSecret?: string;
}

const RETENTION_MS = 30 * 86_400_000;

export async function resolveTarget(options: { endpoints?: string; stack?: string; region?: string; profile?: string }): Promise<HeraldTarget> {
  if (options.stack) {
    if (options.profile) process.env['AWS_PROFILE'] = options.profile;
    const config = options.region ? { region: options.region } : {};
    const cfn = new CloudFormationClient(config);
    const { Stacks = [] } = await cfn.send(new DescribeStacksCommand({ StackName: options.stack })).catch((error: Error) => {
      throw new CliError(`cannot read stack ${options.stack}: ${error.message}`, EXIT.unavailable);
    });
    const outputs = Object.fromEntries((Stacks[0]?.Outputs ?? []).map((o) => [String(o.OutputKey).replace(/[0-9A-F]{8}$/, ''), String(o.OutputValue)]));
    const documents = DynamoDBDocumentClient.from(new DynamoDBClient(config), { marshallOptions: { removeUndefinedValues: true } });
    return {
      kind: 'aws',
      outputs,
      sqs: new SQSClient(config),
      events: new EventBridgeClient(config),
      ses: new SESv2Client(config),
      secrets: new SecretsManagerClient(config),
      store: new DynamoNotificationStore(documents, { tableName: outputs['HeraldTableName']!, retentionMs: RETENTION_MS, ...streamsTable(outputs) }),
      rejections: new DynamoRejectionStore(documents, { tableName: outputs['HeraldTableName']!, retentionMs: RETENTION_MS }),
      users: new DynamoUserStates(documents, outputs['HeraldTableName']!),
      suppressions: new DynamoSuppressionList(documents, outputs['HeraldTableName']!),
      ...inboxOf(documents, outputs),
      ...(outputs['HeraldWebSocketUrl'] ? { websocketUrl: outputs['HeraldWebSocketUrl'] } : {}),
    };
  }
  const file = options.endpoints ?? '.local/endpoints.json';
  if (!existsSync(file)) {
    throw new CliError(`no offline stack found (${file} is missing): run \`npm start\`, or pass --stack <name> for a deployed stack`, EXIT.unavailable);
  }
  const endpoints = JSON.parse(readFileSync(file, 'utf8')) as OfflineEndpoints;
  const config = { region: endpoints.region, credentials: endpoints.credentials };
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ ...config, endpoint: endpoints.dynamodb }), { marshallOptions: { removeUndefinedValues: true } });
  const tableName = endpoints.outputs['HeraldTableName']!;
  const tokenSecret = Object.entries(endpoints.secrets ?? {}).find(([id]) => id.includes('TokenSecret'))?.[1];
  return {
    kind: 'local',
    outputs: endpoints.outputs,
    sqs: new SQSClient({ ...config, endpoint: endpoints.sqs }),
    events: new EventBridgeClient({ ...config, endpoint: endpoints.events }),
    ses: new SESv2Client({ ...config, endpoint: endpoints.ses }),
    secrets: new SecretsManagerClient({ ...config, endpoint: endpoints.events }),
    store: new DynamoNotificationStore(documents, { tableName, retentionMs: RETENTION_MS, ...streamsTable(endpoints.outputs) }),
    rejections: new DynamoRejectionStore(documents, { tableName, retentionMs: RETENTION_MS }),
    users: new DynamoUserStates(documents, tableName),
    suppressions: new DynamoSuppressionList(documents, tableName),
    ...inboxOf(documents, endpoints.outputs),
    ...(endpoints.websocket ? { websocketUrl: endpoints.websocket } : {}),
    ...(tokenSecret ? { localTokenSecret: tokenSecret } : {}),
  };
}

/** The inbox of a stack with push (its retention from the stack's output). */
function inboxOf(documents: DynamoDBDocumentClient, outputs: Record<string, string>): { inbox?: InboxService } {
  const tableName = outputs['HeraldTableName'];
  const streamsTable = outputs['HeraldStreamsTableName'];
  if (!tableName || !streamsTable) return {};
  const buffer = new DynamoEventBuffer(documents, { streamsTable, notificationsTable: tableName });
  const retentionDays = Number(outputs['HeraldInboxRetentionDays'] ?? DEFAULT_INBOX_RETENTION_DAYS);
  return { inbox: new InboxService({ retentionDays, freshnessMs: 86_400_000 }, { store: new DynamoInboxStore(documents, { tableName, streamsTable, buffer }) }) };
}

/** The event buffer, where a route pushed at acceptance shows it was published (a stack with push). */
function streamsTable(outputs: Record<string, string>): { streamsTable?: string } {
  const table = outputs['HeraldStreamsTableName'];
  return table ? { streamsTable: table } : {};
}
