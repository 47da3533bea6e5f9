import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, type HeraldConfigFile } from '../../lib/HeraldConfigFile.ts';
import { HeraldStack } from '../../lib/HeraldStack.ts';
import { NotificationService } from '../../lib/NotificationService.ts';
import { FAILURE_CLASSIFICATIONS } from '../../functions/core/types.ts';

const config = JSON.parse(readFileSync('config/herald.json', 'utf8')) as HeraldConfigFile;
const emailOnlyConfig = JSON.parse(readFileSync('config/herald.email-only.json', 'utf8')) as HeraldConfigFile;
// Assertions are about the template; skip esbuild bundling to keep these tests fast.
const app = () => new App({ context: { 'aws:cdk:bundling-stacks': [] } });

/** The catalog with no type kept in the inbox. */
function withoutInbox(catalog: HeraldConfigFile['catalog']): HeraldConfigFile['catalog'] {
  return Object.fromEntries(Object.entries(catalog).map(([type, { inbox: _inbox, ...entry }]) => [type, entry]));
}

function synth(change: Partial<HeraldConfigFile> = {}) {
  const stack = new HeraldStack(app(), 'Herald', { config: { ...config, ...change } });
  return { stack, template: Template.fromStack(stack) };
}

const { stack, template } = synth();
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
const logicalId = (construct: { node: { defaultChild?: unknown } }, of: Stack = stack) => of.getLogicalId(construct.node.defaultChild as never);
/** Herald's own functions (not CDK's helper functions) in a template's resources. */
const heraldFunctions = (of: typeof resources) => Object.values(of).filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties['Environment']?.Variables?.POWERTOOLS_SERVICE_NAME);
const service = stack.service;

function policyStatements(fn: { role?: { node: { defaultChild?: unknown } } }, of = { stack, resources }): any[] {
  const roleId = of.stack.getLogicalId(fn.role!.node.defaultChild as never);
  const policy = Object.values(of.resources).find((r) => r.Type === 'AWS::IAM::Policy' && r.Properties['Roles'].some((x: any) => x.Ref === roleId))!;
  return policy.Properties['PolicyDocument'].Statement;
}

describe('NotificationService: queues', () => {
  it('redrives intake and route messages to their dead-letter queues', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      // 14 receives, each failure back after 1 s doubling to 5 min: about 28 minutes of failing.
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(service.intakeDeadLetterQueue), 'Arn'] }, maxReceiveCount: 14 },
    });
    // Above the largest max attempts (security.alert: 8), so the route's own counter dead-letters first.
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(service.routeDeadLetterQueue), 'Arn'] }, maxReceiveCount: 18 },
    });
  });

  it('encrypts every queue and denies non-TLS access', () => {
    const queues = Object.values(resources).filter((r) => r.Type === 'AWS::SQS::Queue');
    // intake, route, lifecycle and feedback with their DLQs, and the bus's DLQ.
    expect(queues).toHaveLength(9);
    for (const queue of queues) expect(queue.Properties['SqsManagedSseEnabled']).toBe(true);
    const policies = Object.values(resources).filter((r) => r.Type === 'AWS::SQS::QueuePolicy');
    expect(policies.every((p) => JSON.stringify(p.Properties).includes('"aws:SecureTransport":"false"'))).toBe(true);
  });

  it('gives the pipeline queues 3× their function timeout of visibility (30 s: crash recovery), the lifecycle and feedback queues 6×', () => {
    const mappings = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(4);
    const factors = mappings.map((mapping) => {
      const fn = resources[mapping.Properties['FunctionName'].Ref]!;
      const queue = resources[mapping.Properties['EventSourceArn']['Fn::GetAtt'][0]]!;
      // Lambda refuses a mapping whose function timeout exceeds the queue's visibility timeout.
      expect(queue.Properties['VisibilityTimeout']).toBeGreaterThanOrEqual(fn.Properties['Timeout']);
      return [fn.Properties['Timeout'], queue.Properties['VisibilityTimeout'] / fn.Properties['Timeout']];
    });
    expect(factors.sort()).toEqual([[10, 3], [10, 3], [30, 6], [300, 6]]);
  });

  it('reports partial batch failures on every SQS event source', () => {
    for (const fn of [service.acceptFunction, service.deliverFunction, service.lifecycleFunction]) {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: logicalId(fn) },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
    }
  });

  it('caps concurrent deliver invocations only when deliverMaxConcurrency is set', () => {
    const deliverMapping = (of: ReturnType<typeof synth>) =>
      Object.values(of.template.toJSON().Resources as Record<string, any>).find(
        (r) => r.Type === 'AWS::Lambda::EventSourceMapping' && r.Properties.FunctionName.Ref === logicalId(of.stack.service.deliverFunction, of.stack),
      ).Properties;
    expect(deliverMapping({ stack, template }).ScalingConfig).toBeUndefined();
    expect(deliverMapping(synth({ deliverMaxConcurrency: 20 })).ScalingConfig).toEqual({ MaximumConcurrency: 20 });
  });
});

describe('NotificationService: table', () => {
  it('expires items by TTL, keeps the sparse due index, encrypts and recovers to a point in time', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      GlobalSecondaryIndexes: Match.arrayWith([
        Match.objectLike({
          IndexName: 'due',
          KeySchema: [
            { AttributeName: 'due_shard', KeyType: 'HASH' },
            { AttributeName: 'due_at', KeyType: 'RANGE' },
          ],
        }),
      ]),
    });
  });

  it('bills every table on demand by default', () => {
    const tables = Object.values(resources).filter((r) => r.Type === 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(3);
    for (const table of tables) {
      expect(table.Properties['BillingMode']).toBe('PAY_PER_REQUEST');
      expect(table.Properties['ProvisionedThroughput']).toBeUndefined();
    }
    expect(Object.values(resources).some((r) => r.Type.startsWith('AWS::ApplicationAutoScaling::'))).toBe(false);
  });

  it('provisions every table and index at its minimum, auto scaled up to its maximum at the target utilisation', () => {
    // Prepare
    const provisioned = synth({ tableCapacity: { mode: 'provisioned', maxWriteCapacity: 400, maxReadCapacity: 200, minReadCapacity: 2, targetUtilizationPercent: 60 } });
    const all = provisioned.template.toJSON().Resources as typeof resources;
    const tables = Object.entries(all).filter(([, r]) => r.Type === 'AWS::DynamoDB::Table');
    const targets = Object.values(all).filter((r) => r.Type === 'AWS::ApplicationAutoScaling::ScalableTarget');
    // Assess: no index is left on its default capacity (an index short of writes throttles its table).
    expect(tables).toHaveLength(3);
    for (const [, table] of tables) {
      expect(table.Properties['BillingMode']).toBeUndefined();
      expect(table.Properties['ProvisionedThroughput']).toEqual({ ReadCapacityUnits: 2, WriteCapacityUnits: 5 });
      for (const index of table.Properties['GlobalSecondaryIndexes'] ?? []) expect(index.ProvisionedThroughput).toEqual({ ReadCapacityUnits: 2, WriteCapacityUnits: 5 });
    }
    const scaled = targets.map((t) => `${JSON.stringify(t.Properties['ResourceId'])} ${t.Properties['ScalableDimension']} ${t.Properties['MinCapacity']}-${t.Properties['MaxCapacity']}`);
    const notifications = logicalId(provisioned.stack.service.table, provisioned.stack);
    for (const [id, table] of tables) {
      const indexes = ['', ...(table.Properties['GlobalSecondaryIndexes'] ?? []).map((i: { IndexName: string }) => `/index/${i.IndexName}`)];
      for (const index of indexes) {
        const kind = index ? 'index' : 'table';
        const resourceId = JSON.stringify({ 'Fn::Join': ['', ['table/', { Ref: id }, ...(index ? [index] : [])]] });
        expect(scaled).toContain(`${resourceId} dynamodb:${kind}:ReadCapacityUnits 2-200`);
        expect(scaled).toContain(`${resourceId} dynamodb:${kind}:WriteCapacityUnits 5-400`);
      }
      if (id === notifications) expect(indexes).toEqual(['', '/index/due', '/index/dead_letters', '/index/open_by_user']);
    }
    expect(targets).toHaveLength(2 * (3 + 3));
    const policies = Object.values(all).filter((r) => r.Type === 'AWS::ApplicationAutoScaling::ScalingPolicy');
    expect(policies).toHaveLength(targets.length);
    for (const policy of policies) expect(policy.Properties['TargetTrackingScalingPolicyConfiguration']['TargetValue']).toBe(60);
  });
});

describe('NotificationService: functions and IAM', () => {
  it('runs every function on nodejs24.x', () => {
    const functions = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions.map((f) => f.Properties['Runtime'])).toEqual(Array(8).fill('nodejs24.x'));
  });

  const actions = (statements: any[]) => statements.flatMap((s) => [s.Action].flat());
  const tableId = logicalId(service.table);

  it.each([
    // Accept also publishes (the first push attempt of small intents): streams and connections.
    // DeleteItem on the table: taking back the notification of an intent whose recipients are all deleted.
    // GetItem: an inbox's counts (config/herald.json keeps friend.request in the inbox).
    ['accept', () => service.acceptFunction, ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:DeleteItem', 'dynamodb:GetItem']],
    ['lifecycle', () => service.lifecycleFunction, ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem', 'dynamodb:Query', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:Query', 'dynamodb:DeleteItem']],
    ['deliver', () => service.deliverFunction, ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:DeleteItem']],
    ['sweeper', () => service.sweeperFunction, ['dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem']],
  ])('grants %s only the DynamoDB actions it uses, on this table only', (_name, fn, expected) => {
    const statements = policyStatements(fn());
    expect(actions(statements).filter((a) => a.startsWith('dynamodb:')).sort()).toEqual([...expected].sort());
    const dynamo = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith('dynamodb:')));
    expect(JSON.stringify(dynamo[0].Resource)).toContain(tableId);
    const ownTables = [tableId, logicalId(service.push!.streamsTable), logicalId(service.push!.connectionsTable)];
    for (const statement of dynamo) expect(ownTables.some((t) => JSON.stringify(statement.Resource).includes(t))).toBe(true);
    expect(actions(statements).some((a) => a.endsWith(':*'))).toBe(false);
  });

  it('lets only the deliver function send email, from the configured address, against any identity SES checks', () => {
    const ses = policyStatements(service.deliverFunction).find((s) => s.Action === 'ses:SendEmail');
    expect(ses.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'notifications@herald.example.com' } });
    // In the SES sandbox SES authorizes against each recipient's identity too: identity/<domain> alone is AccessDenied.
    expect(JSON.stringify(ses.Resource)).toContain(':identity/*');
    expect(JSON.stringify(ses.Resource)).not.toContain('identity/herald.example.com');
    expect(actions(policyStatements(service.acceptFunction))).not.toContain('ses:SendEmail');
    expect(actions(policyStatements(service.sweeperFunction))).not.toContain('ses:SendEmail');
  });

  it('gives accept what a first push attempt needs, and with first push attempts off only what answers a duplicate (reading events by key)', () => {
    const env = resources[logicalId(service.acceptFunction)]!.Properties['Environment']['Variables'];
    expect(env).toMatchObject({ FIRST_PUSH_ATTEMPT_MAX_ROUTES: '10', LEASE_MS: '20000', FRESHNESS_SECONDS: '86400' });
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['STREAMS_TABLE', 'CONNECTIONS_TABLE', 'WEBSOCKET_CALLBACK_URL']));

    // Without an inbox type too: the inbox also makes accept a publisher (its items' events).
    const off = synth({ firstPushAttemptMaxRoutes: 0, catalog: withoutInbox(config.catalog) });
    const offResources = off.template.toJSON().Resources as typeof resources;
    const offEnv = offResources[logicalId(off.stack.service.acceptFunction, off.stack)]!.Properties['Environment']['Variables'];
    expect(offEnv['FIRST_PUSH_ATTEMPT_MAX_ROUTES']).toBe('0');
    // The streams table stays named, read by key only: an earlier first push's event shows its route published.
    expect(offEnv['STREAMS_TABLE']).toEqual({ Ref: logicalId(off.stack.service.push!.streamsTable, off.stack) });
    expect(offEnv['CONNECTIONS_TABLE']).toBeUndefined();
    const offStatements = policyStatements(off.stack.service.acceptFunction, { stack: off.stack, resources: offResources });
    const onStreams = offStatements.filter((st) => JSON.stringify(st.Resource).includes(logicalId(off.stack.service.push!.streamsTable, off.stack)));
    expect(onStreams.flatMap((st) => [st.Action].flat())).toEqual(['dynamodb:BatchGetItem']);
    expect(actions(offStatements)).not.toContain('execute-api:ManageConnections');
    // DeleteItem on the notifications table only: the connections table grant is gone.
    const offDeletes = offStatements.filter((st) => [st.Action].flat().includes('dynamodb:DeleteItem'));
    expect(offDeletes).toHaveLength(1);
    expect(JSON.stringify(offDeletes[0].Resource)).toContain(logicalId(off.stack.service.table, off.stack));
    expect(JSON.stringify(offStatements)).not.toContain(logicalId(off.stack.service.push!.connectionsTable, off.stack));
  });

  it('logs at the configured level on every function, and leaves the level to Powertools (INFO) by default', () => {
    expect(heraldFunctions(resources).length).toBeGreaterThanOrEqual(6);
    expect(heraldFunctions(resources).every((f) => f.Properties['Environment'].Variables.POWERTOOLS_LOG_LEVEL === undefined)).toBe(true);
    const debug = synth({ logLevel: 'DEBUG' }).template.toJSON().Resources as typeof resources;
    expect(heraldFunctions(debug).length).toBe(heraldFunctions(resources).length);
    expect(heraldFunctions(debug).every((f) => f.Properties['Environment'].Variables.POWERTOOLS_LOG_LEVEL === 'DEBUG')).toBe(true);
  });

  it('logs in Lambda\'s JSON format without the START and REPORT lines by default; systemLogLevel INFO keeps them; DEBUG lets DEBUG lines through', () => {
    const loggingOf = (of: typeof resources) => [...new Set(heraldFunctions(of).map((f) => JSON.stringify(f.Properties['LoggingConfig'] ? { ...f.Properties['LoggingConfig'], LogGroup: undefined } : undefined)))].map((j) => JSON.parse(j));
    expect(loggingOf(resources)).toEqual([{ LogFormat: 'JSON', SystemLogLevel: 'WARN', ApplicationLogLevel: 'INFO' }]);
    expect(loggingOf(synth({ systemLogLevel: 'INFO', logLevel: 'DEBUG' }).template.toJSON().Resources as typeof resources))
      .toEqual([{ LogFormat: 'JSON', SystemLogLevel: 'INFO', ApplicationLogLevel: 'DEBUG' }]);
    // Never stricter than INFO: Lambda gives an EMF metrics blob (no level) the level INFO.
    expect(loggingOf(synth({ logLevel: 'WARN' }).template.toJSON().Resources as typeof resources))
      .toEqual([{ LogFormat: 'JSON', SystemLogLevel: 'WARN', ApplicationLogLevel: 'INFO' }]);
  });

  it('traces only sampled upstream requests by default (PassThrough, no Tracer in the handler); tracing: true turns on active tracing', () => {
    const xrayActions = (of: typeof resources) =>
      Object.values(of)
        .filter((r) => r.Type === 'AWS::IAM::Policy')
        .flatMap((r) => (r.Properties['PolicyDocument'].Statement as { Action: string | string[] }[]).flatMap((st) => [st.Action].flat()))
        .filter((a) => a.startsWith('xray:'));
    expect(heraldFunctions(resources).every((f) => f.Properties['TracingConfig']?.Mode === 'PassThrough')).toBe(true);
    // The handlers leave the Tracer out (HERALD_TRACING is a build-time define; POWERTOOLS_TRACE_ENABLED says so at run time).
    expect(heraldFunctions(resources).every((f) => f.Properties['Environment'].Variables.POWERTOOLS_TRACE_ENABLED === 'false')).toBe(true);
    // PassThrough still writes the function segment of a sampled request.
    expect(xrayActions(resources)).toContain('xray:PutTraceSegments');

    const traced = synth({ tracing: true }).template.toJSON().Resources as typeof resources;
    expect(heraldFunctions(traced).length).toBe(heraldFunctions(resources).length);
    expect(heraldFunctions(traced).every((f) => f.Properties['TracingConfig']?.Mode === 'Active')).toBe(true);
    expect(heraldFunctions(traced).every((f) => f.Properties['Environment'].Variables.POWERTOOLS_TRACE_ENABLED === undefined)).toBe(true);
    expect(xrayActions(traced)).toContain('xray:PutTraceSegments');
  });

  it('keeps every function\'s log lines 30 days, or logRetentionDays from the config', () => {
    const retentions = (of: typeof resources) => Object.values(of).filter((r) => r.Type === 'AWS::Logs::LogGroup').map((r) => r.Properties?.['RetentionInDays']);
    const functionCount = heraldFunctions(resources).length;
    expect(retentions(resources)).toEqual(Array(functionCount).fill(30));
    expect(retentions(synth({ logRetentionDays: 7 }).template.toJSON().Resources as typeof resources)).toEqual(Array(functionCount).fill(7));
    expect(retentions(synth({ logRetentionDays: 9999 }).template.toJSON().Resources as typeof resources)).toEqual(Array(functionCount).fill(undefined));
  });

  it('lets accept and sweeper send to the route queue but not deliver', () => {
    expect(actions(policyStatements(service.acceptFunction))).toContain('sqs:SendMessage');
    expect(actions(policyStatements(service.sweeperFunction))).toContain('sqs:SendMessage');
    expect(actions(policyStatements(service.deliverFunction))).not.toContain('sqs:SendMessage');
  });

  it('lets accept send to its own intake queue only with a type kept in the inbox (a large fan-out goes on in a copy of its message)', () => {
    const sendsToIntake = (statements: any[], intakeId: string) =>
      statements.some((st) => [st.Action].flat().includes('sqs:SendMessage') && JSON.stringify(st.Resource).includes(intakeId));
    expect(sendsToIntake(policyStatements(service.acceptFunction), logicalId(service.intakeQueue))).toBe(true);
    const off = synth({ catalog: withoutInbox(config.catalog) });
    const offResources = off.template.toJSON().Resources as typeof resources;
    const offStatements = policyStatements(off.stack.service.acceptFunction, { stack: off.stack, resources: offResources });
    expect(sendsToIntake(offStatements, logicalId(off.stack.service.intakeQueue, off.stack))).toBe(false);
    expect(actions(offStatements)).toContain('sqs:SendMessage');
  });
});

describe('NotificationService: event bus and schedule', () => {
  it('forwards herald.intent events from its bus into the intake queue as the bare intent', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: logicalId(service.bus) },
      EventPattern: { 'detail-type': ['herald.intent'] },
      Targets: [Match.objectLike({
        Arn: { 'Fn::GetAtt': [logicalId(service.intakeQueue), 'Arn'] },
        InputPath: '$.detail',
        // Not the intake DLQ: EventBridge's failure records cannot be moved back like intake messages.
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(service.busDeadLetterQueue), 'Arn'] } },
      })],
    });
  });

  it('runs the sweeper every minute', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(service.sweeperFunction), 'Arn'] } })],
    });
  });

  it('outputs the intake queue, bus, table and dead-letter queues', () => {
    const outputs = Object.keys(template.toJSON().Outputs as object).map((k) => k.replace(/[0-9A-F]{8}$/, ''));
    expect(outputs.sort()).toEqual(
      [
        'HeraldEventBusName', 'HeraldIntakeDeadLetterQueueUrl', 'HeraldIntakeQueueUrl', 'HeraldRouteDeadLetterQueueUrl', 'HeraldRouteQueueUrl',
        'HeraldTableName', 'HeraldWebSocketUrl', 'HeraldConnectionsTableName', 'HeraldStreamsTableName', 'HeraldTokenSecretArn',
        'HeraldLifecycleDeadLetterQueueUrl', 'HeraldLifecycleQueueUrl', 'HeraldBusDeadLetterQueueUrl', 'HeraldEmailFrom', 'HeraldVerifyTypes', 'HeraldHttpApiUrl',
        'HeraldFeedbackQueueUrl', 'HeraldFeedbackDeadLetterQueueUrl', 'HeraldEmailConfigurationSetName', 'HeraldInboxRetentionDays',
      ].sort(),
    );
  });
});

describe('NotificationService: WebSocket push', () => {
  const apiId = logicalId(service.push!.api);
  const webSocketApiId = Object.entries(resources).find(([, r]) => r.Type === 'AWS::ApiGatewayV2::Api' && r.Properties['ProtocolType'] === 'WEBSOCKET')![0];
  const routeKeys = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route' && r.Properties['ApiId'].Ref === webSocketApiId).map((r) => r.Properties['RouteKey']);

  it('routes $connect, $disconnect, $default, resume and ping, selecting on the body\'s action', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.action' });
    expect(routeKeys.sort()).toEqual(['$connect', '$default', '$disconnect', 'ping', 'resume']);
  });

  it('puts a REQUEST authorizer on $connect that reads ?token=', () => {
    const authorizerId = Object.entries(resources).find(([, r]) => r.Type === 'AWS::ApiGatewayV2::Authorizer')![0];
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      IdentitySource: ['route.request.querystring.token'],
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$connect', AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizerId } });
    expect(JSON.stringify(resources[authorizerId]!.Properties['AuthorizerUri'])).toContain(logicalId(service.push!.authorizerFunction));
  });

  it('deploys an auto-deployed stage', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { ApiId: { Ref: apiId }, StageName: 'live', AutoDeploy: true });
  });

  it('expires connections and buffered events by TTL', () => {
    for (const table of [service.push!.connectionsTable, service.push!.streamsTable]) {
      expect(resources[logicalId(table)]!.Properties['TimeToLiveSpecification']).toEqual({ AttributeName: 'expires_at', Enabled: true });
    }
    expect(resources[logicalId(service.push!.connectionsTable)]!.Properties['KeySchema']).toEqual([
      { AttributeName: 'user_id', KeyType: 'HASH' },
      { AttributeName: 'connection_id', KeyType: 'RANGE' },
    ]);
  });

  it('scopes execute-api:ManageConnections to this API\'s stage, for the functions that post to connections only', () => {
    const manage = (fn: typeof service.deliverFunction) => policyStatements(fn).filter((s) => [s.Action].flat().includes('execute-api:ManageConnections'));
    for (const fn of [service.deliverFunction, service.acceptFunction, service.push!.connectionFunction]) {
      const [statement] = manage(fn);
      const resource = JSON.stringify(statement.Resource);
      expect(resource).toContain(apiId);
      expect(resource).toContain('/live/*/@connections/*');
    }
    expect(manage(service.sweeperFunction)).toHaveLength(0);
    expect(manage(service.push!.authorizerFunction)).toHaveLength(0);
  });

  it('lets only the token verifiers (the authorizer, the app API) read the token secret, deliver only the unsubscribe key, and passes the freshness window to the deliverer', () => {
    const reads = (fn: typeof service.deliverFunction, secret: { node: { defaultChild?: unknown } }) =>
      policyStatements(fn).some((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue') && JSON.stringify(s.Resource).includes(logicalId(secret)));
    const tokenSecret = service.push!.tokenSecret! as unknown as { node: { defaultChild?: unknown } };
    expect(reads(service.push!.authorizerFunction, tokenSecret)).toBe(true);
    expect(reads(service.appApi!.apiFunction, tokenSecret)).toBe(true);
    expect([service.acceptFunction, service.deliverFunction, service.sweeperFunction, service.push!.connectionFunction].some((fn) => reads(fn, tokenSecret))).toBe(false);
    expect(reads(service.deliverFunction, service.appApi!.unsubscribeSecret!)).toBe(true);
    expect([service.acceptFunction, service.sweeperFunction, service.push!.authorizerFunction].some((fn) => reads(fn, service.appApi!.unsubscribeSecret!))).toBe(false);
    expect(resources[logicalId(service.deliverFunction)]!.Properties['Environment']['Variables']['FRESHNESS_SECONDS']).toBe('86400');
  });

  it('takes the JWKS URL, issuer and audience from the config file', () => {
    const { stack: configured, template: synthesized } = synth({ jwksUrl: 'https://id.example.com/.well-known/jwks.json', jwtIssuer: 'https://id.example.com/', jwtAudience: 'herald' });
    const env = synthesized.toJSON().Resources[logicalId(configured.service.push!.authorizerFunction, configured)].Properties.Environment.Variables;
    expect(env).toMatchObject({ JWKS_URL: 'https://id.example.com/.well-known/jwks.json', JWT_ISSUER: 'https://id.example.com/', JWT_AUDIENCE: 'herald' });
    expect(env.JWT_SECRET_ARN).toBeUndefined();
  });

  it('verifies tokens with a JWKS URL instead of a secret when configured', () => {
    const stack = new Stack(app(), 'J');
    const jwks = new NotificationService(stack, 'H', { catalog: { p: { channels: ['push'] } }, push: { auth: { jwksUrl: 'https://id.example.com/.well-known/jwks.json', issuer: 'https://id.example.com', audience: 'herald' } } });
    const env = Template.fromStack(stack).toJSON().Resources[logicalId(jwks.push!.authorizerFunction, stack)].Properties.Environment.Variables;
    expect(env).toMatchObject({ JWKS_URL: 'https://id.example.com/.well-known/jwks.json', JWT_ISSUER: 'https://id.example.com', JWT_AUDIENCE: 'herald' });
    expect(env.JWT_SECRET_ARN).toBeUndefined();
    expect(jwks.push!.tokenSecret).toBeUndefined();
  });
});

describe('NotificationService: lifecycle events', () => {
  it('routes herald.lifecycle events from its bus to the lifecycle queue (not the function: a Lambda target is invoked asynchronously)', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: logicalId(service.bus) },
      EventPattern: { 'detail-type': ['herald.lifecycle'] },
      Targets: [Match.objectLike({
        Arn: { 'Fn::GetAtt': [logicalId(service.lifecycleQueue), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86400 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(service.busDeadLetterQueue), 'Arn'] } },
      })],
    });
    const rules = Object.values(resources).filter((r) => r.Type === 'AWS::Events::Rule' && r.Properties['EventPattern']);
    // No bus rule targets a function: a function error there would be Lambda's to retry twice and drop.
    expect(rules.flatMap((r) => r.Properties['Targets']).every((t: any) => !JSON.stringify(t.Arn).includes(logicalId(service.lifecycleFunction)))).toBe(true);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(service.lifecycleFunction) },
      EventSourceArn: { 'Fn::GetAtt': [logicalId(service.lifecycleQueue), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(service.lifecycleDeadLetterQueue), 'Arn'] }, maxReceiveCount: 6 },
    });
    expect(resources[logicalId(service.lifecycleDeadLetterQueue)]!.Properties['SqsManagedSseEnabled']).toBe(true);
    // Failed events come back after a short backoff: the function may change their visibility.
    expect(policyStatements(service.lifecycleFunction).some((st) => [st.Action].flat().includes('sqs:ChangeMessageVisibility') && JSON.stringify(st.Resource).includes(logicalId(service.lifecycleQueue)))).toBe(true);
  });

  it('lets EventBridge send failed events to the bus DLQ and the lifecycle queue (queue policies)', () => {
    for (const queue of [service.busDeadLetterQueue, service.lifecycleQueue]) {
      const policy = Object.values(resources).find((r) => r.Type === 'AWS::SQS::QueuePolicy' && JSON.stringify(r.Properties['Queues']).includes(logicalId(queue)))!;
      expect(JSON.stringify(policy.Properties['PolicyDocument'])).toContain('events.amazonaws.com');
    }
  });

  it('route indexes project only attributes a route never changes, so attempts do not rewrite them', () => {
    const table = Object.values(resources).find((r) => r.Type === 'AWS::DynamoDB::Table' && JSON.stringify(r.Properties['GlobalSecondaryIndexes'] ?? []).includes('open_by_user'))!;
    const indexes = table.Properties['GlobalSecondaryIndexes'] as { IndexName: string; Projection: { ProjectionType: string; NonKeyAttributes?: string[] } }[];
    for (const name of ['due', 'open_by_user']) {
      expect(indexes.find((i) => i.IndexName === name)!.Projection).toEqual({
        ProjectionType: 'INCLUDE',
        NonKeyAttributes: ['notification_id', 'route_id', 'user_id', 'channel', 'device_session_id'],
      });
    }
  });

  it('indexes open routes by user for cancellation and remembers deletions for the configured time', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: Match.arrayWith([Match.objectLike({ IndexName: 'open_by_user', KeySchema: [{ AttributeName: 'open_user', KeyType: 'HASH' }] })]),
    });
    expect(resources[logicalId(service.lifecycleFunction)]!.Properties['Environment']['Variables']['DELETED_USER_RETENTION_DAYS']).toBe('30');
    const { stack: configured, template: synthesized } = synth({ deletedUserRetentionDays: 7 });
    const lifecycleId = logicalId(configured.service.lifecycleFunction, configured);
    expect(synthesized.toJSON().Resources[lifecycleId].Properties.Environment.Variables.DELETED_USER_RETENTION_DAYS).toBe('7');
    expect(resources[logicalId(service.lifecycleFunction)]!.Properties['Timeout']).toBe(300);
  });
});

describe('NotificationService: alarms and dashboard', () => {
  const runbook = readFileSync('docs/operations.md', 'utf8');
  const alarms = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').map((r) => r.Properties);
  const alarmOn = (metricName: string, queueOrFunctionId?: string) =>
    alarms.filter((a) => a['MetricName'] === metricName && (queueOrFunctionId === undefined || JSON.stringify(a['Dimensions']).includes(queueOrFunctionId)));

  it.each([
    ['intake', () => service.intakeDeadLetterQueue],
    ['route', () => service.routeDeadLetterQueue],
    ['lifecycle', () => service.lifecycleDeadLetterQueue],
    ['bus', () => service.busDeadLetterQueue],
  ])('alarms on any message in the %s dead-letter queue', (_name, queue) => {
    const [alarm] = alarmOn('ApproximateNumberOfMessagesVisible', logicalId(queue()));
    expect(alarm).toMatchObject({ Namespace: 'AWS/SQS', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', Statistic: 'Maximum', TreatMissingData: 'notBreaching' });
  });

  it.each([
    ['intake', () => service.intakeQueue],
    ['route', () => service.routeQueue],
  ])('alarms when the oldest %s message is older than 5 minutes', (_name, queue) => {
    expect(alarmOn('ApproximateAgeOfOldestMessage', logicalId(queue()))[0]).toMatchObject({ Threshold: 300 });
  });

  it('alarms on the dead-letter rate from Herald\'s own metric', () => {
    expect(alarmOn('RouteDeadLettersTotal')[0]).toMatchObject({ Namespace: 'Herald', Threshold: 10, Statistic: 'Sum', Period: 300, Dimensions: [{ Name: 'service', Value: 'herald' }] });
  });

  it('alarms on errors and throttles of every function', () => {
    const functions = [
      service.acceptFunction, service.deliverFunction, service.sweeperFunction, service.lifecycleFunction, service.feedbackFunction!,
      service.push!.authorizerFunction, service.push!.connectionFunction,
    ];
    for (const fn of functions) {
      expect(alarmOn('Errors', logicalId(fn))).toHaveLength(1);
      expect(alarmOn('Throttles', logicalId(fn))).toHaveLength(1);
    }
    // DLQs 5, queue ages 2, dead-letter rate 1, functions 7 × 2, tables 3, SES bounce and complaint rates 2.
    expect(alarms).toHaveLength(5 + 2 + 1 + 14 + 3 + 2);
  });

  it('links every alarm to a section of the runbook that exists', () => {
    // What a link can land on: GitHub's heading slugs and explicit ids.
    const slug = (heading: string) => heading.toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-');
    const anchors = new Set([
      ...[...runbook.matchAll(/^#+ (.+)$/gm)].map((m) => slug(m[1]!)),
      ...[...runbook.matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1]!),
    ]);
    const missing = alarms
      .map((alarm) => /Runbook: docs\/operations\.md#(\S+)$/.exec(String(alarm['AlarmDescription']))?.[1] ?? `(no runbook link: ${alarm['AlarmDescription']})`)
      .filter((anchor) => !anchors.has(anchor));
    expect(missing).toEqual([]);
  });

  it('alarms when requests to a table stay throttled for three 5-minute periods in a row (a few are retried and expected)', () => {
    const tables = [service.table, service.push!.connectionsTable, service.push!.streamsTable];
    const throttleAlarms = alarms.filter((a) => String(a['AlarmDescription']).includes('have been throttled'));
    expect(throttleAlarms).toHaveLength(tables.length);
    for (const table of tables) {
      const [alarm] = throttleAlarms.filter((a) => JSON.stringify(a['Metrics']).includes(`"${logicalId(table)}"`));
      expect(alarm).toMatchObject({ EvaluationPeriods: 3, Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' });
      const metrics = JSON.stringify(alarm!['Metrics']);
      for (const operation of ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'GetItem', 'BatchGetItem', 'Query']) {
        expect(metrics).toContain(`{"Name":"Operation","Value":"${operation}"}`);
      }
      expect(metrics).toContain('"MetricName":"ThrottledRequests"');
    }
  });

  it('notifies the alarm topic when one is given', () => {
    const stack = new Stack(app(), 'T');
    const topic = new Topic(stack, 'Ops');
    new NotificationService(stack, 'H', { catalog: { p: { channels: ['push'] } }, alarmTopic: topic });
    const withTopic = Object.values(Template.fromStack(stack).toJSON().Resources as Record<string, any>).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    expect(withTopic.length).toBeGreaterThan(0);
    for (const alarm of withTopic) expect(JSON.stringify(alarm.Properties.AlarmActions)).toContain(logicalId(topic, stack));
    expect(alarms.every((a) => a['AlarmActions'] === undefined)).toBe(true);
  });

  it('notifies the topic named by alarmTopicArn in the config file', () => {
    const arn = 'arn:aws:sns:us-east-1:123456789012:ops-alerts';
    const withTopic = Object.values(synth({ alarmTopicArn: arn }).template.toJSON().Resources as Record<string, any>).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    expect(withTopic).toHaveLength(alarms.length);
    for (const alarm of withTopic) expect(alarm.Properties.AlarmActions).toEqual([arn]);
  });

  it('draws the flow from intake to delivery on one dashboard', () => {
    const [dashboard] = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(dashboard!.Properties['DashboardBody']);
    for (const metric of ['IntentsAccepted', 'RoutesCreated', 'RoutePublishedTotal', 'RouteDeadLettersTotal', 'PushEventsSent', 'ApproximateAgeOfOldestMessage', 'Errors']) {
      expect(body).toContain(metric);
    }
    for (const title of ['1. Intake', '2. Routes', '3. Push', 'Dead-letter queues']) expect(body).toContain(title);
  });

  // Every count the functions emit: countMetric('<name>', …) in functions/.
  const emitted = new Set(
    readdirSync('functions', { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) => [...readFileSync(`functions/${file}`, 'utf8').matchAll(/countMetric\('(\w+)'/g)].map((m) => m[1]!)),
  );

  it('graphs and alarms only on Herald metrics the functions emit (a misspelt name would stay empty)', () => {
    expect(emitted.size).toBeGreaterThan(20);
    const [dashboard] = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard');
    const graphed = [...JSON.stringify(dashboard!.Properties['DashboardBody']).matchAll(/\\"Herald\\",\\"(\w+)\\"/g)].map((m) => m[1]!);
    const alarmed = alarms.filter((a) => a['Namespace'] === 'Herald').map((a) => String(a['MetricName']));
    expect(graphed.length).toBeGreaterThanOrEqual(11);
    expect([...graphed, ...alarmed].filter((name) => !emitted.has(name))).toEqual([]);
  });

  it('explains every failure classification a route can carry in the runbook', () => {
    const rows = [...runbook.matchAll(/^\| `(\w+)` \| (?:yes|no) \|/gm)].map((m) => m[1]);
    expect(FAILURE_CLASSIFICATIONS.filter((classification) => !rows.includes(classification))).toEqual([]);
  });

  it('names every metric the functions emit in the runbook', () => {
    expect([...emitted].filter((name) => !new RegExp(`\\b${name}\\b`).test(runbook))).toEqual([]);
  });
});

describe('NotificationService: props validation at synth time', () => {
  it.each([
    [{ catalog: { 'bad type!': { channels: ['push'] } } }, 'catalog entry "bad type!"'],
    [{ catalog: { alert: { channels: ['email'] } } }, 'catalog entry "alert": the email channel needs an email template'],
    [{ emailFrom: 'not-an-address' }, 'emailFrom must be an email address (catalog type "welcome" sends email)'],
    [{ maxPayloadBytes: 200_000 }, 'maxPayloadBytes must be an integer from 1024 to 122880'],
    [{ pushFreshnessMinutes: 0 }, 'push.freshnessWindow must be from 1 minute to 14 days'],
    [{ retry: { minBackoffSeconds: 60, maxBackoffSeconds: 10 } }, 'minimum backoff must not exceed maximum backoff'],
    [{ firstPushAttemptMaxRoutes: 2.5 }, 'firstPushAttemptMaxRoutes must be an integer from 0 to 100'],
    [{ tracing: 'false' as never }, 'tracing must be true or false'],
    [{ systemLogLevel: 'ERROR' as never }, 'NotificationService: systemLogLevel must be one of DEBUG, INFO, WARN'],
    [{ logLevel: 'info' as never }, 'logLevel must be one of DEBUG, INFO, WARN, ERROR'],
    [{ tableCapacity: { mode: 'provisoned' } as never }, 'tableCapacity mode must be "on-demand" or "provisioned"'],
    [{ tableCapacity: { mode: 'provisioned', maxWriteCapacity: 100 } as never }, 'tableCapacity maxReadCapacity must be an integer from 1 to 40000'],
    [{ tableCapacity: { mode: 'provisioned', maxWriteCapacity: 100, maxReadCapacity: 50, maxWriteCapcity: 10 } as never }, 'tableCapacity has unknown settings: maxWriteCapcity'],
    [{ tableCapacity: { mode: 'provisioned', maxWriteCapacity: 4, maxReadCapacity: 50 } }, 'tableCapacity minWriteCapacity must not exceed maxWriteCapacity'],
    [{ tableCapacity: { mode: 'provisioned', maxWriteCapacity: 100, maxReadCapacity: 50, targetUtilizationPercent: 95 } }, 'tableCapacity targetUtilizationPercent must be an integer from 20 to 90'],
    [{ tableCapacity: { mode: 'on-demand', maxWriteCapacity: 100 } as never }, 'tableCapacity mode "on-demand" takes no other settings (got maxWriteCapacity)'],
    [{ trace: false } as never, 'Herald config: unknown keys trace (known: emailFrom, catalog, retry,'],
    [{ retry: { maxAttempt: 3 } } as never, 'Herald config: retry has unknown keys maxAttempt (known: minBackoffSeconds, maxBackoffSeconds, jitter, maxAttempts)'],
    [{ removalPolicy: 'delete' } as never, 'Herald config: removalPolicy must be "retain" or "destroy"'],
    [{ retry: 'fast' } as never, 'Herald config: retry must be an object'],
    [{ sweepIntervalMinutes: 0.5 }, 'Herald config: sweepIntervalMinutes must be a whole number, at least 1 (got 0.5)'],
    [{ retry: { minBackoffSeconds: 5, maxBackoffSeconds: 43_201 } }, 'maximum backoff must be at most 12 hours'],
    [{ jwksUrl: 'https://id.example.com/jwks.json' }, 'push.auth.jwksUrl needs issuer and audience too'],
    [{ jwksUrl: 'https://id.example.com/jwks.json', jwtIssuer: 'https://id.example.com/' }, 'push.auth.jwksUrl needs audience too'],
    [{ reservedConcurrency: { acept: 5 } } as never, 'Herald config: reservedConcurrency has unknown key acept'],
    [{ reservedConcurrency: { deliver: 0 } }, 'reservedConcurrency.deliver must be an integer from 1 to 10000'],
    [{ reservedConcurrency: { deliver: 10 }, deliverMaxConcurrency: 20 }, 'deliverMaxConcurrency must not exceed reservedConcurrency.deliver'],
    [{ pushThrottle: { rateLimit: 100 } } as never, 'Herald config: pushThrottle must be { "rateLimit": <messages/s>, "burstLimit": <messages> }'],
    [{ pushThrottle: { rateLimit: 100, burstLimit: 0 } }, 'push.throttle needs rateLimit from 0 to 10000'],
    [{ lifecycleSources: [] }, 'eventSources.lifecycle must be a non-empty list'],
    [{ emailConfigurationSet: 'has space' }, 'emailConfigurationSet must be an SES configuration set name'],
    [{ pushFreshnessMinutes: '60' } as never, 'Herald config: pushFreshnessMinutes must be a number (got "60")'],
    [{ retry: { maxBackoffSeconds: '900' } } as never, 'Herald config: retry.maxBackoffSeconds must be a number (got "900")'],
    [{ catalog: { alert: { channels: ['push'], maxAttempt: 3 } } } as never, 'catalog entry "alert": unknown keys maxAttempt'],
    [{ jwtAudience: 'herald' }, 'Herald config: jwtAudience applies to tokens verified with jwksUrl'],
    [{ alarmTopicArn: 'ops-alerts' }, 'Herald config: alarmTopicArn must be an SNS topic ARN'],
    [{ deletedUserRetentionDays: 0 }, 'Herald config: deletedUserRetentionDays must be a whole number, at least 1 (got 0)'],
    [{ deliverMaxConcurrency: 1 }, 'NotificationService: deliverMaxConcurrency must be an integer from 2 to 1000'],
    [{ logRetentionDays: 10 }, 'Herald config: logRetentionDays must be one of 1, 3, 5, 7, 14, 30, 60, 90,'],
    [{ push: 'false' } as never, 'Herald config: push must be true or false (got "false")'],
    [{ maxConnectionsPerUser: 0 }, 'Herald config: maxConnectionsPerUser must be a whole number, at least 1 (got 0)'],
    [{ maxConnectionsPerUser: 1001 }, 'NotificationService: push.maxConnectionsPerUser must be an integer from 1 to 1000'],
    [{ maxConnectionsPerDeviceSession: 0 }, 'Herald config: maxConnectionsPerDeviceSession must be a whole number, at least 1 (got 0)'],
    [{ clientBudget: { resumesPerMinute: 0 } }, 'Herald config: clientBudget.resumesPerMinute must be an integer from 1 to 600 (got 0)'],
    [{ clientBudget: { resumes: 3 } } as never, 'Herald config: clientBudget has unknown keys resumes'],
    [{ intakeBatchingWindowSeconds: 301 }, 'NotificationService: intakeBatchingWindow must be whole seconds from 0 to 300'],
    [{ intakeBatchingWindowSeconds: 0.5 }, 'NotificationService: intakeBatchingWindow must be whole seconds from 0 to 300'],
    [{ throttledRoutesAlarmThreshold: 0 }, 'Herald config: throttledRoutesAlarmThreshold must be a whole number, at least 1 (got 0)'],
    [{ catalog: { alert: { channels: ['push'], throttle: { limit: 500, windowSeconds: 60 } } } } as never, 'catalog entry "alert": throttle.limit must be an integer from 1 to 100'],
    [{ push: false }, 'NotificationService: push is off (push: false), but catalog types "welcome", "friend.request" use the push channel'],
    [{ ...emailOnlyConfig, pushFreshnessMinutes: 60, jwksUrl: 'https://idp.example.com/jwks' }, 'Herald config: pushFreshnessMinutes, jwksUrl configure push, which "push": false turns off; leave them out'],
  ] as [Partial<HeraldConfigFile>, string][])('rejects %j naming the problem', (change, message) => {
    expect(() => synth(change)).toThrow(message);
  });

  it('has every key the config file accepts, and no other, in the configuration reference (docs/configuration.md)', () => {
    const rows = [...readFileSync('docs/configuration.md', 'utf8').matchAll(/^\| `(\w+)`(?:, `(\w+)`)? \|/gm)].flatMap((m) => [m[1], m[2]]).filter(Boolean);
    expect(Object.keys(CONFIG_KEYS).filter((key) => !rows.includes(key))).toEqual([]);
    expect(rows.filter((key) => !Object.hasOwn(CONFIG_KEYS, key!))).toEqual([]);
  });

  it('rejects a sweep grace shorter than the deliver timeout', () => {
    const stack = new Stack(app(), 'S');
    expect(() => new NotificationService(stack, 'H', { catalog: { p: { channels: ['push'] } }, sweepGrace: Duration.seconds(5) })).toThrow(
      'sweepGrace must be at least the deliver function timeout',
    );
  });
});

describe('NotificationService: AWS rules the template follows', () => {
  const roles = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::IAM::Role' && JSON.stringify(r.Properties['AssumeRolePolicyDocument']).includes('lambda.amazonaws.com'));
  const heraldRoles = heraldFunctions(resources).map((f) => f.Properties['Role']['Fn::GetAtt'][0] as string);

  it('lets each function write logs to its own log group only (not AWSLambdaBasicExecutionRole, which allows every log group)', () => {
    expect(heraldRoles).toHaveLength(8);
    for (const [id, role] of roles.filter(([id]) => heraldRoles.includes(id))) {
      expect(JSON.stringify(role.Properties['ManagedPolicyArns'] ?? [])).not.toContain('AWSLambdaBasicExecutionRole');
      const fn = heraldFunctions(resources).find((f) => f.Properties['Role']['Fn::GetAtt'][0] === id)!;
      const logGroupId = fn.Properties['LoggingConfig']['LogGroup']['Ref'] as string;
      const policy = Object.values(resources).find((r) => r.Type === 'AWS::IAM::Policy' && r.Properties['Roles'].some((x: any) => x.Ref === id))!;
      const logs = policy.Properties['PolicyDocument'].Statement.filter((st: any) => JSON.stringify(st.Action).includes('logs:'));
      expect(logs).toEqual([{ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] } }]);
    }
  });

  it('starts no function with --enable-source-maps (Node would parse the 2–3 MB maps at every cold start)', () => {
    for (const fn of heraldFunctions(resources)) expect(JSON.stringify(fn.Properties['Environment'])).not.toContain('enable-source-maps');
  });

  it('names the WebSocket API after the stack and throttles its stage, by default and as configured', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { Name: 'Herald-push', ProtocolType: 'WEBSOCKET' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 } });
    synth({ pushThrottle: { rateLimit: 50, burstLimit: 100 } }).template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });

  it("caps each user's connections at 10 by default, as configured, and lets the connection function read the user's connections", () => {
    const connectionEnv = (t: typeof template) =>
      Object.values(t.toJSON().Resources as typeof resources).filter((r) => r.Type === 'AWS::Lambda::Function' && JSON.stringify(r.Properties['Environment'] ?? {}).includes('MAX_CONNECTIONS_PER_USER'));
    expect(connectionEnv(template).map((f) => f.Properties['Environment']['Variables']['MAX_CONNECTIONS_PER_USER'])).toEqual(['10']);
    expect(connectionEnv(synth({ maxConnectionsPerUser: 3 }).template).map((f) => f.Properties['Environment']['Variables']['MAX_CONNECTIONS_PER_USER'])).toEqual(['3']);
    expect(connectionEnv(template).map((f) => f.Properties['Environment']['Variables']['MAX_CONNECTIONS_PER_DEVICE_SESSION'])).toEqual(['5']);
    expect(connectionEnv(synth({ maxConnectionsPerDeviceSession: 2 }).template).map((f) => f.Properties['Environment']['Variables']['MAX_CONNECTIONS_PER_DEVICE_SESSION'])).toEqual(['2']);
    expect(JSON.stringify(template.toJSON())).toMatch(/"dynamodb:DeleteItem","dynamodb:PutItem","dynamodb:Query"|"dynamodb:PutItem","dynamodb:DeleteItem","dynamodb:Query"/);
  });

  it('gives the connection function its client budget (the defaults, or as configured) and lets it charge resumes on the connections table', () => {
    const budgetOf = (t: typeof template) =>
      Object.values(t.toJSON().Resources as typeof resources)
        .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties['Environment']?.['Variables']?.['CLIENT_BUDGET'] !== undefined)
        .map((f) => JSON.parse(f.Properties['Environment']['Variables']['CLIENT_BUDGET'] as string));
    expect(budgetOf(template)).toEqual([{ messagesPerMinute: 60, messageBurst: 20, resumesPerMinute: 10, replayEventsPerMinute: 10_000 }]);
    expect(budgetOf(synth({ clientBudget: { resumesPerMinute: 4 } }).template)).toEqual([{ messagesPerMinute: 60, messageBurst: 20, resumesPerMinute: 4, replayEventsPerMinute: 10_000 }]);
    expect(JSON.stringify(template.toJSON())).toContain('"dynamodb:PutItem","dynamodb:DeleteItem","dynamodb:Query","dynamodb:UpdateItem"');
  });

  it('invokes accept at once by default; intakeBatchingWindowSeconds gathers intents that long, and the intake\'s visibility timeout grows by it', () => {
    const intake = (t: typeof template) => {
      const mappings = Object.values(t.findResources('AWS::Lambda::EventSourceMapping'));
      const queues = t.findResources('AWS::SQS::Queue');
      const mapping = mappings.find((m) => JSON.stringify(m.Properties.EventSourceArn).includes('Intake'))!;
      const queueId = (mapping.Properties.EventSourceArn as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
      return { window: mapping.Properties.MaximumBatchingWindowInSeconds, visibility: queues[queueId]!.Properties.VisibilityTimeout };
    };
    expect(intake(template)).toEqual({ window: 0, visibility: 30 });
    expect(intake(synth({ intakeBatchingWindowSeconds: 2 }).template)).toEqual({ window: 2, visibility: 32 });
  });

  it('alarms on throttled routes only when a threshold is configured', () => {
    const alarmNames = (t: typeof template) => Object.keys(t.findResources('AWS::CloudWatch::Alarm'));
    expect(alarmNames(template).filter((id) => id.includes('ThrottledRoutes'))).toEqual([]);
    const configured = synth({ throttledRoutesAlarmThreshold: 50 }).template;
    configured.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'RoutesThrottledTotal', Threshold: 50, AlarmDescription: Match.stringLikeRegexp('Runbook: docs/operations.md#throttledroutes') });
  });

  it('reserves concurrency only where configured', () => {
    expect(heraldFunctions(resources).every((f) => f.Properties['ReservedConcurrentExecutions'] === undefined)).toBe(true);
    const reserved = synth({ reservedConcurrency: { accept: 20, deliver: 50, connection: 10 } });
    const reservedOf = (fn: { node: { defaultChild?: unknown } }) => (reserved.template.toJSON().Resources as typeof resources)[logicalId(fn, reserved.stack)]!.Properties['ReservedConcurrentExecutions'];
    expect(reservedOf(reserved.stack.service.acceptFunction)).toBe(20);
    expect(reservedOf(reserved.stack.service.deliverFunction)).toBe(50);
    expect(reservedOf(reserved.stack.service.push!.connectionFunction)).toBe(10);
    expect(reservedOf(reserved.stack.service.sweeperFunction)).toBeUndefined();
  });

  it('matches bus events on the configured sources too', () => {
    const { template: sourced } = synth({ intentSources: ['shop'], lifecycleSources: ['accounts', 'auth'] });
    sourced.hasResourceProperties('AWS::Events::Rule', { EventPattern: { 'detail-type': ['herald.intent'], source: ['shop'] } });
    sourced.hasResourceProperties('AWS::Events::Rule', { EventPattern: { 'detail-type': ['herald.lifecycle'], source: ['accounts', 'auth'] } });
  });

  it('does not let Lambda retry a failed sweep (the next scheduled run does the same work)', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(service.sweeperFunction) },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });
  });

  it('passes the configuration set to the deliverer and allows sending with it', () => {
    const { stack: configured, template: synthesized } = synth({ emailConfigurationSet: 'herald-events' });
    const deliverId = logicalId(configured.service.deliverFunction, configured);
    expect(synthesized.toJSON().Resources[deliverId].Properties.Environment.Variables.EMAIL_CONFIGURATION_SET).toBe('herald-events');
    const statements = policyStatements(configured.service.deliverFunction, { stack: configured, resources: synthesized.toJSON().Resources });
    expect(JSON.stringify(statements.find((st) => st.Action === 'ses:SendEmail').Resource)).toContain(':configuration-set/herald-events');
  });
});

describe('NotificationService: email feedback (SES configuration set → default bus → feedback queue)', () => {
  it('sends every email with a configuration set of its own whose event destination is the default bus, for the five feedback event types', () => {
    const setId = Object.entries(resources).find(([, r]) => r.Type === 'AWS::SES::ConfigurationSet')![0];
    expect(service.emailConfigurationSetName).toBeDefined();
    template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      ConfigurationSetName: { Ref: setId },
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: ['bounce', 'complaint', 'delivery', 'reject', 'deliveryDelay'],
        EventBridgeDestination: { EventBusArn: { 'Fn::Join': ['', Match.arrayWith([':event-bus/default'])] } },
      },
    });
    const deliver = resources[logicalId(service.deliverFunction)]!;
    expect(deliver.Properties['Environment'].Variables.EMAIL_CONFIGURATION_SET).toEqual({ Ref: setId });
  });

  it('takes only SES events of its configuration set from the default bus into the feedback queue, failed deliveries to the bus DLQ', () => {
    const rule = Object.values(resources).find((r) => r.Type === 'AWS::Events::Rule' && JSON.stringify(r.Properties['EventPattern'] ?? {}).includes('aws.ses'))!;
    // No EventBusName: the default bus, the only one SES publishes to.
    expect(rule.Properties['EventBusName']).toBeUndefined();
    const setId = Object.entries(resources).find(([, r]) => r.Type === 'AWS::SES::ConfigurationSet')![0];
    expect(rule.Properties['EventPattern']).toEqual({
      source: ['aws.ses'],
      'detail-type': ['Email Bounced', 'Email Complaint Received', 'Email Delivered', 'Email Rejected', 'Email Delivery Delayed'],
      detail: { mail: { tags: { 'ses:configuration-set': [{ Ref: setId }] } } },
    });
    expect(rule.Properties['Targets']).toEqual([expect.objectContaining({
      Arn: { 'Fn::GetAtt': [logicalId(service.feedbackQueue!), 'Arn'] },
      RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86400 },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(service.busDeadLetterQueue), 'Arn'] } },
    })]);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(service.feedbackFunction!) },
      EventSourceArn: { 'Fn::GetAtt': [logicalId(service.feedbackQueue!), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(service.feedbackDeadLetterQueue!), 'Arn'] }, maxReceiveCount: 6 },
    });
    const policy = Object.values(resources).find((r) => r.Type === 'AWS::SQS::QueuePolicy' && JSON.stringify(r.Properties['Queues']).includes(logicalId(service.feedbackQueue!)))!;
    expect(JSON.stringify(policy.Properties['PolicyDocument'])).toContain('events.amazonaws.com');
  });

  it('lets the feedback function write routes and suppression entries, and nothing else on the table', () => {
    const statements = policyStatements(service.feedbackFunction!);
    const onTable = statements.filter((st) => JSON.stringify(st.Resource).includes(logicalId(service.table as never)));
    expect(onTable.flatMap((st) => [st.Action].flat()).sort()).toEqual(['dynamodb:PutItem', 'dynamodb:UpdateItem']);
  });

  it('alarms at SES\'s review thresholds: bounce rate 5 %, complaint rate 0.1 % (SES\'s reputation metrics, 0–1)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SES', MetricName: 'Reputation.BounceRate', Threshold: 0.05, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching',
      AlarmDescription: Match.stringLikeRegexp('docs/operations.md#emailbouncerate'),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SES', MetricName: 'Reputation.ComplaintRate', Threshold: 0.001, ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmDescription: Match.stringLikeRegexp('docs/operations.md#emailcomplaintrate'),
    });
  });

  it('adds its destination to a configuration set you name, and creates none', () => {
    const { stack: configured, template: synthesized } = synth({ emailConfigurationSet: 'herald-events' });
    const json = synthesized.toJSON().Resources as typeof resources;
    expect(Object.values(json).some((r) => r.Type === 'AWS::SES::ConfigurationSet')).toBe(false);
    synthesized.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', { ConfigurationSetName: 'herald-events' });
    expect(configured.service.emailConfigurationSetName).toBe('herald-events');
  });

  it('with emailFeedback false: no configuration set, destination, queue, function or rule for it (the reputation alarms stay)', () => {
    const { stack: configured, template: synthesized } = synth({ emailFeedback: false });
    const json = synthesized.toJSON().Resources as typeof resources;
    expect(Object.values(json).filter((r) => r.Type.startsWith('AWS::SES::'))).toEqual([]);
    expect(configured.service.feedbackFunction).toBeUndefined();
    expect(JSON.stringify(json)).not.toContain('aws.ses');
    expect(JSON.stringify(json)).not.toContain('EMAIL_CONFIGURATION_SET');
    synthesized.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Reputation.BounceRate' });
  });
});

describe('cdk-nag AwsSolutions', () => {
  /** What cdk-nag reports as errors on the stack synthesized from `of` (acknowledged findings are not errors). */
  function nagErrors(of: HeraldConfigFile) {
    const nagApp = app();
    const nagged = new HeraldStack(nagApp, 'Herald', { config: of });
    Validations.of(nagApp).addPlugins(new AwsSolutionsChecks(nagApp));
    expect(() => nagApp.synth()).not.toThrow();
    return Annotations.fromStack(nagged).findError('*', Match.anyValue());
  }

  it('passes with every acknowledgement carrying a reason', () => {
    expect(nagErrors(config)).toEqual([]);
  });

  it('passes email-only (push: false)', () => {
    expect(nagErrors(emailOnlyConfig)).toEqual([]);
  });

  it('passes with provisioned capacity too (its auto scaling uses the DynamoDB service-linked role)', () => {
    expect(nagErrors({ ...config, tableCapacity: { mode: 'provisioned', maxWriteCapacity: 100, maxReadCapacity: 50 } })).toEqual([]);
  });
});

describe('NotificationService: email only (push: false, config/herald.email-only.json)', () => {
  const emailOnly = new HeraldStack(app(), 'Herald', { config: emailOnlyConfig });
  const json = Template.fromStack(emailOnly).toJSON() as { Resources: typeof resources; Outputs: Record<string, unknown> };
  const types = Object.values(json.Resources).map((r) => r.Type);

  it('builds no WebSocket API, authorizer, token secret, connection function, connections or streams table; its app API has only the unsubscribe routes', () => {
    expect(emailOnly.service.push).toBeUndefined();
    const routes = Object.values(json.Resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route').map((r) => r.Properties['RouteKey']);
    expect(routes.sort()).toEqual(['GET /v1/unsubscribe', 'POST /v1/unsubscribe']);
    expect(Object.values(json.Resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Api').map((r) => r.Properties['ProtocolType'])).toEqual(['HTTP']);
    expect(Object.values(json.Resources).filter((r) => r.Type === 'AWS::SecretsManager::Secret').map((r) => r.Properties['Description'])).toEqual(['HS256 key that signs Herald one-click unsubscribe links']);
    expect(types.filter((t) => t === 'AWS::DynamoDB::Table')).toHaveLength(1);
    // accept, deliver, sweeper, lifecycle, feedback, the app API.
    expect(heraldFunctions(json.Resources)).toHaveLength(6);
    expect(Object.keys(json.Outputs).filter((name) => /WebSocket|Connections|Streams|TokenSecret/.test(name))).toEqual([]);
  });

  it('gives no function push settings or permissions, and accept no first push attempt', () => {
    for (const fn of heraldFunctions(json.Resources)) {
      const variables = fn.Properties['Environment'].Variables as Record<string, unknown>;
      expect(Object.keys(variables).filter((name) => /STREAMS_TABLE|CONNECTIONS_TABLE|WEBSOCKET_CALLBACK_URL/.test(name))).toEqual([]);
      if ('FIRST_PUSH_ATTEMPT_MAX_ROUTES' in variables) expect(variables['FIRST_PUSH_ATTEMPT_MAX_ROUTES']).toBe('0');
    }
    expect(JSON.stringify(json.Resources)).not.toContain('execute-api:ManageConnections');
  });

  it('alarms on and draws only what it has: five functions (with feedback), one table, no push row', () => {
    const alarmNames = Object.values(json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').map((r) => JSON.stringify(r.Properties['AlarmDescription'] ?? ''));
    expect(alarmNames.some((name) => /Authorizer|Connection|Streams/.test(name))).toBe(false);
    expect(alarmNames.filter((name) => name.includes('function is failing'))).toHaveLength(5);
    const dashboard = Object.values(json.Resources).find((r) => r.Type === 'AWS::CloudWatch::Dashboard')!;
    const body = JSON.stringify(dashboard.Properties['DashboardBody']);
    expect(body).toContain('1. Intake');
    expect(body).not.toContain('3. Push');
  });

  it('refuses a first push attempt setting, which needs push', () => {
    const stack = new Stack(app(), 'S');
    expect(() => new NotificationService(stack, 'H', { catalog: emailOnlyConfig.catalog, emailFrom: 'a@example.com', push: false, firstPushAttemptMaxRoutes: 5 })).toThrow(
      'firstPushAttemptMaxRoutes needs push; with push: false leave it out',
    );
  });
});

describe('NotificationService: the app API (HTTP)', () => {
  const [apiId, api] = Object.entries(resources).find(([, r]) => r.Type === 'AWS::ApiGatewayV2::Api' && r.Properties['ProtocolType'] === 'HTTP')!;
  const fnId = logicalId(service.appApi!.apiFunction);

  it('routes preferences, the inbox and unsubscribe to the api function, payload format 2.0, with CORS for any origin and the headers a client sends', () => {
    const routes = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route' && r.Properties['ApiId'].Ref === apiId);
    expect(routes.map((r) => r.Properties['RouteKey']).sort()).toEqual([
      'GET /v1/inbox', 'GET /v1/inbox/counts', 'GET /v1/preferences', 'GET /v1/unsubscribe', 'POST /v1/inbox/mark', 'POST /v1/inbox/mark-all', 'POST /v1/unsubscribe', 'PUT /v1/preferences',
    ]);
    for (const route of routes) {
      const integration = resources[route.Properties['Target']['Fn::Join'][1][1].Ref]!;
      expect(integration.Properties).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0', IntegrationUri: { 'Fn::GetAtt': [fnId, 'Arn'] } });
      // No authorizer: the function verifies the token (an authorizer would be a second invocation).
      expect(route.Properties['AuthorizationType'] ?? 'NONE').toBe('NONE');
    }
    expect(api.Properties['CorsConfiguration']).toEqual({
      AllowOrigins: ['*'], AllowMethods: ['GET', 'PUT', 'POST'], AllowHeaders: ['authorization', 'content-type', 'if-match'], ExposeHeaders: ['etag'], MaxAge: 3600,
    });
  });

  it('gives the api function the token settings of the WebSocket, and on the table itself only GetItem/UpdateItem — and Query/BatchGetItem with an inbox, plus publishing on the streams', () => {
    const env = resources[fnId]!.Properties['Environment']['Variables'];
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['TABLE_NAME', 'JWT_SECRET_ARN', 'STREAMS_TABLE', 'CONNECTIONS_TABLE', 'WEBSOCKET_CALLBACK_URL', 'INBOX_RETENTION_DAYS']));
    expect(env['INBOX_RETENTION_DAYS']).toBe('90');
    const statements = policyStatements(service.appApi!.apiFunction);
    const onTable = statements.filter((st: any) => JSON.stringify(st.Resource) === JSON.stringify({ 'Fn::GetAtt': [logicalId(service.table), 'Arn'] }));
    expect(onTable).toEqual([{ Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [logicalId(service.table), 'Arn'] } }]);
    expect(JSON.stringify(statements)).toContain('secretsmanager:GetSecretValue');
    expect(JSON.stringify(statements)).toContain('execute-api:ManageConnections');

    const plain = synth({ catalog: withoutInbox(config.catalog) });
    const plainStatements = policyStatements(plain.stack.service.appApi!.apiFunction, { stack: plain.stack, resources: plain.template.toJSON().Resources });
    const plainDynamo = plainStatements.filter((st: any) => JSON.stringify(st.Action).includes('dynamodb:'));
    expect(plainDynamo).toEqual([{ Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [logicalId(plain.stack.service.table, plain.stack), 'Arn'] } }]);
  });

  it('refuses an inbox type without push (the inbox needs its tokens and streams)', () => {
    expect(() => synth({ push: false, catalog: { note: { channels: ['email'], inbox: true, email: { subject: 's', text: 't' } } } })).toThrow(/push is off.*"note" go to the inbox/);
  });
});
