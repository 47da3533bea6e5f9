import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { HeraldConfigFile } from '../lib/HeraldConfigFile.ts';
import { HeraldStack } from '../lib/HeraldStack.ts';

/** The Herald CDK app: `cdk synth -c config=<file>` (default config/herald.json). */
const app = new App();
const configPath = resolve(String(app.node.tryGetContext('config') ?? 'config/herald.json'));
const config = JSON.parse(readFileSync(configPath, 'utf8')) as HeraldConfigFile;
new HeraldStack(app, String(app.node.tryGetContext('stackName') ?? 'Herald'), {
  config,
  description: 'Herald: serverless notification and push service',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
