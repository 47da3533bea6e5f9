import { App } from 'aws-cdk-lib';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { HeraldConfigFile } from '../../lib/HeraldConfigFile.ts';
import { HeraldStack } from '../../lib/HeraldStack.ts';

// cfn-lint checks templates against CloudFormation's own resource specifications, independently of
// CDK. It is a Python tool: on a machine without it these tests are skipped, saying so.
const cfnLint = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
const available = cfnLint.status === 0;
const skipReason = 'cfn-lint is not on PATH (pip install cfn-lint): the template checks are skipped';

/**
 * Warnings cfn-lint gives on Herald's templates, each with why it is harmless. Anything else —
 * every error, and any other warning — fails the test.
 */
const HARMLESS_WARNINGS: Record<string, string> = {
  W3005: 'CDK declares DependsOn on each function\'s role and also references the role with GetAtt; the dependency is stated twice, which CloudFormation accepts',
};

const base = JSON.parse(readFileSync('config/herald.json', 'utf8')) as HeraldConfigFile;
const everyOption: HeraldConfigFile = {
  ...base,
  emailConfigurationSet: 'herald-events',
  retry: { minBackoffSeconds: 2, maxBackoffSeconds: 43_200, jitter: 0.1, maxAttempts: 8 },
  maxPayloadBytes: 65_536,
  retentionDays: 14,
  sweepIntervalMinutes: 5,
  pushFreshnessMinutes: 120,
  firstPushAttemptMaxRoutes: 0,
  jwksUrl: 'https://id.example.com/.well-known/jwks.json',
  jwtIssuer: 'https://id.example.com/',
  jwtAudience: 'herald',
  alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops-alerts',
  deliverMaxConcurrency: 20,
  deletedUserRetentionDays: 7,
  logRetentionDays: 90,
  removalPolicy: 'destroy',
  logLevel: 'DEBUG',
  tracing: false,
  tableCapacity: { mode: 'provisioned', maxWriteCapacity: 200, maxReadCapacity: 100 },
  intentSources: ['shop'],
  lifecycleSources: ['accounts'],
  reservedConcurrency: { accept: 20, deliver: 40, lifecycle: 2 },
  pushThrottle: { rateLimit: 100, burstLimit: 200 },
};

const CONFIGURATIONS: Record<string, HeraldConfigFile> = {
  push: base,
  'email-only': JSON.parse(readFileSync('config/herald.email-only.json', 'utf8')) as HeraldConfigFile,
  'every option set': everyOption,
};

const dir = mkdtempSync(join(tmpdir(), 'herald-cfn-lint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface LintFinding {
  readonly Rule: { readonly Id: string };
  readonly Level: string;
  readonly Message: string;
}

describe.skipIf(!available)(`cfn-lint on the synthesized templates${available ? '' : ` (${skipReason})`}`, () => {
  it.each(Object.entries(CONFIGURATIONS))('finds no error and only known, harmless warnings: %s', (name, config) => {
    // Prepare: synthesize without bundling (cfn-lint reads the template, not the code).
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, outdir: join(dir, name.replace(/\W+/g, '-')) });
    new HeraldStack(app, 'Herald', { config });
    const file = join(dir, `${name.replace(/\W+/g, '-')}.template.json`);
    writeFileSync(file, JSON.stringify(app.synth().getStackByName('Herald').template));

    // Act
    const run = spawnSync('cfn-lint', ['--format', 'json', '--', file], { encoding: 'utf8' });

    // Assess: exit 0 is clean; 4 warnings only; 2 (errors) and 8 (informational) show in the findings.
    expect(run.error).toBeUndefined();
    const findings = JSON.parse(run.stdout || '[]') as LintFinding[];
    const unexplained = findings.filter((f) => !(f.Level === 'Warning' && f.Rule.Id in HARMLESS_WARNINGS)).map((f) => `${f.Level} ${f.Rule.Id}: ${f.Message}`);
    expect(unexplained).toEqual([]);
    expect(findings.every((f) => f.Level !== 'Error')).toBe(true);
  });
});
