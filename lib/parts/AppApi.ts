import { Duration, Validations } from 'aws-cdk-lib';
import { CorsHttpMethod, HttpApi, HttpMethod, HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { HeraldFunction, type HeraldFunctionProps } from './HeraldFunction.ts';

export interface AppApiProps {
  readonly table: ITable;
  /** The access tokens' settings, as the WebSocket's authorizer has them (JWT_SECRET_ARN or JWKS_URL, JWT_ISSUER, JWT_AUDIENCE). */
  readonly tokenEnvironment: Readonly<Record<string, string>>;
  readonly tokenSecret?: ISecret;
  readonly environment: Readonly<Record<string, string>>;
  readonly functionDefaults: Pick<HeraldFunctionProps, 'removalPolicy' | 'logRetention' | 'tracing' | 'logging' | 'define'>;
  readonly reservedConcurrency?: number;
}

/**
 * The HTTP API apps call with the same access tokens as the WebSocket: `GET` / `PUT
 * /v1/preferences` (docs/openapi.yaml). One function verifies the token and answers, so there is no
 * authorizer invocation on top of it; the user is the token's, never a parameter.
 */
export class AppApi extends Construct {
  public readonly api: HttpApi;
  public readonly apiFunction: HeraldFunction;

  public constructor(scope: Construct, id: string, props: AppApiProps) {
    super(scope, id);
    this.apiFunction = new HeraldFunction(this, 'Function', {
      ...props.functionDefaults,
      handler: 'api',
      ...(props.reservedConcurrency !== undefined ? { reservedConcurrency: props.reservedConcurrency } : {}),
      timeout: Duration.seconds(10),
      memorySize: 256,
      environment: { ...props.environment, ...props.tokenEnvironment },
    });
    // The users' state items only need the table itself, not its indexes (which table.grant adds).
    this.apiFunction.addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [props.table.tableArn] }));
    props.tokenSecret?.grantRead(this.apiFunction);

    this.api = new HttpApi(this, 'Http', {
      description: 'Herald for apps: the signed-in user\'s notification preferences (Authorization: Bearer <the WebSocket token>)',
      // Bearer tokens, no cookies: any origin may call it; the token decides what it may see.
      corsPreflight: {
        allowOrigins: ['*'],
        allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.PUT],
        allowHeaders: ['authorization', 'content-type', 'if-match'],
        exposeHeaders: ['etag'],
        maxAge: Duration.hours(1),
      },
    });
    const integration = new HttpLambdaIntegration('Api', this.apiFunction);
    for (const route of this.api.addRoutes({ path: '/v1/preferences', methods: [HttpMethod.GET, HttpMethod.PUT], integration })) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: 'The function verifies the access token itself (HS256 or JWKS, as the WebSocket authorizer) and answers 401 without one: an authorizer would add an invocation to every request.',
      });
    }
    const stage = this.api.defaultStage as HttpStage;
    Validations.of(stage).acknowledge({
      id: 'AwsSolutions-APIG1',
      reason: 'Stage access logs need the account-wide API Gateway CloudWatch role, which this construct must not change; every request is counted (ApiRequests) and refusals logged by the function.',
    });
  }

  /** The API's base URL (https://<id>.execute-api.<region>.amazonaws.com). */
  public get url(): string {
    return this.api.apiEndpoint;
  }
}
