import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ApplicationLogLevel, Architecture, LoggingFormat, Runtime, SystemLogLevel, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Lambda's system log levels (config `systemLogLevel`). */
export const SYSTEM_LOG_LEVELS = ['DEBUG', 'INFO', 'WARN'] as const;
export type SystemLogLevelName = (typeof SYSTEM_LOG_LEVELS)[number];

export interface HeraldFunctionProps {
  /** Handler file under functions/handlers, without extension. */
  readonly handler: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly environment: Record<string, string>;
  /** Compile-time constants (esbuild define), e.g. the catalog, which can exceed Lambda's 4 KB environment. */
  readonly define?: Record<string, string>;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /**
   * On: X-Ray active tracing, and the handler records its AWS calls as subsegments. Off: Lambda's
   * PassThrough mode (a function segment only for a request whose upstream trace header says
   * sampled=1, e.g. from a traced producer), and the Tracer is left out of the bundle.
   */
  readonly tracing: boolean;
  /**
   * Lambda's JSON log format, with log-level filtering
   * (docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
   * `system`: Lambda's own lines; WARN drops the INFO-level START and REPORT lines of every
   * invocation. `application`: INFO, or DEBUG when the functions log at DEBUG — never stricter:
   * Lambda gives a line without a level (an EMF metrics blob) the level INFO, and a stricter
   * filter would drop the metrics. Powertools' own level does the rest.
   */
  readonly logging: { readonly system: SystemLogLevelName; readonly debug: boolean };
  /** Concurrency set aside for this function (and its ceiling). @default none: it shares the account's unreserved pool */
  readonly reservedConcurrency?: number;
}

/**
 * A Herald Lambda: Node.js 24 on arm64, an ESM bundle minified by the local esbuild, its own log
 * group, and a role that may write to that log group only.
 */
export class HeraldFunction extends NodejsFunction {
  public constructor(scope: Construct, id: string, props: HeraldFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: props.logRetention, removalPolicy: props.removalPolicy });
    // Not AWSLambdaBasicExecutionRole: that managed policy lets the function write to every log
    // group in the account (Resource "*"). The log group exists before the function, so the role
    // needs no logs:CreateLogGroup (IAM for Lambda: docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html).
    const role = new Role(scope, `${id}Role`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    super(scope, id, {
      entry: `${projectRoot}functions/handlers/${props.handler}.ts`,
      handler: 'handler',
      projectRoot,
      depsLockFilePath: `${projectRoot}package-lock.json`,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      tracing: props.tracing ? Tracing.ACTIVE : Tracing.PASS_THROUGH,
      loggingFormat: LoggingFormat.JSON,
      systemLogLevelV2: SystemLogLevel[props.logging.system],
      applicationLogLevelV2: props.logging.debug ? ApplicationLogLevel.DEBUG : ApplicationLogLevel.INFO,
      logGroup,
      role,
      ...(props.reservedConcurrency !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrency } : {}),
      // No NODE_OPTIONS=--enable-source-maps: Node would parse the 2–3 MB maps at every cold start.
      // The maps stay in the asset (see docs/operations.md, "Reading a stack trace").
      environment: { ...props.environment, ...(props.tracing ? {} : { POWERTOOLS_TRACE_ENABLED: 'false' }) },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        externalModules: [],
        mainFields: ['module', 'main'],
        // Some bundled CommonJS dependencies call require(); give the ESM bundle one.
        banner: "import { createRequire as __heraldCreateRequire } from 'node:module'; const require = __heraldCreateRequire(import.meta.url);",
        define: { ...props.define, 'process.env.HERALD_TRACING': JSON.stringify(String(props.tracing)) },
        // The environment's credentials only, as on Lambda (functions/adapters/envCredentials.ts).
        esbuildArgs: { '--alias:@aws-sdk/credential-provider-node': `${projectRoot}functions/adapters/envCredentials.ts` },
      },
    });
  }

  /** Acknowledges a cdk-nag finding on the function and on its role (the role is the function's sibling, not its child). */
  public acknowledge(finding: { readonly id: string; readonly reason: string }): void {
    for (const scope of [this, this.role!]) Validations.of(scope).acknowledge(finding);
  }
}
