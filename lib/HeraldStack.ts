import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { checkConfigFile, type HeraldConfigFile } from './HeraldConfigFile.ts';
import { NotificationService } from './NotificationService.ts';

export interface HeraldStackProps extends StackProps {
  readonly config: HeraldConfigFile;
}

/** The stand-alone Herald stack: one NotificationService configured from a file. */
export class HeraldStack extends Stack {
  public readonly service: NotificationService;

  public constructor(scope: Construct, id: string, props: HeraldStackProps) {
    super(scope, id, props);
    const { config } = props;
    checkConfigFile(config);
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
      ...(config.systemLogLevel !== undefined ? { systemLogLevel: config.systemLogLevel } : {}),
      ...(config.tracing !== undefined ? { tracing: config.tracing } : {}),
      ...(config.unsubscribeLinks !== undefined ? { unsubscribeLinks: config.unsubscribeLinks } : {}),
      ...(config.emailFeedback !== undefined ? { emailFeedback: config.emailFeedback } : {}),
      ...(config.tableCapacity !== undefined ? { tableCapacity: config.tableCapacity } : {}),
      ...(config.deliverMaxConcurrency !== undefined ? { deliverMaxConcurrency: config.deliverMaxConcurrency } : {}),
      ...(config.intakeBatchingWindowSeconds !== undefined ? { intakeBatchingWindow: Duration.seconds(config.intakeBatchingWindowSeconds) } : {}),
      ...(config.deletedUserRetentionDays !== undefined ? { deletedUserRetention: Duration.days(config.deletedUserRetentionDays) } : {}),
      ...(config.inboxRetentionDays !== undefined ? { inboxRetention: Duration.days(config.inboxRetentionDays) } : {}),
      ...(config.logRetentionDays !== undefined ? { logRetention: config.logRetentionDays as RetentionDays } : {}),
      ...(config.emailConfigurationSet !== undefined ? { emailConfigurationSet: config.emailConfigurationSet } : {}),
      ...(config.intentSources !== undefined || config.lifecycleSources !== undefined
        ? {
            eventSources: {
              ...(config.intentSources !== undefined ? { intents: config.intentSources } : {}),
              ...(config.lifecycleSources !== undefined ? { lifecycle: config.lifecycleSources } : {}),
            },
          }
        : {}),
      ...(config.reservedConcurrency !== undefined ? { reservedConcurrency: config.reservedConcurrency } : {}),
      ...(config.alarmTopicArn !== undefined ? { alarmTopic: Topic.fromTopicArn(this, 'AlarmTopic', config.alarmTopicArn) } : {}),
      ...(config.throttledRoutesAlarmThreshold !== undefined ? { throttledRoutesAlarmThreshold: config.throttledRoutesAlarmThreshold } : {}),
      push: config.push === false ? false : {
        ...(config.pushFreshnessMinutes !== undefined ? { freshnessWindow: Duration.minutes(config.pushFreshnessMinutes) } : {}),
        ...(config.pushThrottle !== undefined ? { throttle: config.pushThrottle } : {}),
        ...(config.maxConnectionsPerUser !== undefined ? { maxConnectionsPerUser: config.maxConnectionsPerUser } : {}),
        ...(config.maxConnectionsPerDeviceSession !== undefined ? { maxConnectionsPerDeviceSession: config.maxConnectionsPerDeviceSession } : {}),
        ...(config.clientBudget !== undefined ? { clientBudget: config.clientBudget } : {}),
        ...(config.jwksUrl !== undefined
          ? {
              auth: {
                jwksUrl: config.jwksUrl,
                ...(config.jwtIssuer !== undefined ? { issuer: config.jwtIssuer } : {}),
                ...(config.jwtAudience !== undefined ? { audience: config.jwtAudience } : {}),
              },
            }
          : {}),
      },
      removalPolicy: config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
  }
}
