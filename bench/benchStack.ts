import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { attachRequestAccounting, type RequestLedger } from '../functions/adapters/requestAccounting.ts';
import { chunk } from '../functions/adapters/chunk.ts';
import { mapWithConcurrency } from '../functions/adapters/mapWithConcurrency.ts';
import { SQS_BATCH_SIZE } from '../functions/core/constants.ts';
import { mintAccessToken } from '../functions/core/auth/AccessTokenVerifier.ts';
import { OfflineStack, withPush, type OfflineEndpoints, type PushEndpoints } from '../local/OfflineStack.ts';
import { synthesize } from '../local/synth.ts';
import type { MeasuredRun } from './costModel.ts';
import { freeOfflinePorts } from '../local/freePort.ts';

export const BENCH_CONFIG = 'bench/herald.bench.json';
export const PUSH_TYPE = 'bench.push';
export const EMAIL_TYPE = 'bench.email';

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

  /** What was counted since the last reset, for `routes` delivered routes. */
  public async measure(routes: number): Promise<MeasuredRun> {
    const { functions, eventSources } = await this.stack.requestLedgers();
    return { routes, producer: structuredClone(this.producerLedger), eventSources, functions, usage: this.stack.functionUsage() };
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
