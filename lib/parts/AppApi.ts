import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { CorsHttpMethod, HttpApi, HttpMethod, HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { HeraldFunction, type HeraldFunctionProps } from './HeraldFunction.ts';

export interface AppApiProps {
  readonly table: ITable;
  /**
   * With push: the access tokens' settings as the WebSocket's authorizer has them (JWT_SECRET_ARN
   * or JWKS_URL, JWT_ISSUER, JWT_AUDIENCE), which the preferences routes take.
   */
  readonly accessTokens?: { readonly environment: Readonly<Record<string, string>>; readonly secret?: ISecret };
  /** With email: the one-click unsubscribe routes, and a key of their own to sign the links. */
  readonly unsubscribe: boolean;
  /**
   * With a catalog type kept in the inbox (and push): the inbox routes, with what they need — the
   * push gateway's environment and grants (each change is an event in the user's stream, posted
   * to their connections) and the inbox settings.
   */
  readonly inbox?: { readonly environment: Readonly<Record<string, string>>; readonly grantPublish: (fn: HeraldFunction) => void };
  readonly environment: Readonly<Record<string, string>>;
  readonly functionDefaults: Pick<HeraldFunctionProps, 'removalPolicy' | 'logRetention' | 'tracing' | 'logging' | 'define'>;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The HTTP API of apps and of email recipients (docs/openapi.yaml), answered by one function:
 * `GET` / `PUT /v1/preferences` with the WebSocket's access tokens (the user is the token's,
 * never a parameter; no authorizer, so no second invocation), and `GET` / `POST /v1/unsubscribe`,
 * the one-click unsubscribe link every email a user may turn off carries (RFC 8058).
 */
export class AppApi extends Construct {
  public readonly api: HttpApi;
  public readonly apiFunction: HeraldFunction;
  /** Signs the unsubscribe links (deliver) and verifies them (the api function). */
  public readonly unsubscribeSecret?: Secret;

  public constructor(scope: Construct, id: string, props: AppApiProps) {
    super(scope, id);
    if (props.unsubscribe) {
      this.unsubscribeSecret = new Secret(this, 'UnsubscribeSecret', {
        description: 'HS256 key that signs Herald one-click unsubscribe links',
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
        removalPolicy: props.removalPolicy,
      });
      Validations.of(this.unsubscribeSecret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'Rotating the unsubscribe key would invalidate every link in mail already sent; it is replaced by hand if it leaks.',
      });
    }
    this.apiFunction = new HeraldFunction(this, 'Function', {
      ...props.functionDefaults,
      handler: 'api',
      timeout: Duration.seconds(10),
      memorySize: 256,
      environment: {
        ...props.environment,
        ...(props.accessTokens?.environment ?? {}),
        ...(this.unsubscribeSecret ? { UNSUBSCRIBE_SECRET_ARN: this.unsubscribeSecret.secretArn } : {}),
        ...(props.inbox?.environment ?? {}),
      },
    });
    // The users' state items only need the table itself, not its indexes (which table.grant adds);
    // the inbox also lists (Query), reads items by key (BatchGetItem) and changes them in transactions (UpdateItem, PutItem on the stream).
    const tableActions = props.inbox ? ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'] : ['dynamodb:GetItem', 'dynamodb:UpdateItem'];
    this.apiFunction.addToRolePolicy(new PolicyStatement({ actions: tableActions, resources: [props.table.tableArn] }));
    if (props.inbox) props.inbox.grantPublish(this.apiFunction);
    props.accessTokens?.secret?.grantRead(this.apiFunction);
    this.unsubscribeSecret?.grantRead(this.apiFunction);

    this.api = new HttpApi(this, 'Http', {
      description: 'Herald for apps and email recipients: notification preferences (Authorization: Bearer <the WebSocket token>) and one-click unsubscribe',
      // Bearer tokens and signed links, no cookies: any origin may call it.
      corsPreflight: {
        allowOrigins: ['*'],
        allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.PUT, CorsHttpMethod.POST],
        allowHeaders: ['authorization', 'content-type', 'if-match'],
        exposeHeaders: ['etag'],
        maxAge: Duration.hours(1),
      },
    });
    const integration = new HttpLambdaIntegration('Api', this.apiFunction);
    const routes = [
      ...(props.accessTokens ? this.api.addRoutes({ path: '/v1/preferences', methods: [HttpMethod.GET, HttpMethod.PUT], integration }) : []),
      ...(props.unsubscribe ? this.api.addRoutes({ path: '/v1/unsubscribe', methods: [HttpMethod.GET, HttpMethod.POST], integration }) : []),
      ...(props.inbox && props.accessTokens
        ? [
          ...this.api.addRoutes({ path: '/v1/inbox', methods: [HttpMethod.GET], integration }),
          ...this.api.addRoutes({ path: '/v1/inbox/counts', methods: [HttpMethod.GET], integration }),
          ...this.api.addRoutes({ path: '/v1/inbox/mark', methods: [HttpMethod.POST], integration }),
          ...this.api.addRoutes({ path: '/v1/inbox/mark-all', methods: [HttpMethod.POST], integration }),
        ]
        : []),
    ];
    for (const route of routes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: 'The function authorizes each request itself: preferences and the inbox by the access token (HS256 or JWKS, as the WebSocket authorizer; 401 without one), unsubscribe by the signed link (RFC 8058 asks for no sign-in). An authorizer would add an invocation to every request.',
      });
    }
    Validations.of(this.api.defaultStage as HttpStage).acknowledge({
      id: 'AwsSolutions-APIG1',
      reason: 'Stage access logs need the account-wide API Gateway CloudWatch role, which this construct must not change; every request is counted (ApiRequests, Unsubscribes) and refusals logged by the function.',
    });
  }

  /** The API's base URL (https://<id>.execute-api.<region>.amazonaws.com). */
  public get url(): string {
    return this.api.apiEndpoint;
  }
}
