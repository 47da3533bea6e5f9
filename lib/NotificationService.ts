import { CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AttributeType, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction, SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnConfigurationSet, CfnConfigurationSetEventDestination } from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import { DEFAULT_RETRY_POLICY, validateRetryPolicy, type RetryPolicy } from '../functions/core/backoff/computeBackoff.ts';
import { INTAKE_RECEIVE_BACKOFF, LIFECYCLE_RECEIVE_BACKOFF } from '../functions/core/backoff/receiveBackoff.ts';
import type { Catalog } from '../functions/core/catalog/catalogTypes.ts';
import { templateFields } from '../functions/core/email/renderTemplate.ts';
import { FEEDBACK_DETAIL_TYPES, FEEDBACK_EVENT_TYPES } from '../functions/core/email/emailFeedback.ts';
import { DEFAULT_INBOX_RETENTION_DAYS, hasInboxTypes } from '../functions/core/inbox/inbox.ts';
import { MAX_ATTEMPTS_CEILING, validateCatalog } from '../functions/core/catalog/validateCatalog.ts';
import { DEFAULT_MAX_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES_CEILING } from '../functions/core/constants.ts';
import { validateClientBudget, type ClientBudgetPolicy } from '../functions/core/push/ClientBudget.ts';
import { DEAD_LETTERS_INDEX, DUE_INDEX, OPEN_BY_USER_INDEX, ROUTE_INDEX_ATTRIBUTES } from '../functions/adapters/dynamoKeys.ts';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { HeraldFunction, SYSTEM_LOG_LEVELS, type SystemLogLevelName } from './parts/HeraldFunction.ts';
import { Monitoring } from './parts/Monitoring.ts';
import { AppApi } from './parts/AppApi.ts';
import { PushGateway, type ConnectionAuthProps } from './parts/PushGateway.ts';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { deadLetterQueue, QueueWithDeadLetters } from './parts/QueueWithDeadLetters.ts';
import { autoScaleTable, indexCapacity, tableBilling, validateTableCapacity, type TableCapacityProps } from './parts/TableCapacity.ts';

/** Levels of every function's log lines (Powertools'). */
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Route retry policy. */
export interface RouteRetryProps {
  /** @default Duration.seconds(5) */
  readonly minBackoff?: Duration;
  /** @default Duration.minutes(15) */
  readonly maxBackoff?: Duration;
  /** ± fraction of each delay. @default 0.2 */
  readonly jitter?: number;
  /** Attempts per route when the catalog entry does not say. @default 6 */
  readonly maxAttempts?: number;
}

/** Push over API Gateway WebSocket. */
export interface PushProps {
  /** How `$connect` verifies connection tokens. @default HS256 with a generated Secrets Manager secret */
  readonly auth?: ConnectionAuthProps;
  /** How long events stay replayable after publication. @default Duration.hours(24) */
  readonly freshnessWindow?: Duration;
  /** @default 'live' */
  readonly stageName?: string;
  /**
   * Steady-state and burst limits on client messages (including `$connect`) of the whole stage,
   * so a flood of connections cannot take the account's Lambda concurrency from accept and
   * deliver. API Gateway answers over-limit messages itself (429 on `$connect`).
   * @default { rateLimit: 500, burstLimit: 1000 }
   */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * Open WebSocket connections one user may have (every device and tab together). A new one beyond
   * it closes the user's oldest with `session_invalidated` reason `connection_limit`: a leaked token
   * or a socket per tab cannot multiply what each push to that user costs (docs/limits.md).
   * @default 10
   */
  readonly maxConnectionsPerUser?: number;
  /**
   * Open WebSocket connections one device session of a user may have (a browser's tabs, say); a
   * new one beyond it closes that session's oldest the same way, even while the user is under
   * {@link maxConnectionsPerUser}.
   * @default 5
   */
  readonly maxConnectionsPerDeviceSession?: number;
  /**
   * What one connection may ask of Herald: client messages per minute (a token bucket in the
   * connection function's memory) and resumes and replayed events per minute (exact, on the
   * connection's registry entry). Over it, a `rate_limited` error frame with `retry_after_ms`;
   * one more message before then closes the connection (docs/limits.md).
   * @default { messagesPerMinute: 60, messageBurst: 20, resumesPerMinute: 10, replayEventsPerMinute: 10000 }
   */
  readonly clientBudget?: Partial<ClientBudgetPolicy>;
}

/** Functions whose concurrency can be reserved ({@link NotificationServiceProps.reservedConcurrency}). */
export const RESERVABLE_FUNCTIONS = ['accept', 'deliver', 'sweeper', 'lifecycle', 'authorizer', 'connection'] as const;
export type ReservableFunction = (typeof RESERVABLE_FUNCTIONS)[number];

/** Properties of {@link NotificationService}. */
export interface NotificationServiceProps {
  /** Notification type → channels, email template, attempts. Validated at synth time. */
  readonly catalog: Catalog;
  /** Sender address of every email; it (or its domain) must be a verified SES identity. Required when any type emails. */
  readonly emailFrom?: string;
  /**
   * An existing SES configuration set to send every email with (your own event publishing,
   * dedicated IPs); Herald adds its feedback event destination to it. @default a configuration set of Herald's own
   */
  readonly emailConfigurationSet?: string;
  /**
   * Bounces, complaints and deliveries fed back from SES (docs/email-feedback.md): a configuration
   * set event destination on the default event bus → a rule → the feedback queue → the feedback
   * function, which records each email route's outcome and puts hard-bounced and complaining
   * addresses on Herald's suppression list. Off, Herald sends without a configuration set of its
   * own and learns nothing after the send. @default true when any type emails
   */
  readonly emailFeedback?: boolean;
  /**
   * The `source` values the bus rules accept, per kind of event. Restrict who may put which
   * source with the `events:source` condition key in the producers' IAM policies.
   * @default any source
   */
  readonly eventSources?: { readonly intents?: readonly string[]; readonly lifecycle?: readonly string[] };
  /**
   * Concurrency set aside for a function (and its ceiling), e.g. `{ accept: 20, deliver: 50 }` so
   * that nothing else in the account can starve them. Lambda refuses a reservation that leaves
   * less than 100 unreserved executions in the account. @default none
   */
  readonly reservedConcurrency?: Partial<Record<ReservableFunction, number>>;
  /** @default 5 s doubling to 15 min, ±20 %, 6 attempts */
  readonly retry?: RouteRetryProps;
  /** Largest accepted intent payload (bytes of JSON). @default 30 KiB */
  readonly maxPayloadBytes?: number;
  /** How long notifications, routes and rejections are kept; also the idempotency window. @default Duration.days(30) */
  readonly retention?: Duration;
  /** Shards of the sparse due-routes index. @default 8 */
  readonly dueShards?: number;
  /** How often the sweeper runs. @default Duration.minutes(1) */
  readonly sweepInterval?: Duration;
  /** How long past due a route may wait for its own message before the sweeper re-enqueues it. @default Duration.minutes(2) */
  readonly sweepGrace?: Duration;
  /** Routes per deliver invocation. @default 10 */
  readonly deliverBatchSize?: number;
  /**
   * Intents with at most this many push routes get their first push attempt in the accept
   * function itself (routes created already leased): no route-queue hop and no lease write, so
   * lower latency and cost. Their retries, and all email routes, go through the route queue.
   * 0 sends every route through the route queue. @default 10
   */
  readonly firstPushAttemptMaxRoutes?: number;
  /** Cap on concurrent deliver invocations (SQS event source maximum concurrency). @default no cap */
  readonly deliverMaxConcurrency?: number;
  /**
   * How long the intake's event source gathers intents before invoking accept with fewer than a
   * full batch of ten (MaximumBatchingWindowInSeconds, whole seconds, 0–300). Longer: fewer, fuller
   * invocations (cheaper per intent) at up to that much added latency when traffic is light.
   * @default Duration.seconds(0)
   */
  readonly intakeBatchingWindow?: Duration;
  /** How long a `user.deleted` is remembered; new intents for the user are refused meanwhile. @default Duration.days(30) */
  readonly deletedUserRetention?: Duration;
  /** How long an item stays in a user's in-app inbox (catalog types with `inbox: true`; docs/inbox.md). @default Duration.days(90) */
  readonly inboxRetention?: Duration;
  /**
   * WebSocket push settings, or `false` for an email-only service: no WebSocket API, authorizer,
   * connection function, connections or streams table (a catalog type on the push channel then
   * fails the synth). @default push on: tokens signed with a generated HS256 secret, 24 h freshness window
   */
  readonly push?: PushProps | false;
  /** Alarms notify this topic. @default alarms without actions */
  readonly alarmTopic?: ITopic;
  /**
   * Alarm when more routes than this are created `cancelled` by a recipient throttle (catalog
   * `throttle`) in 5 minutes: a producer is sending one recipient far more than intended.
   * @default no alarm
   */
  readonly throttledRoutesAlarmThreshold?: number;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * Level of every function's log lines. At INFO a successful route or intent is an id on its
   * invocation's summary line; DEBUG adds a line per route and intent with every correlation field
   * (about 10× the log bytes, CloudWatch Logs bills each). Failures are WARN/ERROR either way.
   * @default 'INFO'
   */
  readonly logLevel?: LogLevel;
  /**
   * Level of Lambda's own log lines (JSON log format). WARN, the default, drops the START and
   * REPORT lines every invocation writes (about 300 bytes, billed as ingested logs); INFO keeps them
   * (REPORT has each invocation's duration and memory; the Lambda metrics have them too).
   * @default 'WARN'
   */
  readonly systemLogLevel?: SystemLogLevelName;
  /**
   * X-Ray active tracing on every function (default sampling: the first request each second and 5 %
   * of the rest), with each AWS call a subsegment. Off, Lambda's PassThrough mode: a function is
   * traced only when its request carries a sampled trace header (a traced producer's), and the
   * Tracer is left out of the bundles (smaller, faster cold starts). Traces cost $5 per million
   * recorded: about $0.24 per million single-device pushes sent one by one at 50/s and $0.03 with
   * full event-source batches (bench, 2026-11-23).
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * One-click unsubscribe (RFC 8058) in every email a user may turn off: `List-Unsubscribe` and
   * `List-Unsubscribe-Post` headers naming a signed link on the app API, also available to
   * templates as `{{unsubscribe_url}}` (docs/preferences.md). Mailbox providers require it of bulk
   * senders. Off, emails carry no link, and an email-only stack has no HTTP API (which LocalStack's
   * free plan lacks).
   * @default true
   */
  readonly unsubscribeLinks?: boolean;
  /**
   * How DynamoDB bills every table's reads and writes: on demand, or provisioned capacity with auto
   * scaling (cheaper per unit for steady traffic, throttled when traffic outruns scaling; see
   * {@link TableCapacityProps}).
   * @default { mode: 'on-demand' }
   */
  readonly tableCapacity?: TableCapacityProps;
}

/**
 * Accept and deliver finish a batch in well under a second (a 1,000-recipient fan-out in a few);
 * their timeouts bound how long a hung call can hold a batch. A crashed or timed-out invocation's
 * messages come back only after the queue's visibility timeout, and its leases (2 × the timeout)
 * must expire before a retry may take over: short timeouts keep that recovery near half a minute
 * (docs/fault-model.md), where 60 s and 6 × it held an intent for six minutes.
 */
const ACCEPT_TIMEOUT = Duration.seconds(10);
const DELIVER_TIMEOUT = Duration.seconds(10);
const SWEEP_TIMEOUT = Duration.seconds(60);
const LIFECYCLE_TIMEOUT = Duration.minutes(5);
/** Receives of a lifecycle event before its DLQ (each failure comes back after a short backoff: receiveBackoff.ts). */
const LIFECYCLE_MAX_RECEIVES = LIFECYCLE_RECEIVE_BACKOFF.maxReceives;
/** One batch of ten SES events: two small writes each. */
const FEEDBACK_TIMEOUT = Duration.seconds(30);
const FEEDBACK_MAX_RECEIVES = LIFECYCLE_RECEIVE_BACKOFF.maxReceives;
/** API Gateway's own account default is 10,000 messages/s with a 5,000 burst: far above what Herald's connection function needs. */
const DEFAULT_STAGE_THROTTLE = { rateLimit: 500, burstLimit: 1000 } as const;
/** Connections per user before the oldest is closed ({@link PushProps.maxConnectionsPerUser}). */
const DEFAULT_MAX_CONNECTIONS_PER_USER = 10;
/** Connections per device session before its oldest is closed ({@link PushProps.maxConnectionsPerDeviceSession}). */
const DEFAULT_MAX_CONNECTIONS_PER_DEVICE_SESSION = 5;
/** AWS: a queue's visibility timeout should be at least 6× the consuming function's timeout. */
const VISIBILITY_FACTOR = 6;
/**
 * The intake and route queues' visibility timeout is 3 × their function's timeout (30 s), below
 * the 6 × AWS suggests (docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html) so that a
 * crashed batch is back in 30 s, not 60. The 6 × leaves room for Lambda to retry a throttled
 * invoke before the batch turns visible again; when that happens here the batch is simply received
 * again, costing one of its receives (14 on intake, whose backoff spreads them over hours) and
 * never a duplicate (every write is conditional). Traded knowingly: docs/fault-model.md.
 */
const PIPELINE_VISIBILITY_FACTOR = 3;

/**
 * Herald's notification pipeline: intake queue and event bus → accept λ → DynamoDB notifications
 * and routes → route queue → deliver λ (lease, email through SES, backoff, dead letters), with a
 * scheduled sweeper as the safety net.
 *
 * @example
 * new NotificationService(stack, 'Herald', {
 *   emailFrom: 'notifications@example.com',
 *   catalog: {
 *     welcome: { channels: ['email'], email: { subject: 'Welcome, {{name}}', text: 'Hello {{name}}!' } },
 *   },
 *   push: false, // email only: no WebSocket API, authorizer, connections or streams table
 * });
 */
export class NotificationService extends Construct {
  public readonly table: Table;
  public readonly intakeQueue: Queue;
  public readonly intakeDeadLetterQueue: Queue;
  public readonly routeQueue: Queue;
  public readonly routeDeadLetterQueue: Queue;
  public readonly bus: EventBus;
  public readonly acceptFunction: HeraldFunction;
  public readonly deliverFunction: HeraldFunction;
  public readonly sweeperFunction: HeraldFunction;
  /** The WebSocket side; undefined when the service is email-only (`push: false`). */
  public readonly push: PushGateway | undefined;
  /** The HTTP API for apps (preferences), with push: it takes the WebSocket's access tokens. */
  public readonly appApi: AppApi | undefined;
  public readonly lifecycleFunction: HeraldFunction;
  /** Lifecycle events from the bus, consumed by the lifecycle function. */
  public readonly lifecycleQueue: Queue;
  /** Lifecycle events whose handling failed every receive. */
  public readonly lifecycleDeadLetterQueue: Queue;
  /** SES feedback events (bounces, complaints, deliveries) waiting for the feedback function; undefined without email feedback. */
  public readonly feedbackQueue: Queue | undefined;
  /** SES feedback events whose handling failed every retry. */
  public readonly feedbackDeadLetterQueue: Queue | undefined;
  public readonly feedbackFunction: HeraldFunction | undefined;
  /** The configuration set every email is sent with (its name), when Herald sends with one. */
  public readonly emailConfigurationSetName: string | undefined;
  /** Events the bus could not deliver to a target (EventBridge failure records; redriven by putting them on the bus again). */
  public readonly busDeadLetterQueue: Queue;
  public readonly monitoring: Monitoring;
  public readonly retryPolicy: RetryPolicy;

  public constructor(scope: Construct, id: string, props: NotificationServiceProps) {
    super(scope, id);
    const catalog = validateCatalog(props.catalog);
    this.retryPolicy = validateRetryPolicy({
      minMs: props.retry?.minBackoff?.toMilliseconds() ?? DEFAULT_RETRY_POLICY.minMs,
      maxMs: props.retry?.maxBackoff?.toMilliseconds() ?? DEFAULT_RETRY_POLICY.maxMs,
      jitter: props.retry?.jitter ?? DEFAULT_RETRY_POLICY.jitter,
      maxAttempts: props.retry?.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts,
    });
    const validated = validateProps(props, catalog);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const capacity = validateTableCapacity(props.tableCapacity);

    this.table = new Table(this, 'Notifications', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      ...tableBilling(capacity),
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expires_at',
      removalPolicy,
    });
    // Sparse: only open routes carry due_at (not during a first attempt in accept: see
    // RouteRecord.due_at). Both route indexes project only attributes that never change, so a route
    // update writes an index only when its key changes (DynamoDB bills every index write; an ALL
    // projection would rewrite them on every attempt).
    this.table.addGlobalSecondaryIndex({
      indexName: DUE_INDEX,
      ...indexCapacity(capacity),
      partitionKey: { name: 'due_shard', type: AttributeType.NUMBER },
      sortKey: { name: 'due_at', type: AttributeType.NUMBER },
      projectionType: ProjectionType.INCLUDE,
      nonKeyAttributes: [...ROUTE_INDEX_ATTRIBUTES],
    });
    // Sparse: dead-lettered routes carry dl_day, so operators list them by day.
    this.table.addGlobalSecondaryIndex({
      indexName: DEAD_LETTERS_INDEX,
      ...indexCapacity(capacity),
      partitionKey: { name: 'dl_day', type: AttributeType.STRING },
      sortKey: { name: 'dead_lettered_at', type: AttributeType.NUMBER },
      projectionType: ProjectionType.ALL,
    });
    // Sparse: open routes with a due_at carry open_user, so the lifecycle service finds a user's
    // routes. No sort key: one on due_at would rewrite the index at every reschedule.
    this.table.addGlobalSecondaryIndex({
      indexName: OPEN_BY_USER_INDEX,
      ...indexCapacity(capacity),
      partitionKey: { name: 'open_user', type: AttributeType.STRING },
      projectionType: ProjectionType.INCLUDE,
      nonKeyAttributes: [...ROUTE_INDEX_ATTRIBUTES],
    });
    autoScaleTable(this.table, [DUE_INDEX, DEAD_LETTERS_INDEX, OPEN_BY_USER_INDEX], capacity);

    // A failed acceptance comes back after a short backoff (1 s doubling to 5 min: receiveBackoff.ts),
    // not the visibility timeout; a crash waits out the visibility timeout instead.
    const intake = new QueueWithDeadLetters(this, 'Intake', {
      // Plus the batching window: a message is in flight from its receive, and the event source
      // may hold it that long before the function even starts.
      visibilityTimeout: Duration.seconds(ACCEPT_TIMEOUT.toSeconds() * PIPELINE_VISIBILITY_FACTOR + validated.intakeBatchingWindowSeconds),
      maxReceiveCount: INTAKE_RECEIVE_BACKOFF.maxReceives,
      removalPolicy,
    });
    this.intakeQueue = intake.queue;
    this.intakeDeadLetterQueue = intake.deadLetterQueue;

    // Each attempt costs one receive, plus a few for "leased elsewhere / not due yet" bounces; the
    // route's own attempt counter dead-letters it first, so only crashing messages reach the DLQ.
    const routes = new QueueWithDeadLetters(this, 'Routes', {
      visibilityTimeout: Duration.seconds(DELIVER_TIMEOUT.toSeconds() * PIPELINE_VISIBILITY_FACTOR),
      maxReceiveCount: validated.maxAttempts + 10,
      removalPolicy,
    });
    this.routeQueue = routes.queue;
    this.routeDeadLetterQueue = routes.deadLetterQueue;

    this.bus = new EventBus(this, 'Bus');
    // Its own queue, not the intake DLQ: EventBridge puts the whole event there with its error
    // attributes and no source queue, so it cannot be moved back like a redriven intake message.
    this.busDeadLetterQueue = deadLetterQueue(this, 'BusDeadLetters', removalPolicy);
    new Rule(this, 'IntentsToIntake', {
      eventBus: this.bus,
      description: 'Forwards notification intents put on the bus into the intake queue',
      eventPattern: { detailType: ['herald.intent'], ...sourcePattern(validated.intentSources) },
      targets: [
        new SqsQueue(this.intakeQueue, {
          message: RuleTargetInput.fromEventPath('$.detail'),
          deadLetterQueue: this.busDeadLetterQueue,
          retryAttempts: 8,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });

    /** Every function's Powertools settings (the push gateway's functions too). */
    const powertoolsEnvironment: Record<string, string> = {
      POWERTOOLS_SERVICE_NAME: 'herald',
      POWERTOOLS_METRICS_NAMESPACE: 'Herald',
      ...(props.logLevel ? { POWERTOOLS_LOG_LEVEL: props.logLevel } : {}),
    };
    const common = {
      TABLE_NAME: this.table.tableName,
      ROUTE_QUEUE_URL: this.routeQueue.queueUrl,
      RETRY_POLICY: JSON.stringify(this.retryPolicy),
      MAX_PAYLOAD_BYTES: String(validated.maxPayloadBytes),
      DUE_SHARDS: String(validated.dueShards),
      RETENTION_DAYS: String(validated.retentionDays),
      ...powertoolsEnvironment,
    };
    const tracing = props.tracing ?? false;
    const logging = { system: props.systemLogLevel ?? 'WARN', debug: props.logLevel === 'DEBUG' } as const;
    const functionDefaults = {
      logRetention,
      removalPolicy,
      tracing,
      logging,
      define: { 'process.env.HERALD_CATALOG': JSON.stringify(JSON.stringify(catalog)) },
    };
    const reserved = (fn: ReservableFunction) => {
      const value = props.reservedConcurrency?.[fn];
      return value === undefined ? {} : { reservedConcurrency: value };
    };

    const pushProps = validated.push;
    this.push = pushProps === undefined ? undefined : new PushGateway(this, 'Push', {
      ...(pushProps.auth ? { auth: pushProps.auth } : {}),
      ...(pushProps.stageName ? { stageName: pushProps.stageName } : {}),
      throttle: pushProps.throttle ?? DEFAULT_STAGE_THROTTLE,
      maxConnectionsPerUser: pushProps.maxConnectionsPerUser ?? DEFAULT_MAX_CONNECTIONS_PER_USER,
      maxConnectionsPerDeviceSession: pushProps.maxConnectionsPerDeviceSession ?? DEFAULT_MAX_CONNECTIONS_PER_DEVICE_SESSION,
      clientBudget: validateClientBudget(pushProps.clientBudget, 'NotificationService: push.clientBudget'),
      reservedConcurrency: {
        ...(props.reservedConcurrency?.authorizer !== undefined ? { authorizer: props.reservedConcurrency.authorizer } : {}),
        ...(props.reservedConcurrency?.connection !== undefined ? { connection: props.reservedConcurrency.connection } : {}),
      },
      notificationsTable: this.table,
      capacity,
      removalPolicy,
      logRetention,
      tracing,
      logging,
      environment: { TABLE_NAME: this.table.tableName, ...powertoolsEnvironment },
    });
    const pushEnvironment = this.push?.pushEnvironment() ?? {};
    // Types kept in the in-app inbox (docs/inbox.md): accept adds the items, the app API serves them.
    const inboxTypes = hasInboxTypes(catalog);
    const inboxEnvironment = { INBOX_RETENTION_DAYS: String(validated.inboxRetentionDays), FRESHNESS_SECONDS: String(validated.freshnessSeconds) };

    this.acceptFunction = new HeraldFunction(this, 'Accept', {
      ...functionDefaults,
      ...reserved('accept'),
      handler: 'accept',
      timeout: ACCEPT_TIMEOUT,
      // I/O-bound (it waits on DynamoDB and SQS): half the GB-s of 512 MB. Not yet measured on AWS.
      memorySize: 256,
      environment: {
        ...common,
        INTAKE_QUEUE_URL: this.intakeQueue.queueUrl,
        INTAKE_MAX_RECEIVES: String(INTAKE_RECEIVE_BACKOFF.maxReceives),
        ACCEPT_LEASE_MS: String(ACCEPT_TIMEOUT.toMilliseconds() * 2),
        FIRST_PUSH_ATTEMPT_MAX_ROUTES: String(validated.firstPushAttemptMaxRoutes),
        // Where a notification pushed at acceptance shows it was published (answering its duplicates).
        ...(this.push ? { STREAMS_TABLE: this.push.streamsTable.tableName } : {}),
        ...(validated.firstPushAttemptMaxRoutes > 0
          ? {
              // A first push attempt's lease outlives accept's timeout, like deliver's.
              LEASE_MS: String(ACCEPT_TIMEOUT.toMilliseconds() * 2),
              FRESHNESS_SECONDS: String(validated.freshnessSeconds),
              ...pushEnvironment,
            }
          : {}),
        ...(inboxTypes ? { ...pushEnvironment, ...inboxEnvironment } : {}),
      },
    });
    this.acceptFunction.addEventSource(
      new SqsEventSource(this.intakeQueue, { batchSize: 10, maxBatchingWindow: Duration.seconds(validated.intakeBatchingWindowSeconds), reportBatchItemFailures: true }),
    );
    // DeleteItem: an intent whose recipients are all deleted has its notification taken back.
    this.table.grant(this.acceptFunction, 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem', 'dynamodb:BatchGetItem');
    this.routeQueue.grantSendMessages(this.acceptFunction);
    if (validated.firstPushAttemptMaxRoutes > 0 || inboxTypes) this.push?.grantPublish(this.acceptFunction);
    else this.push?.grantReadEvents(this.acceptFunction);
    // GetItem: an inbox's counts, read before the transaction that adds an item.
    if (inboxTypes) this.table.grant(this.acceptFunction, 'dynamodb:GetItem');
    // SendMessage: an inbox fan-out too large for one invocation goes on in a copy of its intake message.
    if (inboxTypes) this.intakeQueue.grantSendMessages(this.acceptFunction);

    const emailFeedback = validated.emailFrom !== '' && (props.emailFeedback ?? true);
    // SES publishes a message's events only through the configuration set it was sent with
    // (docs.aws.amazon.com/ses/latest/dg/event-publishing-add-event-destination.html).
    this.emailConfigurationSetName = props.emailConfigurationSet ?? (emailFeedback ? new CfnConfigurationSet(this, 'EmailConfigurationSet', {}).ref : undefined);
    const configurationSetName = this.emailConfigurationSetName;

    this.deliverFunction = new HeraldFunction(this, 'Deliver', {
      ...functionDefaults,
      ...reserved('deliver'),
      handler: 'deliver',
      timeout: DELIVER_TIMEOUT,
      memorySize: 256,
      environment: {
        ...common,
        // The lease outlives the function timeout, so a live attempt is never leased twice.
        LEASE_MS: String(DELIVER_TIMEOUT.toMilliseconds() * 2),
        EMAIL_FROM: validated.emailFrom,
        ...(configurationSetName ? { EMAIL_CONFIGURATION_SET: configurationSetName } : {}),
        FRESHNESS_SECONDS: String(validated.freshnessSeconds),
        ...pushEnvironment,
      },
    });
    this.deliverFunction.addEventSource(
      new SqsEventSource(this.routeQueue, {
        batchSize: props.deliverBatchSize ?? 10,
        reportBatchItemFailures: true,
        ...(props.deliverMaxConcurrency !== undefined ? { maxConcurrency: props.deliverMaxConcurrency } : {}),
      }),
    );
    this.table.grant(this.deliverFunction, 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem');
    this.push?.grantPublish(this.deliverFunction);
    if (validated.emailFrom !== '') {
      // SES authorizes SendEmail against every identity the message involves: the sender's address
      // or domain identity and, in the sandbox, each recipient's; with a configuration set, that
      // too (docs.aws.amazon.com/ses/latest/dg/control-user-access.html). So: any identity of this
      // account and region, but only ever From this address.
      const stack = Stack.of(this);
      this.deliverFunction.addToRolePolicy(
        new PolicyStatement({
          actions: ['ses:SendEmail'],
          resources: [
            stack.formatArn({ service: 'ses', resource: 'identity', resourceName: '*' }),
            ...(configurationSetName ? [stack.formatArn({ service: 'ses', resource: 'configuration-set', resourceName: configurationSetName })] : []),
          ],
          conditions: { StringEquals: { 'ses:FromAddress': validated.emailFrom } },
        }),
      );
      this.deliverFunction.acknowledge({
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*]',
        reason: 'SES checks every identity a message involves (sandbox recipients among them, unknown at deploy time); the ses:FromAddress condition pins the sender.',
      });
    }

    this.sweeperFunction = new HeraldFunction(this, 'Sweeper', {
      ...functionDefaults,
      ...reserved('sweeper'),
      handler: 'sweeper',
      timeout: SWEEP_TIMEOUT,
      memorySize: 256,
      environment: {
        ...common,
        SWEEP_GRACE_MS: String(validated.sweepGraceMs),
        SWEEP_REQUEUE_BACKOFF_MS: String(Math.max(validated.sweepGraceMs, 300_000)),
      },
    });
    this.table.grant(this.sweeperFunction, 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem');
    this.routeQueue.grantSendMessages(this.sweeperFunction);
    const sweepInterval = props.sweepInterval ?? Duration.minutes(1);
    new Rule(this, 'SweepSchedule', {
      description: 'Runs the Herald sweeper: re-enqueues stranded due routes',
      schedule: Schedule.rate(sweepInterval),
      // EventBridge invokes asynchronously: these retries cover only failures to hand the event to Lambda.
      targets: [new LambdaFunction(this.sweeperFunction, { retryAttempts: 2, maxEventAge: sweepInterval })],
    });
    // A failed sweep is not retried by Lambda (its async default is 2 retries, 1 and 2 minutes
    // apart): the next scheduled run does the same work.
    this.sweeperFunction.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: sweepInterval });

    // Lifecycle events take the intake's shape (bus → queue → event source mapping with partial
    // batch responses → DLQ), not a Lambda target: EventBridge invokes a Lambda target
    // asynchronously, so a function error would be Lambda's to retry twice and then drop
    // (docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
    const lifecycle = new QueueWithDeadLetters(this, 'LifecycleQueue', {
      visibilityTimeout: Duration.seconds(LIFECYCLE_TIMEOUT.toSeconds() * VISIBILITY_FACTOR),
      maxReceiveCount: LIFECYCLE_MAX_RECEIVES,
      removalPolicy,
    });
    this.lifecycleQueue = lifecycle.queue;
    this.lifecycleDeadLetterQueue = lifecycle.deadLetterQueue;
    this.lifecycleFunction = new HeraldFunction(this, 'Lifecycle', {
      ...functionDefaults,
      ...reserved('lifecycle'),
      handler: 'lifecycle',
      timeout: LIFECYCLE_TIMEOUT,
      memorySize: 512,
      environment: {
        ...common,
        LIFECYCLE_QUEUE_URL: this.lifecycleQueue.queueUrl,
        LIFECYCLE_MAX_RECEIVES: String(LIFECYCLE_MAX_RECEIVES),
        ...pushEnvironment,
        DELETED_USER_RETENTION_DAYS: String((props.deletedUserRetention ?? Duration.days(30)).toDays()),
      },
    });
    this.table.grant(this.lifecycleFunction, 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query');
    // BatchWriteItem: a deleted user's inbox is removed.
    if (inboxTypes) this.table.grant(this.lifecycleFunction, 'dynamodb:BatchWriteItem');
    this.push?.grantPurge(this.lifecycleFunction);
    // The event source's grant includes sqs:ChangeMessageVisibility: a failed event comes back after a short backoff.
    this.lifecycleFunction.addEventSource(new SqsEventSource(this.lifecycleQueue, { batchSize: 10, reportBatchItemFailures: true }));
    new Rule(this, 'LifecycleEvents', {
      eventBus: this.bus,
      description: 'User lifecycle and session events (user.deleted, user.blocked, session.revoked) to the lifecycle queue',
      eventPattern: { detailType: ['herald.lifecycle'], ...sourcePattern(validated.lifecycleSources) },
      targets: [new SqsQueue(this.lifecycleQueue, { deadLetterQueue: this.busDeadLetterQueue, retryAttempts: 8, maxEventAge: Duration.hours(24) })],
    });

    if (emailFeedback && configurationSetName) {
      // SES → the default bus (the only one an SES event destination may name) → a rule that takes
      // only this configuration set's events → the feedback queue: the lifecycle path's shape, so a
      // failed event is retried with backoff and ends in a DLQ, never dropped by an async invoke.
      new CfnConfigurationSetEventDestination(this, 'EmailFeedbackDestination', {
        configurationSetName,
        eventDestination: {
          name: 'herald-feedback',
          enabled: true,
          matchingEventTypes: [...FEEDBACK_EVENT_TYPES],
          eventBridgeDestination: { eventBusArn: Stack.of(this).formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' }) },
        },
      });
      const feedback = new QueueWithDeadLetters(this, 'FeedbackQueue', {
        visibilityTimeout: Duration.seconds(FEEDBACK_TIMEOUT.toSeconds() * VISIBILITY_FACTOR),
        maxReceiveCount: FEEDBACK_MAX_RECEIVES,
        removalPolicy,
      });
      this.feedbackQueue = feedback.queue;
      this.feedbackDeadLetterQueue = feedback.deadLetterQueue;
      this.feedbackFunction = new HeraldFunction(this, 'Feedback', {
        ...functionDefaults,
        handler: 'feedback',
        timeout: FEEDBACK_TIMEOUT,
        memorySize: 256,
        environment: {
          TABLE_NAME: this.table.tableName,
          RETENTION_DAYS: String(validated.retentionDays),
          FEEDBACK_QUEUE_URL: this.feedbackQueue.queueUrl,
          FEEDBACK_MAX_RECEIVES: String(FEEDBACK_MAX_RECEIVES),
          ...powertoolsEnvironment,
        },
      });
      // UpdateItem: a route's outcome; PutItem: a suppression entry.
      this.table.grant(this.feedbackFunction, 'dynamodb:UpdateItem', 'dynamodb:PutItem');
      this.feedbackFunction.addEventSource(new SqsEventSource(this.feedbackQueue, { batchSize: 10, reportBatchItemFailures: true }));
      new Rule(this, 'EmailFeedbackEvents', {
        description: 'SES bounce, complaint, delivery, reject and delay events of Herald\'s configuration set to the feedback queue',
        eventPattern: {
          source: ['aws.ses'],
          detailType: [...FEEDBACK_DETAIL_TYPES],
          detail: { mail: { tags: { 'ses:configuration-set': [configurationSetName] } } },
        },
        targets: [new SqsQueue(this.feedbackQueue, { deadLetterQueue: this.busDeadLetterQueue, retryAttempts: 8, maxEventAge: Duration.hours(24) })],
      });
    }

    const emails = validated.emailFrom !== '' && (props.unsubscribeLinks ?? true);
    this.appApi = this.push === undefined && !emails ? undefined : new AppApi(this, 'App', {
      table: this.table,
      ...(this.push ? { accessTokens: { environment: this.push.tokenEnvironment, ...(this.push.tokenSecret ? { secret: this.push.tokenSecret } : {}) } } : {}),
      unsubscribe: emails,
      ...(this.push && inboxTypes
        ? { inbox: { environment: { ...pushEnvironment, ...inboxEnvironment }, grantPublish: (fn: HeraldFunction) => this.push!.grantPublish(fn) } }
        : {}),
      environment: { TABLE_NAME: this.table.tableName, ...powertoolsEnvironment },
      functionDefaults,
      removalPolicy,
    });
    if (this.appApi?.unsubscribeSecret) {
      // Each email a user may turn off carries its one-click unsubscribe link, signed here.
      this.deliverFunction.addEnvironment('UNSUBSCRIBE_URL', `${this.appApi.url}/v1/unsubscribe`);
      this.deliverFunction.addEnvironment('UNSUBSCRIBE_SECRET_ARN', this.appApi.unsubscribeSecret.secretArn);
      this.appApi.unsubscribeSecret.grantRead(this.deliverFunction);
    }

    const pushFunctions = [...(this.push ? [this.push.authorizerFunction, this.push.connectionFunction] : []), ...(this.appApi ? [this.appApi.apiFunction] : [])];
    const functions = [this.acceptFunction, this.lifecycleFunction, this.deliverFunction, this.sweeperFunction, ...pushFunctions, ...(this.feedbackFunction ? [this.feedbackFunction] : [])];
    for (const fn of functions) {
      // Active and PassThrough tracing both write segments (PassThrough: for sampled upstream requests).
      fn.acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray PutTraceSegments/PutTelemetryRecords do not support resource-level permissions.',
      });
    }
    for (const fn of [this.acceptFunction, this.deliverFunction, this.sweeperFunction, this.lifecycleFunction, ...(this.feedbackFunction ? [this.feedbackFunction] : [])]) {
      fn.acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.table.node.defaultChild as never)}.Arn>/index/*]`,
        reason: 'Access to the table\'s own indexes (the sparse due-routes and open-routes-by-user indexes); scoped to this table.',
      });
    }

    this.monitoring = new Monitoring(this, 'Monitoring', {
      intakeQueue: this.intakeQueue,
      routeQueue: this.routeQueue,
      deadLetterQueues: {
        Intake: this.intakeDeadLetterQueue,
        Route: this.routeDeadLetterQueue,
        Lifecycle: this.lifecycleDeadLetterQueue,
        Bus: this.busDeadLetterQueue,
        ...(this.feedbackDeadLetterQueue ? { Feedback: this.feedbackDeadLetterQueue } : {}),
      },
      functions: {
        Accept: this.acceptFunction,
        Deliver: this.deliverFunction,
        Sweeper: this.sweeperFunction,
        Lifecycle: this.lifecycleFunction,
        ...(this.feedbackFunction ? { Feedback: this.feedbackFunction } : {}),
        ...(this.push ? { Authorizer: this.push.authorizerFunction, Connection: this.push.connectionFunction } : {}),
      },
      tables: { Notifications: this.table, ...(this.push ? { Connections: this.push.connectionsTable, Streams: this.push.streamsTable } : {}) },
      push: this.push !== undefined,
      // Alarms at SES's review thresholds whenever Herald emails (docs/operations.md).
      email: validated.emailFrom !== '',
      ...(props.alarmTopic ? { alarmTopic: props.alarmTopic } : {}),
      ...(props.throttledRoutesAlarmThreshold !== undefined ? { throttledRoutesThreshold: props.throttledRoutesAlarmThreshold } : {}),
    });

    const output = (name: string, value: string, description: string) => new CfnOutput(this, name, { value, description });
    output('IntakeQueueUrl', this.intakeQueue.queueUrl, 'Send notification intents here');
    output('IntakeDeadLetterQueueUrl', this.intakeDeadLetterQueue.queueUrl, 'Intake messages that could not be processed');
    output('RouteQueueUrl', this.routeQueue.queueUrl, 'One message per route to deliver');
    output('RouteDeadLetterQueueUrl', this.routeDeadLetterQueue.queueUrl, 'Route messages that crashed the deliver function');
    output('EventBusName', this.bus.eventBusName, 'Put intents here with detail-type "herald.intent"');
    output('TableName', this.table.tableName, 'Notifications, routes and rejections');
    output('LifecycleQueueUrl', this.lifecycleQueue.queueUrl, 'Lifecycle events from the bus, waiting for the lifecycle function');
    output('LifecycleDeadLetterQueueUrl', this.lifecycleDeadLetterQueue.queueUrl, 'Lifecycle events whose handling failed after every retry');
    output('BusDeadLetterQueueUrl', this.busDeadLetterQueue.queueUrl, 'Bus events EventBridge could not deliver to the intake or lifecycle queue');
    if (validated.emailFrom !== '') output('EmailFrom', validated.emailFrom, 'Sender address of every email (an SES identity, or in a verified domain)');
    if (this.feedbackQueue) output('FeedbackQueueUrl', this.feedbackQueue.queueUrl, 'SES bounce, complaint and delivery events waiting for the feedback function');
    if (this.feedbackDeadLetterQueue) output('FeedbackDeadLetterQueueUrl', this.feedbackDeadLetterQueue.queueUrl, 'SES feedback events whose handling failed after every retry');
    if (inboxTypes) output('InboxRetentionDays', String(validated.inboxRetentionDays), 'Days an item stays in a user\'s in-app inbox (herald inbox reads with it)');
    if (configurationSetName) output('EmailConfigurationSetName', configurationSetName, 'The SES configuration set every email is sent with');
    if (this.appApi) output('HttpApiUrl', this.appApi.url, 'The app API: /v1/preferences and, with inbox types, /v1/inbox (Authorization: Bearer <the WebSocket token>), /v1/unsubscribe (the links in emails); docs/openapi.yaml');
    output('VerifyTypes', JSON.stringify(verifyTypes(catalog)), 'Notification types `herald verify` sends (one per channel) and the template fields an email needs');
    if (this.push) {
      output('WebSocketUrl', this.push.url, 'Clients connect here with ?token=<JWT>');
      output('ConnectionsTableName', this.push.connectionsTable.tableName, 'Live WebSocket connections by user');
      output('StreamsTableName', this.push.streamsTable.tableName, 'Per-user event buffer');

      if (this.push.tokenSecret) output('TokenSecretArn', this.push.tokenSecret.secretArn, 'HS256 key for connection tokens');
    }
  }
}

interface ValidatedProps {
  readonly emailFrom: string;
  readonly maxPayloadBytes: number;
  readonly dueShards: number;
  readonly retentionDays: number;
  readonly sweepGraceMs: number;
  readonly maxAttempts: number;
  readonly freshnessSeconds: number;
  readonly inboxRetentionDays: number;
  readonly firstPushAttemptMaxRoutes: number;
  readonly intakeBatchingWindowSeconds: number;
  /** The push settings; undefined when the service is email-only (`push: false`). */
  readonly push: PushProps | undefined;
  readonly intentSources: readonly string[] | undefined;
  readonly lifecycleSources: readonly string[] | undefined;
}

/** One catalog type per channel for `herald verify`, and the fields an email of that type needs. */
function verifyTypes(catalog: Catalog): { push?: string; email?: { type: string; fields: string[] } } {
  const entries = Object.entries(catalog);
  // Push only, where there is one: verify sends it without an email address or template fields.
  const push = (entries.find(([, entry]) => entry.channels.length === 1 && entry.channels[0] === 'push') ?? entries.find(([, entry]) => entry.channels.includes('push')))?.[0];
  const emails = entries
    .filter(([, entry]) => entry.channels.includes('email') && entry.email !== undefined)
    .map(([type, entry]) => ({ type, fields: [...new Set([entry.email!.subject, entry.email!.text, entry.email!.html ?? ''].flatMap((t) => templateFields(t)))] }))
    // Email only, and the fewest fields: verify sends it and nothing else.
    .sort((a, b) => Number(catalog[a.type]!.channels.length > 1) - Number(catalog[b.type]!.channels.length > 1) || a.fields.length - b.fields.length);
  return { ...(push ? { push } : {}), ...(emails[0] ? { email: emails[0] } : {}) };
}

/** An event pattern's `source` clause; none when any source is accepted. */
function sourcePattern(sources: readonly string[] | undefined): { source?: string[] } {
  return sources === undefined ? {} : { source: [...sources] };
}

function validateSources(name: string, sources: readonly string[] | undefined): readonly string[] | undefined {
  if (sources === undefined) return undefined;
  if (!Array.isArray(sources) || sources.length === 0 || sources.some((s) => typeof s !== 'string' || s === '' || s.length > 256)) {
    throw new Error(`NotificationService: eventSources.${name} must be a non-empty list of source names (1–256 characters each)`);
  }
  return sources;
}

/** Fails synth with a message naming the bad prop. */
function validateProps(props: NotificationServiceProps, catalog: Catalog): ValidatedProps {
  const emails = Object.entries(catalog).filter(([, entry]) => entry.channels.includes('email'));
  const emailFrom = props.emailFrom ?? '';
  if (emails.length > 0 && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(emailFrom)) {
    throw new Error(`NotificationService: emailFrom must be an email address (catalog type "${emails[0]![0]}" sends email)`);
  }
  const maxPayloadBytes = props.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 1024 || maxPayloadBytes > MAX_PAYLOAD_BYTES_CEILING) {
    throw new Error(`NotificationService: maxPayloadBytes must be an integer from 1024 to ${MAX_PAYLOAD_BYTES_CEILING}`);
  }
  const dueShards = props.dueShards ?? 8;
  if (!Number.isInteger(dueShards) || dueShards < 1 || dueShards > 64) {
    throw new Error('NotificationService: dueShards must be an integer from 1 to 64');
  }
  const maxConnections = props.push === false ? undefined : props.push?.maxConnectionsPerUser;
  if (maxConnections !== undefined && !(Number.isInteger(maxConnections) && maxConnections >= 1 && maxConnections <= 1000)) {
    throw new Error('NotificationService: push.maxConnectionsPerUser must be an integer from 1 to 1000');
  }
  const maxPerSession = props.push === false ? undefined : props.push?.maxConnectionsPerDeviceSession;
  if (maxPerSession !== undefined && !(Number.isInteger(maxPerSession) && maxPerSession >= 1 && maxPerSession <= 1000)) {
    throw new Error('NotificationService: push.maxConnectionsPerDeviceSession must be an integer from 1 to 1000');
  }
  const retentionDays = (props.retention ?? Duration.days(30)).toDays();
  if (retentionDays < 1) throw new Error('NotificationService: retention must be at least one day');
  const sweepGraceMs = (props.sweepGrace ?? Duration.minutes(2)).toMilliseconds();
  if (sweepGraceMs < DELIVER_TIMEOUT.toMilliseconds()) {
    throw new Error(`NotificationService: sweepGrace must be at least the deliver function timeout (${DELIVER_TIMEOUT.toSeconds()} s)`);
  }
  const maxAttempts = Math.max(props.retry?.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts, ...Object.values(catalog).map((e) => e.maxAttempts ?? 0));
  if (maxAttempts > MAX_ATTEMPTS_CEILING) throw new Error(`NotificationService: retry.maxAttempts must be at most ${MAX_ATTEMPTS_CEILING}`);
  const push = props.push === false ? undefined : (props.push ?? {});
  if (push === undefined) {
    const pushing = Object.entries(catalog).filter(([, entry]) => entry.channels.includes('push')).map(([type]) => `"${type}"`);
    if (pushing.length > 0) throw new Error(`NotificationService: push is off (push: false), but catalog types ${pushing.join(', ')} use the push channel`);
  }
  const freshnessSeconds = (push?.freshnessWindow ?? Duration.hours(24)).toSeconds();
  const inboxed = Object.entries(catalog).filter(([, entry]) => entry.inbox).map(([type]) => `"${type}"`);
  if (push === undefined && inboxed.length > 0) {
    throw new Error(`NotificationService: push is off (push: false), but catalog types ${inboxed.join(', ')} go to the inbox, which needs push's tokens and streams`);
  }
  const inboxRetentionDays = (props.inboxRetention ?? Duration.days(DEFAULT_INBOX_RETENTION_DAYS)).toDays();
  if (!(Number.isInteger(inboxRetentionDays) && inboxRetentionDays >= 1 && inboxRetentionDays <= 3650)) throw new Error('NotificationService: inboxRetention must be whole days, from 1 to 3650');
  if (freshnessSeconds < 60 || freshnessSeconds > 14 * 86_400) {
    throw new Error('NotificationService: push.freshnessWindow must be from 1 minute to 14 days');
  }
  // Both come from a JSON config file too, where nothing checks their type: "false" is not false.
  if (props.tracing !== undefined && typeof props.tracing !== 'boolean') throw new Error('NotificationService: tracing must be true or false');
  if (props.unsubscribeLinks !== undefined && typeof props.unsubscribeLinks !== 'boolean') throw new Error('NotificationService: unsubscribeLinks must be true or false');
  if (props.emailFeedback !== undefined && typeof props.emailFeedback !== 'boolean') throw new Error('NotificationService: emailFeedback must be true or false');
  if (props.systemLogLevel !== undefined && !(SYSTEM_LOG_LEVELS as readonly string[]).includes(props.systemLogLevel)) {
    throw new Error(`NotificationService: systemLogLevel must be one of ${SYSTEM_LOG_LEVELS.join(', ')}`);
  }
  if (props.logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(props.logLevel)) {
    throw new Error(`NotificationService: logLevel must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const firstPushAttemptMaxRoutes = props.firstPushAttemptMaxRoutes ?? (push === undefined ? 0 : 10);
  if (!Number.isInteger(firstPushAttemptMaxRoutes) || firstPushAttemptMaxRoutes < 0 || firstPushAttemptMaxRoutes > 100) {
    throw new Error('NotificationService: firstPushAttemptMaxRoutes must be an integer from 0 to 100');
  }
  if (push === undefined && firstPushAttemptMaxRoutes > 0) throw new Error('NotificationService: firstPushAttemptMaxRoutes needs push; with push: false leave it out');
  const intakeBatchingWindowSeconds = (props.intakeBatchingWindow?.toMilliseconds() ?? 0) / 1000;
  // Lambda's range for an SQS event source, whole seconds (docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html).
  if (!Number.isInteger(intakeBatchingWindowSeconds) || intakeBatchingWindowSeconds < 0 || intakeBatchingWindowSeconds > 300) {
    throw new Error('NotificationService: intakeBatchingWindow must be whole seconds from 0 to 300');
  }
  const maxConcurrency = props.deliverMaxConcurrency;
  if (maxConcurrency !== undefined && (!Number.isInteger(maxConcurrency) || maxConcurrency < 2 || maxConcurrency > 1000)) {
    // The SQS event source's own limits (Lambda's ScalingConfig.MaximumConcurrency).
    throw new Error('NotificationService: deliverMaxConcurrency must be an integer from 2 to 1000');
  }
  for (const [fn, value] of Object.entries(props.reservedConcurrency ?? {})) {
    if (!(RESERVABLE_FUNCTIONS as readonly string[]).includes(fn)) throw new Error(`NotificationService: reservedConcurrency.${fn} is not a Herald function (${RESERVABLE_FUNCTIONS.join(', ')})`);
    if (!Number.isInteger(value) || value < 1 || value > 10_000) throw new Error(`NotificationService: reservedConcurrency.${fn} must be an integer from 1 to 10000`);
  }
  if (props.reservedConcurrency?.deliver !== undefined && maxConcurrency !== undefined && maxConcurrency > props.reservedConcurrency.deliver) {
    throw new Error('NotificationService: deliverMaxConcurrency must not exceed reservedConcurrency.deliver (the event source would be throttled)');
  }
  const throttle = push?.throttle;
  if (throttle !== undefined) {
    const { rateLimit, burstLimit } = throttle;
    if (!(typeof rateLimit === 'number' && rateLimit > 0 && rateLimit <= 10_000) || !(Number.isInteger(burstLimit) && burstLimit >= 1 && burstLimit <= 5_000)) {
      throw new Error('NotificationService: push.throttle needs rateLimit from 0 to 10000 messages/s and burstLimit an integer from 1 to 5000 (API Gateway account quotas)');
    }
  }
  if (props.emailConfigurationSet !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(props.emailConfigurationSet)) {
    throw new Error('NotificationService: emailConfigurationSet must be an SES configuration set name (letters, digits, _ and -, at most 64)');
  }
  return {
    emailFrom, maxPayloadBytes, dueShards, retentionDays, sweepGraceMs, maxAttempts, freshnessSeconds, inboxRetentionDays, firstPushAttemptMaxRoutes, push, intakeBatchingWindowSeconds,
    intentSources: validateSources('intents', props.eventSources?.intents),
    lifecycleSources: validateSources('lifecycle', props.eventSources?.lifecycle),
  };
}
