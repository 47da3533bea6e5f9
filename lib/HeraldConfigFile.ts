import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Catalog } from '../functions/core/catalog/catalogTypes.ts';
import { RESERVABLE_FUNCTIONS, type LogLevel, type ReservableFunction } from './NotificationService.ts';
import type { TableCapacityProps } from './parts/TableCapacity.ts';
import type { SystemLogLevelName } from './parts/HeraldFunction.ts';
import { validateClientBudget, type ClientBudgetPolicy } from '../functions/core/push/ClientBudget.ts';

/** The deployable configuration file (config/herald.json), read by bin/herald.ts. */
export interface HeraldConfigFile {
  readonly emailFrom?: string;
  readonly catalog: Catalog;
  readonly retry?: { minBackoffSeconds?: number; maxBackoffSeconds?: number; jitter?: number; maxAttempts?: number };
  readonly maxPayloadBytes?: number;
  readonly retentionDays?: number;
  readonly sweepIntervalMinutes?: number;
  /** false: email only, no WebSocket API (see NotificationServiceProps.push). Default true. */
  readonly push?: boolean;
  /** How long push events stay replayable. Default 1440 (24 h). */
  readonly pushFreshnessMinutes?: number;
  /** Open WebSocket connections per user; a new one beyond it closes the oldest. Default 10. */
  readonly maxConnectionsPerUser?: number;
  /** Open WebSocket connections per device session of a user; a new one beyond it closes that session's oldest. Default 5. */
  readonly maxConnectionsPerDeviceSession?: number;
  /** Intents with at most this many push routes get their first push attempt in accept. Default 10; 0 = never. */
  readonly firstPushAttemptMaxRoutes?: number;
  /** Verify connection tokens with this JWKS instead of the generated HS256 secret. */
  readonly jwksUrl?: string;
  /** With jwksUrl: the `iss` connection tokens must carry. Default not checked. */
  readonly jwtIssuer?: string;
  /** With jwksUrl: the `aud` connection tokens must carry (an IdP's keys sign tokens for its other applications too). Default not checked. */
  readonly jwtAudience?: string;
  /** SNS topic (ARN) every alarm notifies. Default: alarms without actions. */
  readonly alarmTopicArn?: string;
  /** Cap on concurrent deliver invocations (SQS event source maximum concurrency, 2–1000). Default no cap. */
  readonly deliverMaxConcurrency?: number;
  /** Seconds the intake's event source gathers intents before invoking accept (0–300). Default 0. */
  readonly intakeBatchingWindowSeconds?: number;
  /** How long a `user.deleted` is remembered, refusing new intents for the user. Default 30. */
  readonly deletedUserRetentionDays?: number;
  /** How long an item stays in a user's in-app inbox, in days (catalog `inbox`). Default 90. */
  readonly inboxRetentionDays?: number;
  /** Days every function's log group keeps its lines: one of CloudWatch Logs' values (1, 3, 5, 7, 14, 30, 60, 90, …, 3653; 9999 never expires). Default 30. */
  readonly logRetentionDays?: number;
  /** "destroy" for throw-away dev stacks; default "retain". */
  readonly removalPolicy?: 'retain' | 'destroy';
  /** Level of every function's log lines (see NotificationServiceProps.logLevel). */
  readonly logLevel?: LogLevel;
  /** Level of Lambda's own log lines: WARN (default) drops every invocation's START and REPORT lines; INFO keeps them. */
  readonly systemLogLevel?: SystemLogLevelName;
  /** X-Ray active tracing on every function (see NotificationServiceProps.tracing). Default true. */
  readonly tracing?: boolean;
  /** One-click unsubscribe links in every email a user may turn off (see NotificationServiceProps.unsubscribeLinks). Default true. */
  readonly unsubscribeLinks?: boolean;
  /** Bounces, complaints and deliveries fed back from SES (see NotificationServiceProps.emailFeedback). Default true. */
  readonly emailFeedback?: boolean;
  /** On-demand (default) or provisioned capacity with auto scaling (see NotificationServiceProps.tableCapacity). */
  readonly tableCapacity?: TableCapacityProps;
  /** SES configuration set every email is sent with. Default none. */
  readonly emailConfigurationSet?: string;
  /** `source` values the intent rule accepts on the bus. Default any. */
  readonly intentSources?: string[];
  /** `source` values the lifecycle rule accepts on the bus. Default any. */
  readonly lifecycleSources?: string[];
  /** Reserved concurrency per function, e.g. { "accept": 20, "deliver": 50 }. Default none. */
  readonly reservedConcurrency?: Partial<Record<ReservableFunction, number>>;
  /** WebSocket stage limits on client messages, { "rateLimit": 500, "burstLimit": 1000 } by default. */
  readonly pushThrottle?: { rateLimit: number; burstLimit: number };
  /**
   * What one WebSocket connection may ask: { "messagesPerMinute": 60, "messageBurst": 20,
   * "resumesPerMinute": 10, "replayEventsPerMinute": 10000 } by default; give any of them.
   */
  readonly clientBudget?: Partial<ClientBudgetPolicy>;
  /** Alarm when more routes than this are throttled (catalog `throttle`) in 5 minutes. Default no alarm. */
  readonly throttledRoutesAlarmThreshold?: number;
}

// Every key of the file, so that a misspelt one ("trace", "maxAttempt") fails the synth instead of
// being ignored; typed so that a key added to the interface must be added here too.
export const CONFIG_KEYS: Readonly<Record<keyof HeraldConfigFile, true>> = {
  emailFrom: true,
  catalog: true,
  retry: true,
  maxPayloadBytes: true,
  retentionDays: true,
  sweepIntervalMinutes: true,
  push: true,
  pushFreshnessMinutes: true,
  firstPushAttemptMaxRoutes: true,
  jwksUrl: true,
  jwtIssuer: true,
  jwtAudience: true,
  alarmTopicArn: true,
  deliverMaxConcurrency: true,
  intakeBatchingWindowSeconds: true,
  deletedUserRetentionDays: true,
  inboxRetentionDays: true,
  logRetentionDays: true,
  removalPolicy: true,
  logLevel: true,
  systemLogLevel: true,
  tracing: true,
  unsubscribeLinks: true,
  emailFeedback: true,
  tableCapacity: true,
  emailConfigurationSet: true,
  intentSources: true,
  lifecycleSources: true,
  reservedConcurrency: true,
  pushThrottle: true,
  maxConnectionsPerUser: true,
  maxConnectionsPerDeviceSession: true,
  clientBudget: true,
  throttledRoutesAlarmThreshold: true,
};
const RETRY_KEYS: Record<keyof NonNullable<HeraldConfigFile['retry']>, true> = { minBackoffSeconds: true, maxBackoffSeconds: true, jitter: true, maxAttempts: true };

/**
 * Checks what the construct cannot: a JSON file's unknown keys and value types, and the settings
 * only the file has (removal policy, log retention, alarm topic ARN, JWT claims that need
 * jwksUrl). The construct checks its props' ranges itself.
 */
export function checkConfigFile(config: HeraldConfigFile): void {
  const fail = (message: string): never => {
    throw new Error(`Herald config: ${message}`);
  };
  const unknown = (value: object, known: object) => Object.keys(value).filter((key) => !Object.hasOwn(known, key));
  const extra = unknown(config, CONFIG_KEYS);
  if (extra.length > 0) fail(`unknown keys ${extra.join(', ')} (known: ${Object.keys(CONFIG_KEYS).join(', ')})`);
  const retry: Record<string, unknown> = config.retry ?? {};
  if (typeof retry !== 'object' || retry === null || Array.isArray(retry)) return fail('retry must be an object');
  const extraRetry = unknown(retry, RETRY_KEYS);
  if (extraRetry.length > 0) fail(`retry has unknown keys ${extraRetry.join(', ')} (known: ${Object.keys(RETRY_KEYS).join(', ')})`);
  // A quoted number ("60") would otherwise reach Duration's arithmetic as a string.
  const numeric: [string, unknown][] = [
    ...(['maxPayloadBytes', 'retentionDays', 'sweepIntervalMinutes', 'pushFreshnessMinutes', 'firstPushAttemptMaxRoutes', 'deliverMaxConcurrency', 'intakeBatchingWindowSeconds', 'deletedUserRetentionDays', 'inboxRetentionDays', 'logRetentionDays', 'maxConnectionsPerUser', 'maxConnectionsPerDeviceSession', 'throttledRoutesAlarmThreshold'] as const).map(
      (key): [string, unknown] => [key, config[key]],
    ),
    ...Object.entries(retry).map(([key, value]): [string, unknown] => [`retry.${key}`, value]),
  ];
  for (const [key, value] of numeric) {
    if (value !== undefined && typeof value !== 'number') fail(`${key} must be a number (got ${JSON.stringify(value)})`);
  }
  // Whole days and minutes: CDK's own message for 0 or 0.5 would not name the key.
  for (const key of ['retentionDays', 'sweepIntervalMinutes', 'deletedUserRetentionDays', 'inboxRetentionDays', 'maxConnectionsPerUser', 'maxConnectionsPerDeviceSession', 'throttledRoutesAlarmThreshold'] as const) {
    const value = config[key];
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) fail(`${key} must be a whole number, at least 1 (got ${value})`);
  }
  if (config.push !== undefined && typeof config.push !== 'boolean') fail(`push must be true or false (got ${JSON.stringify(config.push)})`);
  if (config.emailFeedback !== undefined && typeof config.emailFeedback !== 'boolean') fail(`emailFeedback must be true or false (got ${JSON.stringify(config.emailFeedback)})`);
  for (const key of ['intentSources', 'lifecycleSources'] as const) {
    const value = config[key];
    if (value !== undefined && !(Array.isArray(value) && value.every((s) => typeof s === 'string'))) fail(`${key} must be a list of strings`);
  }
  if (config.emailConfigurationSet !== undefined && typeof config.emailConfigurationSet !== 'string') fail('emailConfigurationSet must be a string');
  const reserved: unknown = config.reservedConcurrency;
  if (reserved !== undefined) {
    if (typeof reserved !== 'object' || reserved === null || Array.isArray(reserved)) fail('reservedConcurrency must be an object');
    for (const [fn, value] of Object.entries(reserved as object)) {
      if (!(RESERVABLE_FUNCTIONS as readonly string[]).includes(fn)) fail(`reservedConcurrency has unknown key ${fn} (known: ${RESERVABLE_FUNCTIONS.join(', ')})`);
      if (typeof value !== 'number') fail(`reservedConcurrency.${fn} must be a number (got ${JSON.stringify(value)})`);
    }
  }
  const throttle: unknown = config.pushThrottle;
  if (throttle !== undefined) {
    const { rateLimit, burstLimit, ...rest } = (typeof throttle === 'object' && throttle !== null ? throttle : {}) as Record<string, unknown>;
    if (typeof rateLimit !== 'number' || typeof burstLimit !== 'number' || Object.keys(rest).length > 0) {
      fail('pushThrottle must be { "rateLimit": <messages/s>, "burstLimit": <messages> }');
    }
  }
  if (config.clientBudget !== undefined) {
    try {
      validateClientBudget(config.clientBudget, 'clientBudget');
    } catch (error) {
      fail((error as Error).message);
    }
  }
  if (config.push === false) {
    const pushOnly = (['pushFreshnessMinutes', 'firstPushAttemptMaxRoutes', 'jwksUrl', 'jwtIssuer', 'jwtAudience', 'pushThrottle', 'maxConnectionsPerUser', 'maxConnectionsPerDeviceSession', 'clientBudget'] as const).filter((key) => config[key] !== undefined);
    if (pushOnly.length > 0) fail(`${pushOnly.join(', ')} configure push, which "push": false turns off; leave them out`);
  }
  if (config.removalPolicy !== undefined && config.removalPolicy !== 'retain' && config.removalPolicy !== 'destroy') {
    fail('removalPolicy must be "retain" or "destroy"');
  }
  for (const key of ['jwtIssuer', 'jwtAudience'] as const) {
    if (config[key] === undefined) continue;
    if (typeof config[key] !== 'string' || config[key] === '') fail(`${key} must be a non-empty string`);
    // Herald's own HS256 key signs only the tokens you mint with it; an IdP's keys sign for every application it serves.
    if (config.jwksUrl === undefined) fail(`${key} applies to tokens verified with jwksUrl; set jwksUrl too, or leave it out`);
  }
  // CloudWatch Logs takes only these (9999: never expire); CDK only warns about any other number, and the deploy fails.
  const retentions = Object.values(RetentionDays).filter((days): days is number => typeof days === 'number');
  if (config.logRetentionDays !== undefined && !retentions.includes(config.logRetentionDays)) {
    fail(`logRetentionDays must be one of ${retentions.join(', ')} (got ${config.logRetentionDays})`);
  }
  if (config.alarmTopicArn !== undefined && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/.test(String(config.alarmTopicArn))) {
    fail(`alarmTopicArn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>), got ${JSON.stringify(config.alarmTopicArn)}`);
  }
}
