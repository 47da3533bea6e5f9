import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  Metric,
  SingleValueWidget,
  TextWidget,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Operation, type ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface MonitoringProps {
  readonly intakeQueue: IQueue;
  readonly routeQueue: IQueue;
  /** Every dead-letter queue: any message in one is an alarm. */
  readonly deadLetterQueues: Record<string, IQueue>;
  readonly functions: Record<string, IFunction>;
  /** Tables whose throttled requests alarm when they last (by name). @default none */
  readonly tables?: Record<string, ITable>;
  /** Whether the service pushes (a dashboard row for push). @default true */
  readonly push?: boolean;
  /** Whether the service emails: alarms on the account's SES bounce and complaint rates. @default false */
  readonly email?: boolean;
  /** Where alarms notify. @default alarms without actions */
  readonly alarmTopic?: ITopic;
  /** Oldest intake or route message older than this alarms. @default 5 minutes */
  readonly maxMessageAge?: Duration;
  /** More dead-lettered routes than this in 5 minutes alarms. @default 10 */
  readonly deadLetterThreshold?: number;
  /** More routes than this throttled (catalog `throttle`) in 5 minutes alarms. @default no alarm */
  readonly throttledRoutesThreshold?: number;
  /** CloudWatch namespace of Herald's EMF metrics. @default 'Herald' */
  readonly namespace?: string;
}

/** Every operation Herald sends to its tables. */
const THROTTLE_OPERATIONS = [Operation.PUT_ITEM, Operation.UPDATE_ITEM, Operation.DELETE_ITEM, Operation.BATCH_WRITE_ITEM, Operation.GET_ITEM, Operation.BATCH_GET_ITEM, Operation.QUERY];

/** Alarms on what needs an operator (docs/operations.md says what to do) and one dashboard of the flow. */
export class Monitoring extends Construct {
  public readonly alarms: Alarm[] = [];
  public readonly dashboard: Dashboard;

  public constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const namespace = props.namespace ?? 'Herald';
    const herald = (metricName: string) =>
      new Metric({ namespace, metricName, dimensionsMap: { service: 'herald' }, statistic: 'Sum', period: Duration.minutes(5) });
    const alarm = (name: string, metric: IMetric, threshold: number, description: string, evaluationPeriods = 1, comparisonOperator = ComparisonOperator.GREATER_THAN_THRESHOLD) => {
      const created = new Alarm(this, name, {
        alarmDescription: `${description} Runbook: docs/operations.md#${name.toLowerCase()}`,
        metric,
        threshold,
        evaluationPeriods,
        comparisonOperator,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      if (props.alarmTopic) created.addAlarmAction(new SnsAction(props.alarmTopic));
      this.alarms.push(created);
      return created;
    };

    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      alarm(`${name}DeadLetters`, queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }), 0,
        `A message is waiting in the ${name} dead-letter queue.`);
    }
    const maxAge = (props.maxMessageAge ?? Duration.minutes(5)).toSeconds();
    alarm('IntakeAge', props.intakeQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }), maxAge,
      'Intents are waiting in the intake queue longer than expected.');
    alarm('RouteAge', props.routeQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }), maxAge,
      'Delivery messages are waiting in the route queue longer than expected.');
    alarm('DeadLetterRate', herald('RouteDeadLettersTotal'), props.deadLetterThreshold ?? 10, 'Routes are being dead-lettered.');
    if (props.throttledRoutesThreshold !== undefined) {
      alarm('ThrottledRoutes', herald('RoutesThrottledTotal'), props.throttledRoutesThreshold, 'Recipient throttles are cancelling many routes.');
    }
    if (props.email) {
      // SES's own rates, over its representative volume of the account's mail, as SES reviews them:
      // a decimal 0–1, under review from 5 % bounces or 0.1 % complaints
      // (docs.aws.amazon.com/ses/latest/dg/reputationdashboard-cloudwatch-alarm.html). Account-wide: every sender in the account and region counts.
      const reputation = (metricName: string) => new Metric({ namespace: 'AWS/SES', metricName, statistic: 'Maximum', period: Duration.hours(1) });
      alarm('EmailBounceRate', reputation('Reputation.BounceRate'), 0.05, 'The account\'s SES bounce rate reached 5 %: SES puts an account under review there.', 1,
        ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD);
      alarm('EmailComplaintRate', reputation('Reputation.ComplaintRate'), 0.001, 'The account\'s SES complaint rate reached 0.1 %: SES puts an account under review there.', 1,
        ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD);
    }
    for (const [name, fn] of Object.entries(props.functions)) {
      alarm(`${name}Errors`, fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }), 0, `The ${name} function is failing.`);
      alarm(`${name}Throttles`, fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }), 0, `The ${name} function is throttled.`);
    }
    // Throttled requests are retried (they cost time, not data), and a few while provisioned capacity
    // scales up are expected: only throttling in three 5-minute periods in a row needs an operator
    // (a maximum too low, an index short of capacity, a hot partition).
    for (const [name, table] of Object.entries(props.tables ?? {})) {
      const throttled = table.metricThrottledRequestsForOperations({ operations: THROTTLE_OPERATIONS, period: Duration.minutes(5) });
      alarm(`${name}TableThrottles`, throttled, 0, `Requests to the ${name} table have been throttled for 15 minutes.`, 3);
    }

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: '# Herald\nIntents → accepted → routes → published / dead letters. Alarms and what to do: `docs/operations.md`.',
        width: 24,
        height: 2,
      }),
    );
    const push = props.push ?? true;
    const width = push ? 8 : 12;
    this.dashboard.addWidgets(
      new GraphWidget({ title: '1. Intake', left: [herald('IntentsAccepted'), herald('IntentsDuplicate'), herald('IntentsRedelivered'), herald('IntentsRejectedTotal')], width }),
      new GraphWidget({ title: '2. Routes', left: [herald('RoutesCreated'), herald('RoutePublishedTotal'), herald('RouteRetriesTotal'), herald('RouteDeadLettersTotal')], width }),
      ...(push ? [new GraphWidget({ title: '3. Push', left: [herald('PushEventsSent'), herald('GoneConnections'), herald('ReplayedEvents'), herald('StaleCursors')], width })] : []),
    );
    if (props.email) {
      const feedback = (outcome: string) =>
        new Metric({ namespace, metricName: 'EmailFeedback', dimensionsMap: { service: 'herald', outcome }, statistic: 'Sum', period: Duration.minutes(5), label: outcome });
      this.dashboard.addWidgets(
        new GraphWidget({ title: 'Email feedback', left: ['delivered', 'bounced', 'complained', 'soft_bounced', 'delayed', 'rejected'].map(feedback), width: 12 }),
        new GraphWidget({ title: 'Suppressed routes and addresses', left: [herald('RoutesSuppressed'), herald('AddressesSuppressed')], width: 12 }),
      );
    }
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Queue age (s)',
        left: [props.intakeQueue.metricApproximateAgeOfOldestMessage(), props.routeQueue.metricApproximateAgeOfOldestMessage()],
        width: 12,
      }),
      new SingleValueWidget({
        title: 'Dead-letter queues',
        metrics: Object.values(props.deadLetterQueues).map((q) => q.metricApproximateNumberOfMessagesVisible()),
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'Function errors', left: Object.values(props.functions).map((fn) => fn.metricErrors()), width: 12 }),
      new GraphWidget({ title: 'Function duration p99 (ms)', left: Object.values(props.functions).map((fn) => fn.metricDuration({ statistic: 'p99' })), width: 12 }),
    );
  }
}
