import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { DEFAULT_PORTS, OfflineStack, type OfflineEndpoints, type OfflinePorts } from './OfflineStack.ts';
import { portsInUse } from './portsInUse.ts';
import { launcherPids, watchLaunchers } from './launcherWatch.ts';
import { parseOptionsOrExit } from './parseOptions.ts';
import { CHAOS_PROFILES } from './chaos/profiles.ts';
import { SynthError, synthesize } from './synth.ts';
import { mintAccessToken } from '../functions/core/auth/AccessTokenVerifier.ts';

const USAGE = `Usage: npm start -- [options]

Runs Herald offline: synthesizes the CDK app, starts DynamoDB Local, the SQS and SES emulators and
Herald's event bus, and runs the real handlers wired from the template. Ctrl-C stops everything.

Options:
  --config <file>     Herald config (default config/herald.json)
  --no-synth          reuse the existing cdk.out.local assembly
  --logs <target>     console (default), silent, or a file path
  --endpoints <file>  where to write the endpoints document (default .local/endpoints.json)
  --chaos <profile>   inject faults from the start: ${Object.keys(CHAOS_PROFILES).join(', ')} (docs/fault-model.md)
  --chaos-seed <n>    seed for the chaos profile's dice (default 20261204)
  -h, --help          this text`;

const { values } = parseOptionsOrExit(
  {
    options: {
      config: { type: 'string', default: 'config/herald.json' },
      'no-synth': { type: 'boolean', default: false },
      logs: { type: 'string', default: 'console' },
      endpoints: { type: 'string', default: '.local/endpoints.json' },
      chaos: { type: 'string' },
      'chaos-seed': { type: 'string', default: '20261204' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  },
  USAGE,
  'herald',
);
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (values.chaos !== undefined && CHAOS_PROFILES[values.chaos] === undefined) {
  console.error(`herald: no chaos profile "${values.chaos}"; profiles: ${Object.keys(CHAOS_PROFILES).join(', ')}\n\n${USAGE}`);
  process.exit(2);
}
const chaosSeed = Number(values['chaos-seed']);
if (!Number.isInteger(chaosSeed)) {
  console.error(`herald: --chaos-seed must be an integer, not "${values['chaos-seed']}"\n\n${USAGE}`);
  process.exit(2);
}

// Ports first: a taken one is found in a moment, not after a synth and three emulators.
const portEnv = (name: keyof OfflinePorts) => `HERALD_PORT_${name.toUpperCase()}`;
const ports: { -readonly [K in keyof OfflinePorts]: number } = { ...DEFAULT_PORTS };
for (const name of Object.keys(ports) as (keyof OfflinePorts)[]) {
  const raw = process.env[portEnv(name)];
  if (raw === undefined) continue;
  ports[name] = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(ports[name] >= 1 && ports[name] <= 65_535)) {
    console.error(`herald: ${portEnv(name)} must be a port number (1–65535), not "${raw}"`);
    process.exit(2);
  }
}
const taken = await portsInUse(ports);
if (taken.length > 0) {
  console.error(
    [
      'herald: cannot start: these ports are already in use:',
      ...taken.map((name) => `  ${String(ports[name]).padEnd(5)}  ${name.padEnd(13)}  ${portEnv(name)}`),
      taken.length === Object.keys(ports).length
        ? 'Another `npm start` is probably running: stop it (Ctrl-C in its terminal), or give this one other ports.'
        : 'Something else listens there (LocalStack, for one, uses 4566): stop it, or give Herald other ports,',
      `e.g. ${portEnv(taken[0]!)}=${ports[taken[0]!] + 100} npm start (docs/local-stack.md lists the variables).`,
    ].join('\n'),
  );
  process.exit(1);
}

const assemblyDir = 'cdk.out.local';
if (!values['no-synth']) {
  console.log(`herald: synthesizing ${values.config} …`);
  try {
    synthesize({ configPath: values.config, outdir: assemblyDir, quiet: true });
  } catch (error) {
    if (!(error instanceof SynthError)) throw error;
    mkdirSync('.local', { recursive: true });
    writeFileSync('.local/synth-error.log', error.output);
    console.error(`herald: cannot synthesize ${values.config}:\n  ${error.message.replaceAll('\n', '\n  ')}\n(everything cdk synth printed: .local/synth-error.log)`);
    process.exit(1);
  }
}
const config = JSON.parse(readFileSync(values.config, 'utf8')) as { catalog: Record<string, { channels: string[]; inbox?: boolean }> };
const pushType = Object.entries(config.catalog).find(([, entry]) => entry.channels.includes('push') && !entry.channels.includes('email'))?.[0];
// The demo page's inbox panel sends a type kept in the inbox (without email: the demo has no template fields).
const inboxType = Object.entries(config.catalog).find(([, entry]) => entry.inbox && !entry.channels.includes('email'))?.[0];
let stopping = false;
const stack = new OfflineStack({
  assemblyDir,
  logs: values.logs,
  ...(pushType ? { demo: { notificationType: pushType, ...(inboxType ? { inboxType } : {}) } } : {}),
  ports,
  onEmulatorEnded: (reason) => void shutdown(`herald: ${reason}; the offline stack cannot go on without it`, 1),
});
let endpoints: OfflineEndpoints;
try {
  endpoints = await stack.start();
} catch (error) {
  // The stack has stopped what it started; say what failed in one line, keep the trace apart.
  mkdirSync('.local', { recursive: true });
  writeFileSync('.local/start-error.log', `${(error as Error).stack ?? String(error)}\n`);
  console.error(`herald: cannot start the offline stack: ${(error as Error).message}\n(the whole error: .local/start-error.log)`);
  process.exit(1);
}
mkdirSync('.local', { recursive: true });
writeFileSync(values.endpoints, `${JSON.stringify(endpoints, null, 2)}\n`);
const tokenSecret = Object.entries(endpoints.secrets).find(([id]) => id.includes('TokenSecret'))?.[1];
if (values.chaos !== undefined) stack.chaos.start(values.chaos, chaosSeed);
const demoToken = tokenSecret ? await mintAccessToken(tokenSecret, { userId: 'u-42', deviceSessionId: 'demo', ttlSeconds: 12 * 3600 }) : undefined;

console.log(`
herald: offline stack running
  DynamoDB Local      ${endpoints.dynamodb}
  SQS (fauxqs)        ${endpoints.sqs}
  SES                 ${endpoints.ses}    mailbox and web view: ${endpoints.sesMailbox}
  EventBridge         ${endpoints.events}
  admin               ${endpoints.admin}
  WebSocket           ${endpoints.websocket ? `${endpoints.websocket}?token=<JWT>` : 'none: push is off ("push": false)'}
  app API (HTTP)      ${endpoints.httpApi ? `${endpoints.httpApi}/v1/preferences  (Authorization: Bearer <JWT>)` : 'none: push is off ("push": false)'}
  demo page           ${endpoints.demo ?? (endpoints.websocket ? 'n/a (the catalog has no push-only type)' : 'n/a (no push)')}
  demo token (u-42)   ${demoToken ?? (endpoints.websocket ? 'n/a (tokens are verified with a JWKS)' : 'n/a (no push)')}
  intake queue        ${endpoints.outputs['HeraldIntakeQueueUrl']}
  event bus           ${endpoints.outputs['HeraldEventBusName']}
  table               ${endpoints.outputs['HeraldTableName']}
  endpoints document  ${values.endpoints}${values.chaos !== undefined ? `\n  chaos               profile "${values.chaos}" (seed ${chaosSeed}): ${CHAOS_PROFILES[values.chaos]!.description}\n                      what it injected: GET ${endpoints.admin}/chaos; stop it: DELETE ${endpoints.admin}/chaos` : ''}
Press Ctrl-C to stop.`);

/** Stops everything the stack started, then exits: 0 when asked to stop, 1 when something died under it. */
async function shutdown(why: string, exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  (exitCode === 0 ? console.log : console.error)(`\n${why}; stopping …`);
  await stack.stop();
  console.log('herald: stopped');
  process.exit(exitCode);
}
// SIGHUP: the terminal was closed. Without a handler Node dies at once and stops nothing.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(`herald: ${signal} received`, 0));
// Signals sent to npm's process reach only the shell it runs this in, which dies without passing them on.
watchLaunchers(launcherPids(), (pid) => void shutdown(`herald: the process that started it (pid ${pid}) has ended`, 0));
