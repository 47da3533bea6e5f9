import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { parseOptionsOrExit } from '../local/parseOptions.ts';
import { BenchStack } from './benchStack.ts';
import { deviceMonthCost } from './costModel.ts';
import { renderMarkdown, type BenchReport } from './report.ts';
import { medianItem } from './stats.ts';
import { measureBundles, measureClientMessages, measureCost, measureInboxFanOut, measureInboxOperations, measureEmulatorCeiling, measureLatency, measureReplay, measureThroughput, type BundleResult, type LatencyResult, type ReplayResult } from './scenarios.ts';

const USAGE = `Usage: npm run bench -- [options]

Benchmarks Herald on the offline stack (this machine only): request accounting and $ per million
deliveries, latency at fixed open-loop rates, throughput, emulator ceiling, replay, bundles.

Options:
  --quick            a small run (about a minute) that only shows every measurement works
  --out <dir>        where to write <date>.json and <date>.md (default bench/results)
  --name <name>      file name instead of the date (e.g. 2026-11-22-before)
  --baseline <file>  an earlier report to compare against (before/after table)
  --no-synth         reuse the cdk.out.bench assembly of an earlier run
  -h, --help         this text`;

const { values } = parseOptionsOrExit(
  {
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench/results' },
      name: { type: 'string' },
      baseline: { type: 'string' },
      'no-synth': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  },
  USAGE,
  'bench',
);
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const quick = values.quick;
const plan = quick
  ? { warmUp: undefined, ceilingSeconds: 1, costRoutes: 20, costRate: 20, latency: [{ rate: 10, seconds: 3, runs: 1 }], latencyUsers: 10, singleIntents: 100, fanOut: { intents: 1, recipients: 200 }, replayRuns: 1, bundleRuns: 2, clientMessages: { clients: 4, pings: 2 }, inbox: { items: 60, listCalls: 5, markCalls: 5, fanOut: 60 } }
  : { warmUp: { rate: 50, seconds: 40 }, ceilingSeconds: 5, costRoutes: 200, costRate: 50, latency: [{ rate: 10, seconds: 20, runs: 1 }, { rate: 50, seconds: 20, runs: 3 }, { rate: 100, seconds: 20, runs: 1 }], latencyUsers: 50, singleIntents: 2000, fanOut: { intents: 3, recipients: 1000 }, replayRuns: 3, bundleRuns: 5, clientMessages: { clients: 20, pings: 5 }, inbox: { items: 1000, listCalls: 50, markCalls: 50, fanOut: 1000 } };

const started = performance.now();
const step = (what: string) => console.log(`bench: ${what} (${Math.round((performance.now() - started) / 1000)} s)`);
const date = new Date().toISOString().slice(0, 10);
// Two stacks, one after the other. Latency and replay run with request accounting off, as Herald
// runs in production: the counting middleware and the consumed-capacity figures it asks DynamoDB
// for are extra work on this busy box (on a warm stack, 50/s p50 54–96 ms off vs 70–214 ms on,
// four scratch runs each, 2026-11-23). Cost and throughput need the counts, so they run on a stack with it on.
step(`${values['no-synth'] ? 'reusing cdk.out.bench' : 'synthesizing bench/herald.bench.json'} and starting the offline stack, request accounting off`);
let bench = await BenchStack.start({ synth: !values['no-synth'], logFile: '.local/bench-functions.log', requestAccounting: false, onEmulatorEnded: emulatorEnded });
let bundles: BundleResult[];
let replay: ReplayResult;
const latency: LatencyResult[] = [];
try {
  step('bundles and cold init');
  bundles = await measureBundles(bench, plan.bundleRuns);
  await warmUp(bench);
  for (const { rate, seconds, runs } of plan.latency) {
    const results: LatencyResult[] = [];
    for (let run = 1; run <= runs; run += 1) {
      step(`latency at ${rate} intents/s for ${seconds} s${runs > 1 ? `, run ${run} of ${runs}` : ''}`);
      results.push(await measureLatency(bench, rate, seconds, plan.latencyUsers));
    }
    // Near saturation one 20 s run moves a lot (50/s p50 62–164 ms on the same code): the target
    // rate is run several times and the median run reported, with all of them.
    const reported = medianItem(results, (r) => r.p50Ms ?? Infinity)!;
    latency.push(runs > 1 ? { ...reported, repeats: results.map(({ p50Ms, p95Ms, p99Ms, maxMs }) => ({ p50Ms, p95Ms, p99Ms, maxMs })) } : reported);
  }
  step('replay of 1,000 missed events');
  replay = await measureReplay(bench, 1000, plan.replayRuns);
} finally {
  await bench.stop();
}

step('starting the offline stack again, request accounting on');
bench = await BenchStack.start({ synth: false, logFile: '.local/bench-functions-accounting.log', requestAccounting: true, onEmulatorEnded: emulatorEnded });
try {
  await warmUp(bench);
  step('request accounting: push to one device');
  const push1 = await measureCost(bench, 'push_1_device', plan.costRoutes, plan.costRate);
  step('request accounting: push to three devices');
  const push3 = await measureCost(bench, 'push_3_devices', plan.costRoutes, plan.costRate);
  step('request accounting: email');
  const email = await measureCost(bench, 'email', plan.costRoutes, plan.costRate);
  step('request accounting: push to one device, intake loaded ahead (backlog)');
  const push1Backlog = await measureCost(bench, 'push_1_device_backlog', plan.costRoutes, 'backlog');
  step('request accounting: push to one device, 1 KiB payload, one by one and loaded ahead; 8 KiB');
  const push1Kib = await measureCost(bench, 'push_1_device_1kib', plan.costRoutes, plan.costRate);
  const push1BacklogKib = await measureCost(bench, 'push_1_device_backlog_1kib', plan.costRoutes, 'backlog');
  const push8Kib = await measureCost(bench, 'push_1_device_8kib', plan.costRoutes, plan.costRate);
  step('request accounting: inbox notification (push to one device, and the inbox item)');
  const inbox1 = await measureCost(bench, 'inbox_1_device', plan.costRoutes, plan.costRate);
  step(`request accounting: inbox operations on the app API (${plan.inbox.items} items)`);
  const inboxOperations = await measureInboxOperations(bench, plan.inbox.items, plan.inbox.listCalls, plan.inbox.markCalls);
  step(`request accounting: an inbox notification to ${plan.inbox.fanOut} recipients`);
  const inboxFanOut = await measureInboxFanOut(bench, plan.inbox.fanOut);
  step('emulator ceiling');
  const ceiling = await measureEmulatorCeiling(bench, plan.ceilingSeconds);
  step('throughput: single-recipient push');
  const single = await measureThroughput(bench, plan.singleIntents, 1);
  step(`throughput: ${plan.fanOut.recipients}-recipient fan-out`);
  const fanOut = await measureThroughput(bench, plan.fanOut.intents, plan.fanOut.recipients);
  step('request accounting: client messages (connect, resume, ping)');
  const clientMessages = await measureClientMessages(bench, plan.clientMessages.clients, plan.clientMessages.pings);
  // The client SDK pings every 5 minutes (pingIntervalMs in client/HeraldClient.ts).
  const deviceMonth = deviceMonthCost(clientMessages.find((m) => m.message === 'ping')!.units, 5);

  const report: BenchReport = {
    date,
    command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
    quick,
    durationSeconds: Math.round((performance.now() - started) / 1000),
    machine: machine(),
    ceiling,
    cost: [push1, push3, email, push1Backlog, push1Kib, push1BacklogKib, push8Kib, inbox1].map(({ run: _run, ...rest }) => rest),
    inbox: inboxOperations,
    inboxFanOut,
    latency,
    throughput: [single, fanOut].map((t) => ({ ...t, emulatorUtilisation: (t.routesPerSecond * t.writeRequestsPerRoute) / ceiling.dynamodbPutItemPerSecond })),
    replay,
    clientMessages,
    deviceMonth,
    bundles,
    ...(plan.warmUp ? { warmUp: { ...plan.warmUp, intents: plan.warmUp.rate * plan.warmUp.seconds } } : {}),
    requestAccounting: { latency: false, replay: false, cost: true, throughput: true },
    // The targets of issue #43 (2026-12-04), which replaced the $3.00 one.
    targets: {
      singleDevicePushUsdPerMillion: 4, loadedAheadUsdPerMillion: 2.7, kibWriteUnitsPerRoute: 3, kibLoadedAheadUsdPerMillion: 3.5,
      coldInitMs: 80, bundleGzipKb: 130, throughputOfCeiling: 0.7, p50Ms: 30, p99Ms: 100, atRate: 50,
    },
  };
  const baseline = values.baseline ? (JSON.parse(readFileSync(values.baseline, 'utf8')) as BenchReport) : undefined;
  mkdirSync(values.out, { recursive: true });
  const name = values.name ?? date;
  writeFileSync(join(values.out, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
  const markdown = renderMarkdown(report, baseline);
  writeFileSync(join(values.out, `${name}.md`), markdown);
  console.log(`\n${markdown}`);
  step(`wrote ${join(values.out, `${name}.json`)} and .md`);
} finally {
  await bench.stop();
}

/**
 * The emulators are the measuring instrument: once one has died, every figure after it would be
 * false (handlers failing and retrying, waits running out), so the bench stops without a report.
 * The emulators and function workers run in this process, and DynamoDB Local's JVM (the one that
 * can die on its own) is gone already, so exiting stops everything.
 */
function emulatorEnded(reason: string): void {
  console.error(`bench: ${reason}; no measurement can go on without it; stopped without a report`);
  process.exit(1);
}

/**
 * DynamoDB Local's JIT compiles its hot paths during the first few thousand requests: three
 * successive 50/s runs on a fresh stack gave p50 3,141 → 156 → 125 ms. Measure Herald, not that.
 */
async function warmUp(stack: BenchStack): Promise<void> {
  if (!plan.warmUp) return;
  step(`warm-up: ${plan.warmUp.rate} intents/s for ${plan.warmUp.seconds} s, not recorded`);
  await measureLatency(stack, plan.warmUp.rate, plan.warmUp.seconds, plan.latencyUsers);
}

function machine(): Record<string, string | number> {
  const cpu = cpus();
  // `java -version` prints to stderr.
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr?.split('\n')[0]?.trim() || 'unknown';
  return {
    cpus: cpu.length,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    os: `${type()} ${release()}`,
    node: process.versions.node,
    java,
  };
}
