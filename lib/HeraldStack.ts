import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { Catalog } from '../functions/core/catalog/catalogTypes.ts';
import { NotificationService, type LogLevel } from './NotificationService.ts';
import type { TableCapacityProps } from './parts/TableCapacity.ts';

/** The deployable configuration file (config/herald.json), read by bin/herald.ts. */
export interface HeraldConfigFile {
  readonly emailFrom?: string;
  readonly catalog: Catalog;
  readonly retry?: { minBackoffSeconds?: number; maxBackoffSeconds?: number; jitter?: number; maxAttempts?: number };
  readonly maxPayloadBytes?: number;
  readonly retentionDays?: number;
  readonly sweepIntervalMinutes?: number;
  /** How long push events stay replayable. Default 1440 (24 h). */
  readonly pushFreshnessMinutes?: number;
  /** Intents with at most this many push routes get their first push attempt in accept. Default 10; 0 = never. */
  readonly firstPushAttemptMaxRoutes?: number;
  /** Verify connection tokens with this JWKS instead of the generated HS256 secret. */
  readonly jwksUrl?: string;
  /** "destroy" for throw-away dev stacks; default "retain". */
  readonly removalPolicy?: 'retain' | 'destroy';
  /** Level of every function's log lines (see NotificationServiceProps.logLevel). */
  readonly logLevel?: LogLevel;
  /** X-Ray active tracing on every function (see NotificationServiceProps.tracing). Default true. */
  readonly tracing?: boolean;
  /** On-demand (default) or provisioned capacity with auto scaling (see NotificationServiceProps.tableCapacity). */
  readonly tableCapacity?: TableCapacityProps;
}

export interface HeraldStackProps extends StackProps {
  readonly config: HeraldConfigFile;
}

/** The stand-alone Herald stack: one NotificationService configured from a file. */
export class HeraldStack extends Stack {
  public readonly service: NotificationService;

  public constructor(scope: Construct, id: string, props: HeraldStackProps) {
    super(scope, id, props);
    const { config } = props;
    const seconds = (value: number | undefined) => (value === undefined ? undefined : Duration.seconds(value));
    const minBackoff = seconds(config.retry?.minBackoffSeconds);
    const maxBackoff = seconds(config.retry?.maxBackoffSeconds);
    this.service = new NotificationService(this, 'Herald', {
      catalog: config.catalog,
      ...(config.emailFrom !== undefined ? { emailFrom: config.emailFrom } : {}),
      retry: {
        ...(minBackoff ? { minBackoff } : {}),
        ...(maxBackoff ? { maxBackoff } : {}),
        ...(config.retry?.jitter !== undefined ? { jitter: config.retry.jitter } : {}),
        ...(config.retry?.maxAttempts !== undefined ? { maxAttempts: config.retry.maxAttempts } : {}),
      },
      ...(config.maxPayloadBytes !== undefined ? { maxPayloadBytes: config.maxPayloadBytes } : {}),
      ...(config.retentionDays !== undefined ? { retention: Duration.days(config.retentionDays) } : {}),
      ...(config.sweepIntervalMinutes !== undefined ? { sweepInterval: Duration.minutes(config.sweepIntervalMinutes) } : {}),
      ...(config.firstPushAttemptMaxRoutes !== undefined ? { firstPushAttemptMaxRoutes: config.firstPushAttemptMaxRoutes } : {}),
      ...(config.logLevel !== undefined ? { logLevel: config.logLevel } : {}),
      ...(config.tracing !== undefined ? { tracing: config.tracing } : {}),
      ...(config.tableCapacity !== undefined ? { tableCapacity: config.tableCapacity } : {}),
      push: {
        ...(config.pushFreshnessMinutes !== undefined ? { freshnessWindow: Duration.minutes(config.pushFreshnessMinutes) } : {}),
        ...(config.jwksUrl !== undefined ? { auth: { jwksUrl: config.jwksUrl } } : {}),
      },
      removalPolicy: config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
  }
}
