import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { HeraldConfigFile } from '../../lib/HeraldConfigFile.ts';
import { HeraldStack } from '../../lib/HeraldStack.ts';
import { LOCALSTACK_SUPPORT } from '../../lib/localstack/localstackSupport.ts';

const config = JSON.parse(readFileSync('config/herald.json', 'utf8')) as HeraldConfigFile;
const synth = (of: HeraldConfigFile) =>
  Template.fromStack(new HeraldStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Herald', { config: of })).toJSON()
    .Resources as Record<string, { Type: string; Properties?: Record<string, unknown> }>;
const typesOf = (of: ReturnType<typeof synth>) => [...new Set(Object.values(of).map((r) => r.Type))].sort();
const resources = synth(config);
const types = typesOf(resources);
const provisionedTypes = typesOf(synth({ ...config, tableCapacity: { mode: 'provisioned', maxWriteCapacity: 100, maxReadCapacity: 50 } }));

describe('deploying the template to LocalStack (cdklocal)', () => {
  it('uses only resource types whose LocalStack plan is documented, with either table capacity mode', () => {
    expect(types.filter((t) => !(t in LOCALSTACK_SUPPORT))).toEqual([]);
    expect(provisionedTypes.filter((t) => !(t in LOCALSTACK_SUPPORT))).toEqual([]);
  });

  const paidOnly = (t: string) => t.startsWith('AWS::ApiGatewayV2::') || t.startsWith('AWS::SES::');

  it('needs the paid Base plan only for the API Gateway V2 APIs and the SES configuration set of email feedback; everything else is in the free plan', () => {
    const base = types.filter((t) => LOCALSTACK_SUPPORT[t]!.plan === 'base');
    expect(base.every(paidOnly)).toBe(true);
    expect(types.filter((t) => !paidOnly(t) && t !== 'AWS::CDK::Metadata').every((t) => LOCALSTACK_SUPPORT[t]!.plan === 'free')).toBe(true);
  });

  it('needs only the free plan with the email-only configuration (push: false) without unsubscribe links (no HTTP API) or email feedback (no configuration set)', () => {
    const emailOnly = JSON.parse(readFileSync('config/herald.email-only.json', 'utf8')) as HeraldConfigFile;
    const withLinks = typesOf(synth(emailOnly));
    expect(withLinks.filter((t) => t !== 'AWS::CDK::Metadata' && LOCALSTACK_SUPPORT[t]!.plan !== 'free').every(paidOnly)).toBe(true);
    const emailOnlyTypes = typesOf(synth({ ...emailOnly, unsubscribeLinks: false, emailFeedback: false }));
    expect(emailOnlyTypes.filter((t) => !(t in LOCALSTACK_SUPPORT))).toEqual([]);
    expect(emailOnlyTypes.filter((t) => t !== 'AWS::CDK::Metadata' && LOCALSTACK_SUPPORT[t]!.plan !== 'free')).toEqual([]);
  });

  it('adds Application Auto Scaling (also in the Base plan) only with provisioned capacity', () => {
    expect(provisionedTypes.filter((t) => !types.includes(t))).toEqual(['AWS::ApplicationAutoScaling::ScalableTarget', 'AWS::ApplicationAutoScaling::ScalingPolicy']);
    expect(LOCALSTACK_SUPPORT['AWS::ApplicationAutoScaling::ScalableTarget']!.plan).toBe('base');
  });

  it('uses no property LocalStack cannot honour: no customer-managed KMS keys, no VPC config, no Lambda layers or container images', () => {
    for (const resource of Object.values(resources)) {
      const properties = JSON.stringify(resource.Properties ?? {});
      expect(properties).not.toContain('KmsMasterKeyId');
      expect(properties).not.toContain('VpcConfig');
      expect(properties).not.toContain('"Layers"');
      expect(properties).not.toContain('ImageUri');
    }
  });

  it('reaches AWS endpoints only through the SDK (so AWS_ENDPOINT_URL redirects them) and uses one runtime, nodejs24.x', () => {
    const functions = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    for (const fn of functions) {
      expect(fn.Properties!['Runtime']).toBe('nodejs24.x');
      const env = JSON.stringify(fn.Properties!['Environment'] ?? {});
      expect(env).not.toMatch(/https:\/\/(dynamodb|sqs|email|events|secretsmanager)\./);
    }
  });
});
