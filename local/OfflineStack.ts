import {
  CreateTableCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { readCloudAssembly, resourcesOfType, type SynthesizedStack, type TemplateResource } from './CloudAssembly.ts';
import { SesEventPublisher, type LocalSesEventDestination } from './SesEventPublisher.ts';
import { EventBus, type LocalRule, type LocalTarget } from './EventBus.ts';
import { LocalFunction } from './FunctionHost.ts';
import { LAMBDA_ASYNC_RETRY_DELAYS_MS, LambdaAsyncInvoker, type AsyncInvokeSettings } from './LambdaAsyncInvoker.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, resolveValue, type LocalResourceValues } from './Intrinsics.ts';
import { SqsEventSource } from './SqsEventSource.ts';
import { DemoServer } from './DemoServer.ts';
import { WebSocketGateway, type GatewayLimits, type GatewayRoute } from './WebSocketGateway.ts';
import { HttpApiGateway, type HttpApiRoute } from './HttpApiGateway.ts';
import { randomBytes } from 'node:crypto';
import { AdminServer } from './AdminServer.ts';
import { attachRequestAccounting, mergeLedgers, type RequestLedger } from '../functions/adapters/requestAccounting.ts';
import { FAULT_SERVICES, FaultProxy, type FaultService } from './emulators/FaultProxy.ts';
import { ChaosController } from './chaos/ChaosController.ts';
import { startDynamoDbLocal, type RunningEmulator } from './emulators/startDynamoDbLocal.ts';
import { reachableQueueUrl, startSqs } from './emulators/startSqs.ts';
import { startSes } from './emulators/startSes.ts';

export interface OfflinePorts {
  readonly dynamodb: number;
  /** The DynamoDB endpoint handlers use (a fault-injecting proxy in front of DynamoDB Local). */
  readonly dynamodbProxy: number;
  readonly sqs: number;
  /** The SES endpoint handlers use (a fault-injecting proxy). */
  readonly ses: number;
  /** The SES emulator itself (mailbox API and web view). */
  readonly sesEmulator: number;
  readonly events: number;
  /** The SQS endpoint handlers, event source mappings and rule targets use (a fault-injecting proxy). */
  readonly sqsProxy: number;
  /** The EventBridge and Secrets Manager endpoint handlers use (a fault-injecting proxy). */
  readonly eventsProxy: number;
  /** The @connections endpoint handlers use (a fault-injecting proxy in front of the gateway). */
  readonly connectionsProxy: number;
  readonly admin: number;
  /** The WebSocket API and its @connections management API. */
  readonly gateway: number;
  /** The demo page. */
  readonly demo: number;
  /** The HTTP API for apps (preferences). */
  readonly httpApi: number;
}

export const DEFAULT_PORTS: OfflinePorts = {
  dynamodb: 8000,
  dynamodbProxy: 8001,
  sqs: 4566,
  sqsProxy: 4567,
  ses: 8005,
  sesEmulator: 8006,
  events: 4580,
  eventsProxy: 4581,
  admin: 4590,
  gateway: 4591,
  demo: 4592,
  connectionsProxy: 4593,
  httpApi: 4594,
};


/** Stand-in for the WebSocket API id; URLs built on it are rewritten to the local gateway. */
const LOCAL_API_ID = 'localwsapi';
/** Stand-in for the HTTP API id (in its events' requestContext). */
const LOCAL_HTTP_API_ID = 'localhttpapi';

export interface OfflineStackOptions {
  /** `cdk synth` output directory. */
  readonly assemblyDir: string;
  readonly stackName?: string;
  readonly ports?: Partial<OfflinePorts>;
  /** `timer`: schedules fire on their rate; `manual`: only through the admin API. @default 'timer' */
  readonly schedules?: 'timer' | 'manual';
  /** Where function and stack logs go: a file path, 'console' or 'silent'. @default 'console' */
  readonly logs?: string;
  /** Execution environments per function. @default 2 */
  readonly functionConcurrency?: number;
  /** Lambda's waits before retrying a failed asynchronous invocation. @default AWS's: 1 min, then 2 min */
  readonly asyncRetryDelaysMs?: readonly number[];
  /** WebSocket idle and lifetime limits. @default API Gateway's: 10 min idle, 2 h */
  readonly gatewayLimits?: GatewayLimits;
  /** Serve the demo page, sending test notifications of this (push) type. @default no demo page */
  readonly demo?: { readonly notificationType: string; readonly inboxType?: string };
  /** Count AWS requests per operation in every function and in the event sources (benchmarks). @default false */
  readonly requestAccounting?: boolean;
  /**
   * Route handlers' AWS calls (DynamoDB, SQS, SES, EventBridge, Secrets Manager, @connections) and
   * the event source mappings' through the fault-injecting proxies. Benchmarks turn this off so
   * measurements do not include the proxies' extra local hop. @default true
   */
  readonly faultProxies?: boolean;
  /** Also called with every log line (benchmarks count completions from the handlers' logs). */
  readonly logTap?: (line: string) => void;
  /**
   * Called if an emulator that runs in a process of its own (DynamoDB Local) ends by itself after
   * the stack started: nothing works without it, and its in-memory tables are gone.
   */
  readonly onEmulatorEnded?: (reason: string) => void;
}

/** Per-function usage since the last reset: what Lambda bills and what CloudWatch Logs ingests. */
export interface FunctionUsage {
  readonly invocations: number;
  readonly errors: number;
  readonly durationMs: number;
  readonly billedDurationMs: number;
  /** Estimated: as Lambda would bill it at the function's vCPU share (FunctionHost.lambdaBilledDurationMs). */
  readonly lambdaBilledDurationMs: number;
  readonly memorySize: number;
  readonly logBytes: number;
  /** The template turns X-Ray active tracing on for it (offline nothing is traced; the cost model counts it). */
  readonly traced: boolean;
  /** Lambda writes its START and REPORT lines for each invocation (the cost model counts their bytes). */
  readonly platformLogs: boolean;
}

/** What a client needs to talk to the running offline stack; also written to `.local/endpoints.json`. */
export interface OfflineEndpoints {
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly dynamodb: string;
  readonly sqs: string;
  readonly ses: string;
  readonly sesMailbox: string;
  readonly events: string;
  readonly admin: string;
  /** Where clients connect (append `?token=<JWT>`); absent when the stack has no push (`push: false`). */
  readonly websocket?: string;
  /** The @connections management API base URL (what `WEBSOCKET_CALLBACK_URL` points to); absent without push. */
  readonly websocketCallback?: string;
  /** The HTTP API for apps (preferences), when the stack has one. */
  readonly httpApi?: string;
  /** The demo page, when enabled. */
  readonly demo?: string;
  /** Secret values by logical id (local only: the generated token-signing key among them). */
  readonly secrets: Record<string, string>;
  /** Stack outputs, resolved to local values (IntakeQueueUrl, TableName, …), keyed without the construct prefix. */
  readonly outputs: Record<string, string>;
  readonly functions: Record<string, string>;
}

/** The endpoints of a stack with push (the WebSocket gateway). */
export type PushEndpoints = OfflineEndpoints & Required<Pick<OfflineEndpoints, 'websocket' | 'websocketCallback'>>;

/** The endpoints, for a caller that needs the WebSocket gateway: fails if the stack was synthesized without push. */
export function withPush(endpoints: OfflineEndpoints): PushEndpoints {
  if (endpoints.websocket === undefined || endpoints.websocketCallback === undefined) {
    throw new Error('this offline stack has no WebSocket gateway: its configuration turns push off ("push": false)');
  }
  return endpoints as PushEndpoints;
}

interface CreatedQueue {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
}

/**
 * Herald's offline stack: real emulators (DynamoDB Local, fauxqs, aws-ses-v2-local), wired from
 * the synthesized CloudFormation template — tables, queues with redrive, functions with their
 * environment, SQS event source mappings, event-bus rules and schedules — running the real
 * bundled handlers with only the endpoints swapped.
 */
export class OfflineStack {
  private readonly emulators: RunningEmulator[] = [];
  private readonly functions = new Map<string, LocalFunction>();
  private readonly asyncInvokers = new Map<string, LambdaAsyncInvoker>();
  private readonly eventSources: SqsEventSource[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly queues = new Map<string, CreatedQueue>();
  private readonly tables = new Map<string, string>();
  private readonly buses = new Map<string, string>();
  /** Secrets by logical id: the AWSCURRENT value, and the AWSPREVIOUS one after a PutSecretValue. */
  private readonly secrets = new Map<string, { arn: string; value: string; previous?: string; version: number }>();
  private gateway?: WebSocketGateway;
  private httpApi?: HttpApiGateway;
  private demo?: DemoServer;
  private readonly schedules: { logicalId: string; fn: LocalFunction; expression: string }[] = [];
  private logStream?: WriteStream;
  private sqs?: SQSClient;
  /** SQS as the event source mappings reach it, and as rule targets are sent to. */
  private pollerSqs?: SQSClient;
  private targetSqs?: SQSClient;
  private viaProxies = true;
  private bus?: EventBus;
  private admin?: AdminServer;
  public readonly sesFaults: FaultProxy;
  /** SES event publishing of the template's configuration sets (bounces, complaints, deliveries). */
  public sesEvents?: SesEventPublisher;
  public readonly dynamodbFaults: FaultProxy;
  public readonly sqsFaults: FaultProxy;
  public readonly eventsFaults: FaultProxy;
  public readonly connectionsFaults: FaultProxy;
  private dynamodbEmulator?: RunningEmulator;
  public endpoints?: OfflineEndpoints;
  private readonly stack: SynthesizedStack;
  private readonly ports: OfflinePorts;
  /** Requests the event source mappings make (receive, delete): billed to the account on AWS too. */
  private eventSourceLedger: RequestLedger = {};

  public constructor(private readonly options: OfflineStackOptions) {
    this.stack = readCloudAssembly(options.assemblyDir, options.stackName);
    this.ports = { ...DEFAULT_PORTS, ...options.ports };
    const callers = { stopEnvironment: (appId: string, how: 'crash' | 'timeout') => this.stopEnvironment(appId, how) };
    this.sesFaults = new FaultProxy(`http://127.0.0.1:${this.ports.sesEmulator}`, offlineSesAccount, callers);
    this.dynamodbFaults = new FaultProxy(`http://127.0.0.1:${this.ports.dynamodb}`, undefined, callers);
    this.sqsFaults = new FaultProxy(`http://127.0.0.1:${this.ports.sqs}`, undefined, callers);
    this.eventsFaults = new FaultProxy(`http://127.0.0.1:${this.ports.events}`, undefined, callers);
    this.connectionsFaults = new FaultProxy(`http://127.0.0.1:${this.ports.gateway}`, undefined, callers);
  }

  public log = (line: string): void => {
    this.options.logTap?.(line);
    const target = this.options.logs ?? 'console';
    if (target === 'silent') return;
    if (target === 'console') {
      process.stdout.write(`${line}\n`);
      return;
    }
    if (!this.logStream) {
      mkdirSync(dirname(target), { recursive: true });
      this.logStream = createWriteStream(target, { flags: 'a' });
    }
    this.logStream.write(`${line}\n`);
  };

  public async start(): Promise<OfflineEndpoints> {
    const { ports } = this;
    try {
      const [dynamo, sqs, ses] = await Promise.all([startDynamoDbLocal(ports.dynamodb), startSqs(ports.sqs), startSes(ports.sesEmulator)]);
      this.emulators.push(dynamo, sqs, ses);
      this.dynamodbEmulator = dynamo;
      for (const emulator of [dynamo, sqs, ses]) void emulator.ended?.then((reason) => this.options.onEmulatorEnded?.(reason));
      const sesEndpoint = await this.sesFaults.listen(ports.ses);
      this.emulators.push({ endpoint: sesEndpoint, stop: () => this.sesFaults.close() });
      const dynamodbEndpoint = await this.dynamodbFaults.listen(ports.dynamodbProxy);
      this.emulators.push({ endpoint: dynamodbEndpoint, stop: () => this.dynamodbFaults.close() });
      const sqsProxyEndpoint = await this.sqsFaults.listen(ports.sqsProxy);
      this.emulators.push({ endpoint: sqsProxyEndpoint, stop: () => this.sqsFaults.close() });
      const eventsProxyEndpoint = await this.eventsFaults.listen(ports.eventsProxy);
      this.emulators.push({ endpoint: eventsProxyEndpoint, stop: () => this.eventsFaults.close() });
      this.emulators.push({ endpoint: await this.connectionsFaults.listen(ports.connectionsProxy), stop: () => this.connectionsFaults.close() });
      const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
      const viaProxies = this.options.faultProxies ?? true;
      this.viaProxies = viaProxies;
      this.sqs = new SQSClient({ endpoint: sqs.endpoint, region: LOCAL_REGION, credentials });
      // The event source mappings and the rule targets reach SQS through the proxy, named, so a
      // fault can pick them (a failed receive or delete, a duplicate delivery, a failed target).
      const proxiedSqs = (appId: string) => new SQSClient({ endpoint: viaProxies ? sqsProxyEndpoint : sqs.endpoint, region: LOCAL_REGION, credentials, userAgentAppId: appId });
      this.pollerSqs = proxiedSqs('event-source-mapping');
      this.targetSqs = proxiedSqs('eventbridge');
      if (this.options.requestAccounting) {
        attachRequestAccounting(this.pollerSqs, 'sqs', () => this.eventSourceLedger);
        attachRequestAccounting(this.targetSqs, 'sqs', () => this.eventSourceLedger);
      }
      const dynamoClient = new DynamoDBClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials });

      await this.createTables(dynamoClient);
      dynamoClient.destroy();
      // Queue URLs name the proxy: the SDK sends an SQS call to its queue URL's host
      // (useQueueUrlAsEndpoint) unless a client names an endpoint itself, as outside clients do.
      await this.createQueues(viaProxies ? sqsProxyEndpoint : sqs.endpoint);
      for (const [id, resource] of resourcesOfType(this.stack.template, 'AWS::Events::EventBus')) {
        this.buses.set(id, String(resource.Properties?.['Name'] ?? id));
      }
      this.createSecrets();
      const eventsEndpoint = `http://127.0.0.1:${ports.events}`;
      const functionEnvironment = {
        AWS_REGION: LOCAL_REGION,
        AWS_DEFAULT_REGION: LOCAL_REGION,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_ENDPOINT_URL_DYNAMODB: viaProxies ? dynamodbEndpoint : dynamo.endpoint,
        AWS_ENDPOINT_URL_SQS: viaProxies ? sqsProxyEndpoint : sqs.endpoint,
        // Always SES's face, not the emulator: it publishes a sent message's events (SesEventPublisher).
        AWS_ENDPOINT_URL_SESV2: sesEndpoint,
        AWS_ENDPOINT_URL_SES: sesEndpoint,
        AWS_ENDPOINT_URL_EVENTBRIDGE: viaProxies ? eventsProxyEndpoint : eventsEndpoint,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: viaProxies ? eventsProxyEndpoint : eventsEndpoint,
        AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
        POWERTOOLS_TRACE_ENABLED: 'false',
        HERALD_OFFLINE: 'true',
        ...(this.options.requestAccounting ? { HERALD_REQUEST_ACCOUNTING: '1' } : {}),
      };
      this.createFunctions(functionEnvironment);
      this.bus = new EventBus(this.buses.values(), this.rulesOnBuses(), this.targetSqs, this.log, 200, { secretsmanager: (op, body) => this.secretsApi(op, body) });
      await this.bus.listen(ports.events);
      this.sesEvents = new SesEventPublisher(this.sesEventDestinations(), (busName, entry) => {
        void this.bus?.putEvents([{ EventBusName: busName, Source: entry.source, DetailType: entry.detailType, Detail: JSON.stringify(entry.detail), Resources: entry.resources }], { asService: true });
      });
      this.sesFaults.observer = { operation: 'SendEmail', applied: (request, response) => this.sesEvents?.afterSendEmail(request, response) };
      this.gateway = this.createGateway();
      if (this.gateway) await this.gateway.listen(ports.gateway);
      this.httpApi = this.createHttpApi();
      if (this.httpApi) await this.httpApi.listen(ports.httpApi);
      this.wireSchedules();
      this.wireEventSources();

      const admin = new AdminServer(this);
      await admin.listen(ports.admin);
      this.admin = admin;

      const websocket = this.localUrl(`wss://${LOCAL_API_ID}.execute-api.${LOCAL_REGION}.amazonaws.com/${this.stageName()}`);
      const outputs = this.resolveOutputs();
      const tokenSecret = [...this.secrets].find(([id]) => id.includes('TokenSecret'))?.[1].value;
      let demo: string | undefined;
      if (this.options.demo && this.gateway && tokenSecret) {
        this.demo = new DemoServer({
          websocketUrl: websocket,
          intakeQueueUrl: outputs['HeraldIntakeQueueUrl'] ?? '',
          tokenSecret,
          notificationType: this.options.demo.notificationType,
          ...(this.options.demo.inboxType && this.httpApi ? { inboxType: this.options.demo.inboxType, httpApiUrl: `http://127.0.0.1:${ports.httpApi}` } : {}),
          sqs: this.sqs,
        });
        demo = await this.demo.listen(ports.demo);
      }
      this.endpoints = {
        region: LOCAL_REGION,
        ...(demo ? { demo } : {}),
        credentials,
        dynamodb: dynamo.endpoint,
        sqs: sqs.endpoint,
        ses: sesEndpoint,
        sesMailbox: ses.endpoint,
        events: eventsEndpoint,
        admin: `http://127.0.0.1:${ports.admin}`,
        ...(this.gateway
          ? { websocket, websocketCallback: this.localUrl(`https://${LOCAL_API_ID}.execute-api.${LOCAL_REGION}.amazonaws.com/${this.stageName()}`) }
          : {}),
        ...(this.httpApi ? { httpApi: `http://127.0.0.1:${ports.httpApi}` } : {}),
        secrets: Object.fromEntries([...this.secrets].map(([id, s]) => [id, s.value])),
        outputs,
        functions: Object.fromEntries([...this.functions.keys()].map((id) => [id, id])),
      };
      return this.endpoints;
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  public async stop(): Promise<void> {
    this.chaos.stop();
    for (const timer of this.timers) clearInterval(timer);
    await Promise.allSettled(this.eventSources.map((s) => s.stop()));
    await this.demo?.close();
    await this.gateway?.close();
    await this.httpApi?.close();
    this.sesEvents?.close();
    await this.bus?.close();
    await Promise.allSettled([...this.asyncInvokers.values()].map((i) => i.close()));
    await this.admin?.close();
    await Promise.allSettled([...this.functions.values()].map((f) => f.close()));
    this.sqs?.destroy();
    this.pollerSqs?.destroy();
    this.targetSqs?.destroy();
    await Promise.allSettled(this.emulators.map((e) => e.stop()));
    await new Promise<void>((resolve) => (this.logStream ? this.logStream.end(() => resolve()) : resolve()));
  }

  /** Runs every scheduled rule's target once now (or only the named rule); returns their results. */
  public async fireSchedules(ruleLogicalId?: string): Promise<Record<string, unknown>> {
    const chosen = this.schedules.filter((s) => ruleLogicalId === undefined || s.logicalId === ruleLogicalId);
    if (chosen.length === 0) throw new Error(`no scheduled rule ${ruleLogicalId ?? ''} in the template`);
    const results: Record<string, unknown> = {};
    for (const schedule of chosen) results[schedule.logicalId] = await schedule.fn.invoke(scheduledEvent(schedule.logicalId));
    return results;
  }

  public allFunctions(): LocalFunction[] {
    return [...this.functions.values()];
  }

  public functionByPrefix(prefix: string): LocalFunction | undefined {
    return [...this.functions.values()].find((f) => f.name.startsWith(prefix));
  }

  public functionStats(): Record<string, { invocations: number; errors: number; initMs: number[] }> {
    return Object.fromEntries(
      [...this.functions.values()].map((f) => [f.name, { invocations: f.invocations, errors: f.errors, initMs: f.initDurationsMs }]),
    );
  }

  /** Invocations, durations, memory and log volume per function since the last reset. */
  public functionUsage(): Record<string, FunctionUsage> {
    return Object.fromEntries(
      [...this.functions.values()].map((f) => [
        f.name,
        { invocations: f.invocations, errors: f.errors, durationMs: f.durationMs, billedDurationMs: f.billedDurationMs, lambdaBilledDurationMs: f.lambdaBilledDurationMs, memorySize: f.memorySize, logBytes: f.logBytes, traced: f.traced, platformLogs: f.platformLogs },
      ]),
    );
  }

  /**
   * AWS requests counted since the last reset (needs `requestAccounting`): per function, and the
   * event source mappings' own receives and deletes.
   */
  public async requestLedgers(reset = false): Promise<{ functions: Record<string, RequestLedger>; eventSources: RequestLedger }> {
    const functions: Record<string, RequestLedger> = {};
    for (const fn of this.functions.values()) functions[fn.name] = mergeLedgers(...(await fn.ledgers(reset)));
    const eventSources = this.eventSourceLedger;
    if (reset) this.eventSourceLedger = {};
    return { functions, eventSources: structuredClone(eventSources) };
  }

  /** Starts every measurement (ledgers and function counters) from zero. */
  public async resetMeasurements(): Promise<void> {
    await this.requestLedgers(true);
    for (const fn of this.functions.values()) fn.resetCounters();
  }

  /** Open gateway connections, or those whose `$connect` is still running. */
  public gatewayConnections(state: 'open' | 'connecting' = 'open'): string[] {
    return (state === 'open' ? this.gateway?.connectionIds() : this.gateway?.connectingIds()) ?? [];
  }

  /** Test and fault-injection hooks: drop a socket silently (vanish) or with $disconnect (drop). */
  /** Ends a gateway connection the way a test needs: vanished client, server-side close, or a path that died unnoticed. */
  public endConnection(connectionId: string, how: 'vanish' | 'drop' | 'stall'): boolean {
    return this.gateway?.[how](connectionId) ?? false;
  }

  /** Chaos mode: named fault profiles over every proxy (admin `/chaos`, `npm start -- --chaos`). */
  public readonly chaos = new ChaosController(this);

  public faults(service: string): FaultProxy | undefined {
    const proxies: Record<FaultService, FaultProxy> = {
      dynamodb: this.dynamodbFaults,
      sqs: this.sqsFaults,
      ses: this.sesFaults,
      events: this.eventsFaults,
      connections: this.connectionsFaults,
    };
    return (FAULT_SERVICES as readonly string[]).includes(service) ? proxies[service as FaultService] : undefined;
  }

  /** Ends a function's execution environment mid-invocation (an injected crash or timeout); see FaultProxy. */
  public stopEnvironment(appId: string, how: 'crash' | 'timeout'): boolean {
    const name = appId.slice(0, appId.lastIndexOf('.'));
    return this.functions.get(name)?.stopEnvironment(appId, how) ?? false;
  }

  /** Freezes DynamoDB Local for `ms`: every request in that time waits, as in a service brown-out. */
  public async pauseDynamoDb(ms: number): Promise<void> {
    await this.dynamodbEmulator?.pause?.(ms);
  }

  public putEvents(entries: Parameters<EventBus['putEvents']>[0]) {
    return this.bus!.putEvents(entries);
  }

  private async createTables(client: DynamoDBClient): Promise<void> {
    for (const [id, resource] of resourcesOfType(this.stack.template, 'AWS::DynamoDB::Table')) {
      const p = resource.Properties ?? {};
      const name = String(p['TableName'] ?? id);
      const input: CreateTableCommandInput = {
        TableName: name,
        KeySchema: p['KeySchema'] as CreateTableCommandInput['KeySchema'],
        AttributeDefinitions: p['AttributeDefinitions'] as CreateTableCommandInput['AttributeDefinitions'],
        BillingMode: 'PAY_PER_REQUEST',
        ...(p['GlobalSecondaryIndexes']
          ? {
              GlobalSecondaryIndexes: (p['GlobalSecondaryIndexes'] as Record<string, unknown>[]).map((gsi) => ({
                IndexName: gsi['IndexName'] as string,
                KeySchema: gsi['KeySchema'] as CreateTableCommandInput['KeySchema'] & {},
                Projection: gsi['Projection'] as { ProjectionType: 'ALL' },
              })),
            }
          : {}),
      };
      await client.send(new CreateTableCommand(input));
      const ttl = p['TimeToLiveSpecification'] as { AttributeName?: string; Enabled?: boolean } | undefined;
      if (ttl?.Enabled && ttl.AttributeName) {
        await client.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true } }));
      }
      this.tables.set(id, name);
    }
  }

  private async createQueues(endpoint: string): Promise<void> {
    const pending = new Map(resourcesOfType(this.stack.template, 'AWS::SQS::Queue'));
    // Dead-letter queues first: a redrive policy names its target's ARN.
    while (pending.size > 0) {
      const ready = [...pending].filter(([, r]) => {
        const redrive = r.Properties?.['RedrivePolicy'] as { deadLetterTargetArn?: { 'Fn::GetAtt'?: [string, string] } } | undefined;
        const target = redrive?.deadLetterTargetArn?.['Fn::GetAtt']?.[0];
        return target === undefined || this.queues.has(target);
      });
      if (ready.length === 0) throw new Error(`queues with unresolvable redrive targets: ${[...pending.keys()].join(', ')}`);
      for (const [id, resource] of ready) {
        pending.delete(id);
        const p = resource.Properties ?? {};
        const name = String(p['QueueName'] ?? id);
        const attributes: Record<string, string> = {};
        for (const key of ['VisibilityTimeout', 'MessageRetentionPeriod', 'DelaySeconds', 'ReceiveMessageWaitTimeSeconds', 'MaximumMessageSize']) {
          if (p[key] !== undefined) attributes[key] = String(p[key]);
        }
        if (p['RedrivePolicy'] !== undefined) {
          attributes['RedrivePolicy'] = JSON.stringify(resolveValue(p['RedrivePolicy'], this.resourceValues()));
        }
        const created = await this.sqs!.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
        this.queues.set(id, { name, url: reachableQueueUrl(endpoint, created.QueueUrl!), arn: `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${name}` });
      }
    }
  }

  private createFunctions(localEnvironment: Record<string, string>): void {
    const values = this.resourceValues();
    for (const [id, resource] of resourcesOfType(this.stack.template, 'AWS::Lambda::Function')) {
      const p = resource.Properties ?? {};
      const assetPath = resource.Metadata?.['aws:asset:path'];
      if (typeof assetPath !== 'string') {
        this.log(`[offline] skipping function ${id}: no bundled asset (inline or container code is not supported offline)`);
        continue;
      }
      const [file, handlerName] = splitHandler(String(p['Handler'] ?? 'index.handler'));
      const variables = ((p['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {});
      const environment: Record<string, string> = {
        ...Object.fromEntries(Object.entries(resolveValue(variables, values) as Record<string, unknown>).map(([k, v]) => [k, this.localUrl(String(v))])),
        ...localEnvironment,
        AWS_LAMBDA_FUNCTION_NAME: id,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(p['MemorySize'] ?? 128),
        PATH: process.env['PATH'] ?? '',
      };
      const fn = new LocalFunction(
        {
          logicalId: id,
          entry: join(this.stack.assemblyDir, assetPath, `${file}.mjs`),
          handlerName,
          timeoutMs: Number(p['Timeout'] ?? 3) * 1000,
          memorySize: Number(p['MemorySize'] ?? 128),
          traced: (p['TracingConfig'] as { Mode?: string } | undefined)?.Mode === 'Active',
          platformLogs: writesPlatformLogLines(p['LoggingConfig'] as { LogFormat?: string; SystemLogLevel?: string } | undefined),
          environment,
          concurrency: this.options.functionConcurrency ?? 2,
        },
        (line) => this.log(`[${id}] ${line}`),
      );
      this.functions.set(id, fn);
    }
  }

  private wireEventSources(): void {
    for (const [id, resource] of resourcesOfType(this.stack.template, 'AWS::Lambda::EventSourceMapping')) {
      const p = resource.Properties ?? {};
      const queueId = (p['EventSourceArn'] as { 'Fn::GetAtt'?: [string, string] })?.['Fn::GetAtt']?.[0];
      const fnId = (p['FunctionName'] as { Ref?: string })?.Ref;
      const queue = queueId ? this.queues.get(queueId) : undefined;
      const fn = fnId ? this.functions.get(fnId) : undefined;
      if (!queue || !fn) {
        this.log(`[offline] skipping event source ${id}: only SQS sources of template functions are emulated`);
        continue;
      }
      const maxConcurrency = (p['ScalingConfig'] as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency;
      const source = new SqsEventSource(
        {
          logicalId: id,
          queueUrl: queue.url,
          queueArn: queue.arn,
          batchSize: Number(p['BatchSize'] ?? 10),
          batchingWindowMs: Number(p['MaximumBatchingWindowInSeconds'] ?? 0) * 1000,
          reportBatchItemFailures: ((p['FunctionResponseTypes'] as string[] | undefined) ?? []).includes('ReportBatchItemFailures'),
          // Lambda polls with five concurrent batches to start with (docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html),
          // bounded here by the execution environments a function may have.
          concurrency: Math.min(maxConcurrency ?? 5, this.options.functionConcurrency ?? 2),
        },
        this.pollerSqs!,
        fn,
        this.log,
      );
      source.start();
      this.eventSources.push(source);
    }
  }

  /** The template's SES configuration set event destinations on an EventBridge bus. */
  private sesEventDestinations(): LocalSesEventDestination[] {
    return [...resourcesOfType(this.stack.template, 'AWS::SES::ConfigurationSetEventDestination')].flatMap(([, resource]) => {
      const p = resolveValue(resource.Properties ?? {}, this.resourceValues()) as Record<string, unknown>;
      const destination = p['EventDestination'] as { Enabled?: boolean; MatchingEventTypes?: string[]; EventBridgeDestination?: { EventBusArn?: string } } | undefined;
      const busArn = destination?.EventBridgeDestination?.EventBusArn;
      if (!destination || destination.Enabled === false || !busArn) return [];
      return [{ configurationSetName: String(p['ConfigurationSetName']), eventTypes: new Set(destination.MatchingEventTypes ?? []), busName: busArn.slice(busArn.lastIndexOf('/') + 1) }];
    });
  }

  private rulesOnBuses(): LocalRule[] {
    const rules: LocalRule[] = [];
    for (const [id, resource] of resourcesOfType(this.stack.template, 'AWS::Events::Rule')) {
      const p = resource.Properties ?? {};
      if (p['EventPattern'] === undefined) continue;
      const busRef = p['EventBusName'] as { Ref?: string } | string | undefined;
      const busName = typeof busRef === 'object' && busRef?.Ref ? this.buses.get(busRef.Ref) ?? busRef.Ref : String(busRef ?? 'default');
      // A pattern may name a resource (a configuration set's name): resolved like any property.
      rules.push({ logicalId: id, busName, pattern: resolveValue(p['EventPattern'], this.resourceValues()) as Record<string, unknown>, targets: this.targetsOf(id, resource) });
    }
    return rules;
  }

  private wireSchedules(): void {
    for (const [id, resource] of resourcesOfType(this.stack.template, 'AWS::Events::Rule')) {
      const expression = resource.Properties?.['ScheduleExpression'];
      if (typeof expression !== 'string') continue;
      for (const target of this.targetsOf(id, resource)) {
        if (target.kind !== 'lambda') continue;
        this.schedules.push({ logicalId: id, fn: this.functions.get(target.invoker.functionName)!, expression });
        if ((this.options.schedules ?? 'timer') === 'timer') {
          // A schedule invokes its function asynchronously, as every EventBridge Lambda target.
          const timer = setInterval(() => {
            try {
              target.invoker.invoke(scheduledEvent(id));
            } catch (error) {
              this.log(`[${id}] scheduled run not started: ${(error as Error).message}`);
            }
          }, rateToMs(expression));
          timer.unref();
          this.timers.push(timer);
        }
      }
    }
  }

  private targetsOf(ruleId: string, resource: TemplateResource): LocalTarget[] {
    const targets = (resource.Properties?.['Targets'] as Record<string, unknown>[] | undefined) ?? [];
    return targets.flatMap((t): LocalTarget[] => {
      const arnId = (t['Arn'] as { 'Fn::GetAtt'?: [string, string] })?.['Fn::GetAtt']?.[0];
      const dlqId = ((t['DeadLetterConfig'] as { Arn?: { 'Fn::GetAtt'?: [string, string] } } | undefined)?.Arn?.['Fn::GetAtt'])?.[0];
      const deadLetterQueueUrl = dlqId ? this.queues.get(dlqId)?.url : undefined;
      // EventBridge's default is 185 retries over 24 h; offline, at most 5 (the template's own are 8 and 4).
      const retries = (t['RetryPolicy'] as { MaximumRetryAttempts?: number } | undefined)?.MaximumRetryAttempts ?? 185;
      const common = {
        maxRetries: Math.min(retries, 5),
        ...(typeof t['InputPath'] === 'string' ? { inputPath: t['InputPath'] as string } : {}),
        ...(typeof t['Input'] === 'string' ? { input: t['Input'] as string } : {}),
        ...(deadLetterQueueUrl ? { deadLetterQueueUrl } : {}),
      };
      if (arnId && this.queues.has(arnId)) return [{ kind: 'sqs', queueUrl: this.queues.get(arnId)!.url, queueArn: this.queues.get(arnId)!.arn, ...common }];
      if (arnId && this.functions.has(arnId)) return [{ kind: 'lambda', invoker: this.asyncInvoker(arnId), ...common }];
      this.log(`[offline] rule ${ruleId}: target ${String(t['Id'])} is not a template queue or function; skipped`);
      return [];
    });
  }

  /** The function's asynchronous invocation queue, configured from its EventInvokeConfig and DeadLetterConfig. */
  private asyncInvoker(functionId: string): LambdaAsyncInvoker {
    const existing = this.asyncInvokers.get(functionId);
    if (existing) return existing;
    const queueUrlOf = (arn: unknown) => {
      const id = (arn as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0];
      return id ? this.queues.get(id)?.url : undefined;
    };
    const config = resourcesOfType(this.stack.template, 'AWS::Lambda::EventInvokeConfig').find(
      ([, r]) => (r.Properties?.['FunctionName'] as { Ref?: string } | undefined)?.Ref === functionId,
    )?.[1].Properties;
    const onFailure = (config?.['DestinationConfig'] as { OnFailure?: { Destination?: unknown } } | undefined)?.OnFailure?.Destination;
    const onFailureQueueUrl = queueUrlOf(onFailure);
    if (onFailure !== undefined && onFailureQueueUrl === undefined) this.log(`[offline] ${functionId}: on-failure destination is not a template queue; failed events are dropped offline`);
    const deadLetter = (this.stack.template.Resources[functionId]?.Properties?.['DeadLetterConfig'] as { TargetArn?: unknown } | undefined)?.TargetArn;
    const deadLetterQueueUrl = queueUrlOf(deadLetter);
    const settings: AsyncInvokeSettings = {
      ...(typeof config?.['MaximumRetryAttempts'] === 'number' ? { maximumRetryAttempts: config['MaximumRetryAttempts'] } : {}),
      ...(typeof config?.['MaximumEventAgeInSeconds'] === 'number' ? { maximumEventAgeMs: config['MaximumEventAgeInSeconds'] * 1000 } : {}),
      ...(onFailureQueueUrl ? { onFailureQueueUrl } : {}),
      ...(deadLetterQueueUrl ? { deadLetterQueueUrl } : {}),
    };
    const invoker = new LambdaAsyncInvoker(this.functions.get(functionId)!, settings, this.sqs!, this.log, this.options.asyncRetryDelaysMs ?? LAMBDA_ASYNC_RETRY_DELAYS_MS);
    this.asyncInvokers.set(functionId, invoker);
    return invoker;
  }

  private resolveOutputs(): Record<string, string> {
    const outputs: Record<string, string> = {};
    for (const [id, output] of Object.entries(this.stack.template.Outputs ?? {})) {
      // CDK suffixes output ids with a hash (HeraldIntakeQueueUrlA1121A96); expose the readable name.
      outputs[id.replace(/[0-9A-F]{8}$/, '')] = this.localUrl(String(resolveValue(output.Value, this.resourceValues())));
    }
    return outputs;
  }

  /** Rewrites the WebSocket API's AWS URLs (built on LOCAL_API_ID) to the local gateway. */
  private localUrl(value: string): string {
    const port = this.ports.gateway;
    // Handlers post to connections through the fault proxy; clients connect to the gateway itself.
    const callbackPort = this.viaProxies ? this.ports.connectionsProxy : port;
    return value
      .replace(new RegExp(`^https://${LOCAL_API_ID}\\.execute-api\\.[^/]+`), `http://127.0.0.1:${callbackPort}`)
      .replace(new RegExp(`^wss://${LOCAL_API_ID}\\.execute-api\\.[^/]+`), `ws://127.0.0.1:${port}`);
  }

  private stageName(): string {
    const stage = resourcesOfType(this.stack.template, 'AWS::ApiGatewayV2::Stage')[0];
    return String(stage?.[1].Properties?.['StageName'] ?? 'live');
  }

  private createSecrets(): void {
    for (const [id, resource] of resourcesOfType(this.stack.template, 'AWS::SecretsManager::Secret')) {
      const p = resource.Properties ?? {};
      const generate = p['GenerateSecretString'] as { PasswordLength?: number } | undefined;
      const value = typeof p['SecretString'] === 'string'
        ? p['SecretString']
        : randomBytes(64).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, generate?.PasswordLength ?? 32);
      this.secrets.set(id, { arn: `arn:aws:secretsmanager:${LOCAL_REGION}:${LOCAL_ACCOUNT}:secret:${id}-local`, value, version: 1 });
    }
  }

  /**
   * GetSecretValue (by VersionStage AWSCURRENT or AWSPREVIOUS) and PutSecretValue, which makes the
   * new value AWSCURRENT and moves the label AWSPREVIOUS to the old one, as a rotation does
   * (docs.aws.amazon.com/secretsmanager/latest/userguide/whats-in-a-secret.html).
   */
  private async secretsApi(operation: string, body: Record<string, unknown>): Promise<unknown> {
    const fail = (name: string, message: string) => Object.assign(new Error(message), { name });
    if (operation !== 'GetSecretValue' && operation !== 'PutSecretValue') throw fail('UnsupportedOperation', `offline Secrets Manager supports GetSecretValue and PutSecretValue only, not ${operation}`);
    const wanted = String(body['SecretId'] ?? '');
    const found = [...this.secrets].find(([id, s]) => s.arn === wanted || id === wanted);
    if (!found) throw fail('ResourceNotFoundException', `Secrets Manager can't find the specified secret: ${wanted}`);
    const [id, secret] = found;
    if (operation === 'PutSecretValue') {
      if (typeof body['SecretString'] !== 'string' || body['SecretString'] === '') throw fail('InvalidParameterException', 'SecretString is required');
      secret.previous = secret.value;
      secret.value = body['SecretString'];
      secret.version += 1;
      return { ARN: secret.arn, Name: id, VersionId: `local-${secret.version}`, VersionStages: ['AWSCURRENT'] };
    }
    const stage = String(body['VersionStage'] ?? 'AWSCURRENT');
    if (stage === 'AWSCURRENT') return { ARN: secret.arn, Name: id, SecretString: secret.value, VersionId: `local-${secret.version}`, VersionStages: ['AWSCURRENT'] };
    if (stage === 'AWSPREVIOUS' && secret.previous !== undefined) {
      return { ARN: secret.arn, Name: id, SecretString: secret.previous, VersionId: `local-${secret.version - 1}`, VersionStages: ['AWSPREVIOUS'] };
    }
    throw fail('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for staging label: ${stage}`);
  }

  /** The WebSocket API of the template (one at most), routed to local functions. */
  private createGateway(): WebSocketGateway | undefined {
    const template = this.stack.template;
    const api = resourcesOfType(template, 'AWS::ApiGatewayV2::Api').find(([, r]) => r.Properties?.['ProtocolType'] === 'WEBSOCKET');
    if (!api) return undefined;
    const functionIn = (value: unknown): LocalFunction | undefined => {
      const id = JSON.stringify(value).match(/"Fn::GetAtt":\["([A-Za-z0-9]+)","Arn"\]/)?.[1];
      return id ? this.functions.get(id) : undefined;
    };
    const routes = new Map<string, GatewayRoute>();
    for (const [id, route] of resourcesOfType(template, 'AWS::ApiGatewayV2::Route')) {
      const p = route.Properties ?? {};
      const integrationId = JSON.stringify(p['Target']).match(/"Ref":"([A-Za-z0-9]+)"/)?.[1];
      const fn = integrationId ? functionIn(template.Resources[integrationId]?.Properties?.['IntegrationUri']) : undefined;
      if (!fn) {
        this.log(`[offline] route ${id}: integration is not a template function; skipped`);
        continue;
      }
      const authorizerId = (p['AuthorizerId'] as { Ref?: string } | undefined)?.Ref;
      const authorizer = authorizerId ? template.Resources[authorizerId]?.Properties : undefined;
      const authorizerFn = authorizer ? functionIn(authorizer['AuthorizerUri']) : undefined;
      routes.set(String(p['RouteKey']), {
        fn,
        ...(authorizerFn ? { authorizer: { fn: authorizerFn, identitySource: (authorizer?.['IdentitySource'] as string[]) ?? [] } } : {}),
      });
    }
    return new WebSocketGateway({ apiId: LOCAL_API_ID, stageName: this.stageName(), routes }, this.log, this.options.gatewayLimits);
  }

  /** The HTTP API of the template (one at most): its routes to local functions, its CORS configuration. */
  private createHttpApi(): HttpApiGateway | undefined {
    const template = this.stack.template;
    const api = resourcesOfType(template, 'AWS::ApiGatewayV2::Api').find(([, r]) => r.Properties?.['ProtocolType'] === 'HTTP');
    if (!api) return undefined;
    const [apiLogicalId, apiResource] = api;
    const routes: HttpApiRoute[] = [];
    for (const [id, route] of resourcesOfType(template, 'AWS::ApiGatewayV2::Route')) {
      const p = route.Properties ?? {};
      if ((p['ApiId'] as { Ref?: string } | undefined)?.Ref !== apiLogicalId) continue;
      const integrationId = JSON.stringify(p['Target']).match(/"Ref":"([A-Za-z0-9]+)"/)?.[1];
      const uri = integrationId ? template.Resources[integrationId]?.Properties?.['IntegrationUri'] : undefined;
      const fnId = JSON.stringify(uri).match(/"Fn::GetAtt":\["([A-Za-z0-9]+)","Arn"\]/)?.[1];
      const fn = fnId ? this.functions.get(fnId) : undefined;
      if (!fn) {
        this.log(`[offline] HTTP route ${id}: integration is not a template function; skipped`);
        continue;
      }
      routes.push({ routeKey: String(p['RouteKey']), fn });
    }
    const cors = apiResource.Properties?.['CorsConfiguration'] as Record<string, unknown> | undefined;
    const list = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);
    return new HttpApiGateway(
      {
        apiId: LOCAL_HTTP_API_ID,
        routes,
        ...(cors
          ? {
              cors: {
                allowOrigins: list(cors['AllowOrigins']),
                allowMethods: list(cors['AllowMethods']),
                allowHeaders: list(cors['AllowHeaders']),
                exposeHeaders: list(cors['ExposeHeaders']),
                ...(typeof cors['MaxAge'] === 'number' ? { maxAge: cors['MaxAge'] } : {}),
              },
            }
          : {}),
      },
      this.log,
    );
  }

  private resourceValues(): LocalResourceValues {
    return {
      ref: (id) =>
        this.queues.get(id)?.url ??
        this.tables.get(id) ??
        this.buses.get(id) ??
        this.secrets.get(id)?.arn ??
        (this.stack.template.Resources[id]?.Type === 'AWS::ApiGatewayV2::Api' ? LOCAL_API_ID : undefined) ??
        // A configuration set's Ref is its name; CloudFormation makes one up when the template gives none.
        (this.stack.template.Resources[id]?.Type === 'AWS::SES::ConfigurationSet' ? String(this.stack.template.Resources[id]?.Properties?.['Name'] ?? id) : undefined) ??
        (this.functions.has(id) ? id : undefined),
      getAtt: (id, attribute) => {
        const queue = this.queues.get(id);
        if (queue) return attribute === 'Arn' ? queue.arn : attribute === 'QueueName' ? queue.name : attribute === 'QueueUrl' ? queue.url : undefined;
        const table = this.tables.get(id);
        if (table && attribute === 'Arn') return `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT}:table/${table}`;
        const bus = this.buses.get(id);
        if (bus && attribute === 'Arn') return `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/${bus}`;
        if (bus && attribute === 'Name') return bus;
        if (this.functions.has(id) && attribute === 'Arn') return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${id}`;
        const resource = this.stack.template.Resources[id];
        if (resource?.Type === 'AWS::ApiGatewayV2::Api' && resource.Properties?.['ProtocolType'] === 'HTTP' && attribute === 'ApiEndpoint') return `http://127.0.0.1:${this.ports.httpApi}`;
        return undefined;
      },
    };
  }
}

/**
 * What the SES emulator cannot answer: the offline stack's SES sends from and to any address, so it
 * answers as an account out of the sandbox whose every identity is verified.
 */
function offlineSesAccount(method: string, path: string): { status: number; body: unknown } | undefined {
  if (method !== 'GET') return undefined;
  if (path === '/v2/email/account') {
    return {
      status: 200,
      body: { ProductionAccessEnabled: true, SendingEnabled: true, EnforcementStatus: 'HEALTHY', SendQuota: { Max24HourSend: 1_000_000, MaxSendRate: 1000, SentLast24Hours: 0 } },
    };
  }
  const identity = /^\/v2\/email\/identities\/([^/]+)$/.exec(path);
  if (identity) {
    const name = decodeURIComponent(identity[1]!);
    return { status: 200, body: { IdentityType: name.includes('@') ? 'EMAIL_ADDRESS' : 'DOMAIN', VerifiedForSendingStatus: true, VerificationStatus: 'SUCCESS' } };
  }
  return undefined;
}

function splitHandler(handler: string): [string, string] {
  const dot = handler.lastIndexOf('.');
  return [handler.slice(0, dot), handler.slice(dot + 1)];
}

function scheduledEvent(ruleId: string) {
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_ACCOUNT,
    time: new Date().toISOString(),
    region: LOCAL_REGION,
    resources: [`arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/${ruleId}`],
    detail: {},
  };
}

/** `rate(1 minute)`, `rate(5 minutes)`, `rate(1 hour)`; cron expressions fire every minute locally. */
export function rateToMs(expression: string): number {
  const match = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (!match) return 60_000;
  const unit = match[2]!.startsWith('minute') ? 60_000 : match[2]!.startsWith('hour') ? 3_600_000 : 86_400_000;
  return Number(match[1]) * unit;
}

/**
 * Whether Lambda writes the START and REPORT lines of each invocation: in the Text log format always;
 * in JSON at system log level INFO (its default) or DEBUG, not WARN
 * (docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
 */
export function writesPlatformLogLines(config: { LogFormat?: string; SystemLogLevel?: string } | undefined): boolean {
  if (config?.LogFormat !== 'JSON') return true;
  return (config.SystemLogLevel ?? 'INFO') !== 'WARN';
}
