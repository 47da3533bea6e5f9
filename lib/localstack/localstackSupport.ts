/**
 * Which LocalStack plan emulates each CloudFormation resource type Herald's template uses.
 * Sources (read 2026-11-22 through the team's stored documentation search; LocalStack itself could
 * not be run here): docs.localstack.cloud/user-guide/aws/apigateway/ ("API Gateway V1 (REST API) in
 * the Free plan, and API Gateway V2 (HTTP, Management and WebSocket API) in the Base plan"),
 * docs.localstack.cloud/references/coverage/coverage_apigatewayv2/ ("only in the pro image"),
 * and the per-service pages for the community services. `confirmed: false` marks an entry taken
 * from general service support rather than a page naming the CloudFormation resource type.
 * Since 2026-03-23 every LocalStack image requires an account token, including the free plan.
 */
export type LocalStackPlan = 'free' | 'base' | 'cdk-only';

export const LOCALSTACK_SUPPORT: Readonly<Record<string, { plan: LocalStackPlan; confirmed: boolean; note?: string }>> = {
  'AWS::CDK::Metadata': { plan: 'cdk-only', confirmed: true, note: 'CDK bookkeeping; cdklocal strips or ignores it' },
  'AWS::DynamoDB::Table': { plan: 'free', confirmed: true },
  'AWS::SQS::Queue': { plan: 'free', confirmed: true },
  'AWS::SQS::QueuePolicy': { plan: 'free', confirmed: false },
  'AWS::Lambda::Function': { plan: 'free', confirmed: true },
  'AWS::Lambda::EventSourceMapping': { plan: 'free', confirmed: true },
  'AWS::Lambda::Permission': { plan: 'free', confirmed: false },
  'AWS::Lambda::EventInvokeConfig': { plan: 'free', confirmed: false, note: 'the sweeper\'s asynchronous retry settings; LocalStack\'s Lambda provider implements PutFunctionEventInvokeConfig' },
  'AWS::IAM::Role': { plan: 'free', confirmed: true, note: 'IAM policies are not enforced unless ENFORCE_IAM=1' },
  'AWS::IAM::Policy': { plan: 'free', confirmed: false },
  'AWS::Logs::LogGroup': { plan: 'free', confirmed: false },
  'AWS::Events::EventBus': { plan: 'free', confirmed: true },
  'AWS::Events::Rule': { plan: 'free', confirmed: true },
  'AWS::SecretsManager::Secret': { plan: 'free', confirmed: true },
  'AWS::CloudWatch::Alarm': { plan: 'free', confirmed: false, note: 'alarms are stored; evaluation is limited' },
  'AWS::CloudWatch::Dashboard': { plan: 'free', confirmed: false },
  'AWS::ApiGatewayV2::Api': { plan: 'base', confirmed: true, note: 'WebSocket APIs need the paid Base plan' },
  'AWS::ApiGatewayV2::Route': { plan: 'base', confirmed: true },
  'AWS::ApiGatewayV2::Integration': { plan: 'base', confirmed: true },
  'AWS::ApiGatewayV2::Authorizer': { plan: 'base', confirmed: true },
  'AWS::ApiGatewayV2::Stage': { plan: 'base', confirmed: true },
  // Email feedback (emailFeedback, default on). The community image's CloudFormation has a resource
  // provider only for AWS::SES::EmailIdentity (localstack-core/localstack/services/ses/resource_providers/,
  // read 2026-12-05 from github.com/localstack/localstack); none for configuration sets or their
  // event destinations, so this assumes the paid image. `"emailFeedback": false` leaves both out.
  'AWS::SES::ConfigurationSet': { plan: 'base', confirmed: false, note: 'no CloudFormation provider in the community image' },
  'AWS::SES::ConfigurationSetEventDestination': { plan: 'base', confirmed: false, note: 'no CloudFormation provider in the community image; SES publishing to EventBridge unverified' },
  // Only with tableCapacity mode "provisioned" (docs.localstack.cloud/api-coverage/v1/services/application-autoscaling:
  // "available starting with the Base plan").
  'AWS::ApplicationAutoScaling::ScalableTarget': { plan: 'base', confirmed: true },
  'AWS::ApplicationAutoScaling::ScalingPolicy': { plan: 'base', confirmed: true },
};
