import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseOptionsOrExit } from '../local/parseOptions.ts';
import { BENCH_CONFIG, BenchStack } from './benchStack.ts';
import { measureCost, measureLatency, type CostResult, type LatencyResult } from './scenarios.ts';
import { round } from './stats.ts';

const USAGE = `Usage: npm run bench:batching-window -- [options]

What the intake's batching window (intakeBatchingWindowSeconds) does at 50 intents/s sent one by
one: for a window of 0 s and of --window seconds, a stack of bench/herald.bench.json with that
window, request accounting on, warmed up; then latency (20 s at 50/s) and the cost of 200
single-device pushes at 50/s. Writes <out>/<date>-batching-window.json and .md.

  --window <s>   the window to compare with 0 (default 1)
  --out <dir>    where to write (default bench/results)
  -h, --help     this text`;

const { values } = parseOptionsOrExit(
  { options: { window: { type: 'string', default: '1' }, out: { type: 'string', default: 'bench/results' }, help: { type: 'boolean', short: 'h', default: false } } },
  USAGE,
  'bench:batching-window',
);
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const windowSeconds = Number(values.window);
if (!Number.isInteger(windowSeconds) || windowSeconds < 1 || windowSeconds > 300) {
  console.error('bench:batching-window: --window is whole seconds from 1 to 300');
  process.exit(2);
}

interface WindowResult {
  readonly windowSeconds: number;
  readonly latency: LatencyResult;
  readonly cost: Omit<CostResult, 'run'>;
}

const started = performance.now();
const step = (what: string) => console.log(`bench:batching-window: ${what} (${Math.round((performance.now() - started) / 1000)} s)`);
const results: WindowResult[] = [];
for (const seconds of [0, windowSeconds]) {
  const config = { ...(JSON.parse(readFileSync(BENCH_CONFIG, 'utf8')) as Record<string, unknown>), intakeBatchingWindowSeconds: seconds };
  mkdirSync('.local', { recursive: true });
  const path = `.local/bench-window-${seconds}.json`;
  writeFileSync(path, JSON.stringify(config, null, 2));
  step(`window ${seconds} s: synthesizing and starting the offline stack, request accounting on`);
  const bench = await BenchStack.start({ config: { path, assemblyDir: `cdk.out.bench-window-${seconds}` }, requestAccounting: true, logFile: `.local/bench-window-${seconds}.log` });
  try {
    step(`window ${seconds} s: warm-up, 50 intents/s for 20 s, not recorded`);
    await measureLatency(bench, 50, 20, 50);
    step(`window ${seconds} s: latency at 50 intents/s for 20 s`);
    const latency = await measureLatency(bench, 50, 20, 50);
    step(`window ${seconds} s: cost of 200 single-device pushes at 50/s`);
    const { run: _run, ...cost } = await measureCost(bench, 'push_1_device', 200, 50);
    results.push({ windowSeconds: seconds, latency, cost });
  } finally {
    await bench.stop();
  }
}

const date = new Date().toISOString().slice(0, 10);
const money = (usd: number) => `$${usd.toFixed(3)}`;
const lines = [
  `# Intake batching window — ${date}`,
  '',
  `Command: \`npm run bench:batching-window -- --window ${windowSeconds}\` · ran ${Math.round((performance.now() - started) / 1000)} s. Single-device push, intents sent one SendMessage each at 50/s, request accounting on for both (latency is comparable between the two rows, a little higher than the main bench's, which measures latency with accounting off). Offline stack on this machine: latency is a local figure; counts are what the handlers would send to AWS.`,
  '',
  '| intakeBatchingWindowSeconds | p50 ms | p95 ms | p99 ms | accept invocations per route | AWS requests per route | SQS request units per route | $ per million |',
  '|---|---|---|---|---|---|---|---|',
  ...results.map((r) => `| ${r.windowSeconds} | ${r.latency.p50Ms} | ${r.latency.p95Ms} | ${r.latency.p99Ms} | ${round(r.cost.cost.units.lambdaInvocations, 3)} | ${round(r.cost.cost.units.awsRequests, 2)} | ${round(r.cost.cost.units.sqsRequestUnits, 2)} | ${money(r.cost.cost.usdPerMillion)} |`),
  '',
];
mkdirSync(values.out, { recursive: true });
writeFileSync(join(values.out, `${date}-batching-window.json`), `${JSON.stringify({ date, windowSeconds, results }, null, 2)}\n`);
writeFileSync(join(values.out, `${date}-batching-window.md`), lines.join('\n'));
console.log(`\n${lines.join('\n')}`);
step(`wrote ${join(values.out, `${date}-batching-window.json`)} and .md`);
