import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { itemBytes } from '../functions/adapters/itemSize.ts';
import { DYNAMODB_ITEM_OVERHEAD_BYTES } from './prices.ts';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { attachRequestAccounting, type RequestLedger } from '../functions/adapters/requestAccounting.ts';
import { chunk } from '../functions/adapters/chunk.ts';
import { mapWithConcurrency } from '../functions/core/mapWithConcurrency.ts';
import { SQS_BATCH_SIZE } from '../functions/core/constants.ts';
import { mintAccessToken } from '../functions/core/auth/AccessTokenVerifier.ts';
import { OfflineStack, withPush, type OfflineEndpoints, type PushEndpoints } from '../local/OfflineStack.ts';
import { synthesize } from '../local/synth.ts';
import type { MeasuredRun } from './costModel.ts';
import { freeOfflinePorts } from '../local/freePort.ts';

export const BENCH_CONFIG = 'bench/herald.bench.json';
export const PUSH_TYPE = 'bench.push';
export const EMAIL_TYPE = 'bench.email';
/** A push type kept in the inbox (catalog `inbox`). */
export const INBOX_TYPE = 'bench.inbox';

/**
 * The offline stack as the benchmarks use it: request accounting on, no fault proxies in the
 * path, schedules only on demand, and a counter of routes the handlers logged as finished.
 */
export class BenchStack {
  public readonly documents: DynamoDBDocumentClient;
  /** The producer's client: its requests are counted too (sending an intent is a billed SQS request). */
  public readonly producer: SQSClient;
  public producerLedger: RequestLedger = {};
  /** Routes the functions logged as published (on their invocation summary lines), since the start. */
  public published = 0;
  public readonly tableName: string;
  public readonly streamsTable: string;
  public readonly intakeQueueUrl: string;
  private readonly tokenSecret: string;

  private constructor(
    public readonly stack: OfflineStack,
    public readonly endpoints: PushEndpoints,
  ) {
    const config = { region: endpoints.region, credentials: endpoints.credentials };
    this.documents = DynamoDBDocumentClient.from(new DynamoDBClient({ ...config, endpoint: endpoints.dynamodb }), { marshallOptions: { removeUndefinedValues: true } });
    this.producer = attachRequestAccounting(new SQSClient({ ...config, endpoint: endpoints.sqs }), 'sqs', () => this.producerLedger);
    this.tableName = endpoints.outputs['HeraldTableName']!;
    this.streamsTable = endpoints.outputs['HeraldStreamsTableName'] ?? findOutput(endpoints, 'Streams');
    this.intakeQueueUrl = endpoints.outputs['HeraldIntakeQueueUrl']!;
    this.tokenSecret = Object.entries(endpoints.secrets).find(([id]) => id.includes('TokenSecret'))![1];
  }

  public static async start(
    options: {
      synth?: boolean;
      logFile?: string;
      requestAccounting?: boolean;
      onEmulatorEnded?: (reason: string) => void;
      /** Another configuration file than bench/herald.bench.json, synthesized into its own assembly. */
      config?: { readonly path: string; readonly assemblyDir: string };
    } = {},
  ): Promise<BenchStack> {
    const assemblyDir = options.config?.assemblyDir ?? 'cdk.out.bench';
    if (options.synth ?? true) synthesize({ configPath: options.config?.path ?? BENCH_CONFIG, outdir: assemblyDir, quiet: true });
    const ports = await freeOfflinePorts();
    // One run's function log (a full run writes ≈ 12 MB; the offline stack appends).
    if (options.logFile !== undefined) {
      mkdirSync(dirname(options.logFile), { recursive: true });
      writeFileSync(options.logFile, '');
    }
    let bench: BenchStack | undefined;
    const stack = new OfflineStack({
      assemblyDir,
      ports,
      schedules: 'manual',
      logs: options.logFile ?? 'silent',
      requestAccounting: options.requestAccounting ?? true,
      faultProxies: false,
      ...(options.onEmulatorEnded ? { onEmulatorEnded: options.onEmulatorEnded } : {}),
      logTap: (line) => {
        if (bench && line.includes('"published":[')) bench.published += publishedOnSummaryLine(line);
      },
    });
    const endpoints = withPush(await stack.start());
    bench = new BenchStack(stack, endpoints);
    return bench;
  }

  public async stop(): Promise<void> {
    this.producer.destroy();
    this.documents.destroy();
    await this.stack.stop();
  }

  public token(userId: string, deviceSessionId: string): Promise<string> {
    return mintAccessToken(this.tokenSecret, { userId, deviceSessionId, ttlSeconds: 3600 });
  }

  public async sendIntent(intent: unknown): Promise<void> {
    await this.producer.send(new SendMessageCommand({ QueueUrl: this.intakeQueueUrl, MessageBody: JSON.stringify(intent) }));
  }

  /** Sends intents ten to a request, `parallel` requests at a time (the fastest a producer can load the queue). */
  public async sendIntentsBatched(intents: readonly unknown[], parallel = 8): Promise<void> {
    await mapWithConcurrency(chunk(intents, SQS_BATCH_SIZE), parallel, (batch) =>
      this.producer.send(
        new SendMessageBatchCommand({ QueueUrl: this.intakeQueueUrl, Entries: batch.map((intent, i) => ({ Id: String(i), MessageBody: JSON.stringify(intent) })) }),
      ),
    );
  }

  /** Zeroes every counter: function ledgers and usage, the event sources' and the producer's ledgers. */
  public async resetMeasurements(): Promise<void> {
    await this.stack.resetMeasurements();
    this.producerLedger = {};
  }

  /**
   * What was counted since the last reset, for `routes` delivered routes; with `stored`, also what
   * those notifications left in the tables (read after the counters, so not counted).
   */
  public async measure(routes: number, stored?: { readonly notificationIds: readonly string[]; readonly users: readonly string[] }): Promise<MeasuredRun> {
    const { functions, eventSources } = await this.stack.requestLedgers();
    const measured: MeasuredRun = { routes, producer: structuredClone(this.producerLedger), eventSources, functions, usage: this.stack.functionUsage() };
    return stored === undefined ? measured : { ...measured, storedByteDays: await this.storedByteDays(stored.notificationIds, stored.users) };
  }

  /**
   * Byte-days the notifications (their items: notification, routes) and the users' stream events
   * occupy: each item's DynamoDB size plus the 100-byte overhead, times the days from its creation
   * until its TTL (`expires_at`) deletes it.
   */
  private async storedByteDays(notificationIds: readonly string[], users: readonly string[]): Promise<number> {
    const DAY_MS = 86_400_000;
    const byteDays = (item: Record<string, unknown>, createdAt: number) =>
      (itemBytes(item) + DYNAMODB_ITEM_OVERHEAD_BYTES) * Math.max(0, ((item['expires_at'] as number) * 1000 - createdAt) / DAY_MS);
    let total = 0;
    await mapWithConcurrency([...notificationIds], 8, async (id) => {
      const { Items = [] } = await this.documents.send(new QueryCommand({ TableName: this.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `N#${id}` } }));
      const acceptedAt = Items.find((item) => item['sk'] === 'META')?.['accepted_at'] as number | undefined;
      for (const item of Items) total += byteDays(item, acceptedAt ?? (item['updated_at'] as number));
    });
    await mapWithConcurrency([...users], 8, async (user) => {
      const { Items = [] } = await this.documents.send(
        new QueryCommand({ TableName: this.streamsTable, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :e)', ExpressionAttributeValues: { ':pk': `S#${user}`, ':e': 'E#' } }),
      );
      for (const item of Items) total += byteDays(item, item['published_at'] as number);
    });
    return total;
  }

  /** Waits until no function has been invoked for `quietMs` (in-flight deletes and completions land). */
  public async settle(quietMs = 1_500, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = this.totalInvocations();
    let since = Date.now();
    while (Date.now() < deadline) {
      await sleep(100);
      const now = this.totalInvocations();
      if (now !== last) {
        last = now;
        since = Date.now();
      } else if (Date.now() - since >= quietMs) {
        // The event sources delete after the invocation returns; give the last delete a moment.
        await sleep(200);
        return;
      }
    }
    throw new Error(`the stack did not settle within ${timeoutMs} ms`);
  }

  /** Waits until `count` more routes are logged published than `from`. */
  public async waitForPublished(from: number, count: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.published - from < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.published - from} of ${count} routes were published within ${timeoutMs} ms`);
      await sleep(20);
    }
    return performance.now();
  }

  private totalInvocations(): number {
    return Object.values(this.stack.functionUsage()).reduce((sum, u) => sum + u.invocations, 0);
  }
}

function findOutput(endpoints: OfflineEndpoints, fragment: string): string {
  const found = Object.entries(endpoints.outputs).find(([key]) => key.includes(fragment) && key.includes('Table'));
  if (!found) throw new Error(`no stack output names the ${fragment} table; outputs: ${Object.keys(endpoints.outputs).join(', ')}`);
  return found[1];
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across this process. */
export const nowMs = () => performance.timeOrigin + performance.now();

/** How many routes an `intake batch` / `delivery batch` line lists as published. */
function publishedOnSummaryLine(line: string): number {
  try {
    const published = (JSON.parse(line.slice(line.indexOf('{'))) as { published?: unknown }).published;
    return Array.isArray(published) ? published.length : 0;
  } catch {
    return 0;
  }
}
