import type { ClientBudgetPolicy } from '../../functions/core/push/ClientBudget.ts';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AttributeType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { HeraldFunction, type HeraldFunctionProps } from './HeraldFunction.ts';
import { autoScaleTable, tableBilling, type ValidatedTableCapacity } from './TableCapacity.ts';

/** How `$connect` verifies tokens: an HS256 secret in Secrets Manager (default), or a JWKS URL. */
export interface ConnectionAuthProps {
  /** Verify RS256/ES256/EdDSA tokens with this JWKS. Takes precedence over `hmacSecret`. */
  readonly jwksUrl?: string;
  /** Secret whose string is the HS256 key. @default a generated 64-character secret */
  readonly hmacSecret?: ISecret;
  /** Required `iss`. Required with `jwksUrl`; with the HS256 secret, checked when set. */
  readonly issuer?: string;
  /**
   * Required `aud`. Required with `jwksUrl`: an identity provider's keys sign the tokens of every
   * application it serves, so without it a token for another application would connect.
   */
  readonly audience?: string;
}

export interface PushGatewayProps {
  readonly auth?: ConnectionAuthProps;
  /** @default 'live' */
  readonly stageName?: string;
  /** Stage-wide message rate and burst limits. */
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  readonly maxConnectionsPerUser: number;
  readonly maxConnectionsPerDeviceSession: number;
  readonly clientBudget: ClientBudgetPolicy;
  /** Reserved concurrency of the gateway's functions. */
  readonly reservedConcurrency?: { readonly authorizer?: number; readonly connection?: number };
  readonly notificationsTable: Table;
  /** How the connections and streams tables are billed. */
  readonly capacity: ValidatedTableCapacity;
  readonly removalPolicy: RemovalPolicy;
  readonly logRetention: RetentionDays;
  readonly environment: Record<string, string>;
  /** X-Ray active tracing on the gateway's functions. */
  readonly tracing: boolean;
  /** Lambda log format and levels of the gateway's functions. */
  readonly logging: HeraldFunctionProps['logging'];
}

/**
 * The WebSocket side of push: API Gateway WebSocket API with a REQUEST authorizer on `$connect`,
 * the connection registry and the per-user event buffer, and the function behind every route.
 */
export class PushGateway extends Construct {
  public readonly api: WebSocketApi;
  public readonly stage: WebSocketStage;
  public readonly connectionsTable: Table;
  public readonly streamsTable: Table;
  public readonly authorizerFunction: HeraldFunction;
  public readonly connectionFunction: HeraldFunction;
  /** The HS256 secret, when tokens are verified with one. */
  public readonly tokenSecret?: ISecret;
  /** How access tokens are verified (JWT_SECRET_ARN or JWKS_URL, JWT_ISSUER, JWT_AUDIENCE): the app API takes the same tokens. */
  public readonly tokenEnvironment: Readonly<Record<string, string>>;

  public constructor(scope: Construct, id: string, props: PushGatewayProps) {
    super(scope, id);
    const tableDefaults = {
      ...tableBilling(props.capacity),
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expires_at',
      removalPolicy: props.removalPolicy,
    };
    this.connectionsTable = new Table(this, 'Connections', {
      ...tableDefaults,
      partitionKey: { name: 'user_id', type: AttributeType.STRING },
      sortKey: { name: 'connection_id', type: AttributeType.STRING },
    });
    this.streamsTable = new Table(this, 'Streams', {
      ...tableDefaults,
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
    });
    for (const table of [this.connectionsTable, this.streamsTable]) autoScaleTable(table, [], props.capacity);

    const auth = props.auth ?? {};
    const authEnvironment: Record<string, string> = {
      ...(auth.issuer ? { JWT_ISSUER: auth.issuer } : {}),
      ...(auth.audience ? { JWT_AUDIENCE: auth.audience } : {}),
    };
    if (auth.jwksUrl) {
      if (!/^https:\/\//.test(auth.jwksUrl)) throw new Error('NotificationService: push.auth.jwksUrl must be an https:// URL');
      const missing = (['issuer', 'audience'] as const).filter((claim) => !auth[claim]);
      if (missing.length > 0) {
        throw new Error(
          `NotificationService: push.auth.jwksUrl needs ${missing.join(' and ')} too: the identity provider's keys also sign tokens for its other applications, and those must not connect`,
        );
      }
      authEnvironment['JWKS_URL'] = auth.jwksUrl;
    } else {
      const secret =
        auth.hmacSecret ??
        new Secret(this, 'TokenSecret', {
          description: 'HS256 key that signs Herald WebSocket connection tokens',
          generateSecretString: { passwordLength: 64, excludePunctuation: true },
          removalPolicy: props.removalPolicy,
        });
      if (!auth.hmacSecret) {
        Validations.of(secret).acknowledge({
          id: 'AwsSolutions-SMG4',
          reason: 'A token-signing key is rotated by issuing a new secret and re-signing tokens; automatic rotation would invalidate every live token at once.',
        });
      }
      this.tokenSecret = secret;
      authEnvironment['JWT_SECRET_ARN'] = secret.secretArn;
    }

    this.tokenEnvironment = authEnvironment;
    const functionDefaults = { removalPolicy: props.removalPolicy, logRetention: props.logRetention, tracing: props.tracing, logging: props.logging };
    this.authorizerFunction = new HeraldFunction(this, 'Authorizer', {
      ...functionDefaults,
      handler: 'authorizer',
      ...(props.reservedConcurrency?.authorizer !== undefined ? { reservedConcurrency: props.reservedConcurrency.authorizer } : {}),
      timeout: Duration.seconds(10),
      memorySize: 256,
      // Only the Powertools settings of the shared environment: the authorizer touches no table.
      environment: { ...Object.fromEntries(Object.entries(props.environment).filter(([name]) => name.startsWith('POWERTOOLS_'))), ...authEnvironment },
    });
    this.tokenSecret?.grantRead(this.authorizerFunction);

    this.api = new WebSocketApi(this, 'Api', {
      apiName: `${Stack.of(this).stackName}-push`,
      description: 'Herald push: clients connect with ?token=<JWT> and resume from a cursor',
      routeSelectionExpression: '$request.body.action',
    });
    this.stage = new WebSocketStage(this, 'Stage', { webSocketApi: this.api, stageName: props.stageName ?? 'live', autoDeploy: true, throttle: props.throttle });

    this.connectionFunction = new HeraldFunction(this, 'Connection', {
      ...functionDefaults,
      handler: 'connection',
      ...(props.reservedConcurrency?.connection !== undefined ? { reservedConcurrency: props.reservedConcurrency.connection } : {}),
      timeout: Duration.seconds(29),
      memorySize: 256,
      environment: { ...props.environment, ...this.pushEnvironment(), MAX_CONNECTIONS_PER_USER: String(props.maxConnectionsPerUser), MAX_CONNECTIONS_PER_DEVICE_SESSION: String(props.maxConnectionsPerDeviceSession), CLIENT_BUDGET: JSON.stringify(props.clientBudget) },
    });
    const integration = new WebSocketLambdaIntegration('Connection', this.connectionFunction);
    const authorizer = new WebSocketLambdaAuthorizer('TokenAuthorizer', this.authorizerFunction, {
      identitySource: ['route.request.querystring.token'],
    });
    this.api.addRoute('$connect', { integration, authorizer });
    for (const routeKey of ['$disconnect', '$default', 'resume', 'ping']) {
      const route = this.api.addRoute(routeKey, { integration });
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: 'API Gateway WebSocket APIs authorize once, on $connect; every later route of the connection carries that authorizer context.',
      });
    }
    Validations.of(this.stage).acknowledge({
      id: 'AwsSolutions-APIG1',
      reason: 'Stage access logs need the account-wide API Gateway CloudWatch role, which this construct must not change; connects, refusals and every frame sent are logged by the functions.',
    });

    // Query: the user's connections, for the per-user cap. UpdateItem: a resume's charge on its entry (the replay budget).
    this.connectionsTable.grant(this.connectionFunction, 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:UpdateItem');
    // Query reads the head with the newest event; PutItem/UpdateItem: resume begins a stream (or a
    // new epoch of one) if need be, so every cursor it hands out is resumable.
    this.streamsTable.grant(this.connectionFunction, 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    this.stage.grantManagementApiAccess(this.connectionFunction);
    this.acknowledgeConnectionWildcard(this.connectionFunction);
  }

  private acknowledgeConnectionWildcard(fn: HeraldFunction): void {
    const apiId = Stack.of(this).getLogicalId(this.api.node.defaultChild as never);
    fn.acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiId}>/${this.stage.stageName}/*/@connections/*]`,
      reason: 'Connection ids are created at run time; the grant is scoped to this API and stage and to the @connections management API only.',
    });
  }

  /** Environment a function needs to publish to or read from the push side. */
  public pushEnvironment(): Record<string, string> {
    return {
      CONNECTIONS_TABLE: this.connectionsTable.tableName,
      STREAMS_TABLE: this.streamsTable.tableName,
      WEBSOCKET_CALLBACK_URL: this.stage.callbackUrl,
    };
  }

  /**
   * What a publisher (deliver, accept's first push attempt) needs: read heads (Query) and the event
   * at a retried position (BatchGetItem), put events, begin streams and epochs, find and post to connections.
   */
  public grantPublish(grantee: IGrantable): void {
    this.streamsTable.grant(grantee, 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    this.connectionsTable.grant(grantee, 'dynamodb:Query', 'dynamodb:DeleteItem');
    this.stage.grantManagementApiAccess(grantee);
    if (grantee instanceof HeraldFunction) this.acknowledgeConnectionWildcard(grantee);
  }

  /** Reading events by key (BatchGetItem): a route pushed at acceptance is published when its event is stored. */
  public grantReadEvents(grantee: IGrantable): void {
    this.streamsTable.grant(grantee, 'dynamodb:BatchGetItem');
  }

  /** What the lifecycle function needs: purge streams, end sessions. */
  public grantPurge(grantee: IGrantable): void {
    this.streamsTable.grant(grantee, 'dynamodb:Query', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem');
    this.connectionsTable.grant(grantee, 'dynamodb:Query', 'dynamodb:DeleteItem');
    this.stage.grantManagementApiAccess(grantee);
    if (grantee instanceof HeraldFunction) this.acknowledgeConnectionWildcard(grantee);
  }

  /** The public URL clients connect to. */
  public get url(): string {
    return this.stage.url;
  }
}
