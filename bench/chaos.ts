import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CHAOS_PROFILE, CHAOS_PROFILES } from '../local/chaos/profiles.ts';
import { parseOptionsOrExit } from '../local/parseOptions.ts';
import { renderSoakMarkdown } from './chaos/soakReport.ts';
import { runChaosSoak, type SoakOptions } from './chaos/soak.ts';

const USAGE = `Usage: npm run chaos -- [options]

A soak of the offline stack under injected faults (loopback only; stops by itself): sends a mix
of intents while clients drop, stall and resume, stops the faults, waits for the stack to drain
and checks every invariant from the outside. Writes a JSON and a Markdown report; exits 1 when
any invariant is violated. docs/fault-model.md explains the faults and the invariants.

Options:
  --profile <name>   ${Object.keys(CHAOS_PROFILES).join(', ')} (default ${DEFAULT_CHAOS_PROFILE})
  --intents <n>      intake messages to send (default 5000)
  --rate <n>         per second, open loop (default 25)
  --seed <n>         seed of the fault dice (default 20261204)
  --quick            400 intents: the variant npm test runs
  --out <dir>        where to write the report (default bench/results)
  --name <name>      report file name (default <date>-chaos[-quick])
  --no-synth         reuse the cdk.out.chaos assembly of an earlier run
  -h, --help         this text`;

const { values } = parseOptionsOrExit(
  {
    options: {
      profile: { type: 'string', default: DEFAULT_CHAOS_PROFILE },
      intents: { type: 'string' },
      rate: { type: 'string', default: '25' },
      seed: { type: 'string', default: '20261204' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench/results' },
      name: { type: 'string' },
      'no-synth': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  },
  USAGE,
  'chaos',
);
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const integer = (name: string, raw: string) => {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`chaos: --${name} must be a positive integer, not "${raw}"\n\n${USAGE}`);
    process.exit(2);
  }
  return value;
};
if (CHAOS_PROFILES[values.profile] === undefined) {
  console.error(`chaos: no profile "${values.profile}"\n\n${USAGE}`);
  process.exit(2);
}

const options: SoakOptions = {
  intents: integer('intents', values.intents ?? (values.quick ? '400' : '5000')),
  ratePerSecond: integer('rate', values.rate),
  profile: values.profile,
  seed: integer('seed', values.seed),
  users: values.quick ? 8 : 30,
  rawUsers: values.quick ? 3 : 8,
  drainTimeoutMs: 180_000,
  configPath: 'bench/herald.chaos.json',
  assemblyDir: 'cdk.out.chaos',
  synth: !values['no-synth'],
  functionLog: '.local/chaos-functions.log',
  progress: (line) => console.log(`chaos: ${line}`),
};
const report = await runChaosSoak(options);
const name = values.name ?? `${new Date().toISOString().slice(0, 10)}-chaos${values.quick ? '-quick' : ''}`;
const command = `npm run chaos --${process.argv.slice(2).map((a) => ` ${a}`).join('')}`;
mkdirSync(values.out, { recursive: true });
// Every rule's counters, without the time of each hit (thousands of them: the tests' tool, not the report's).
const services = Object.fromEntries(
  Object.entries(report.chaos.services).map(([service, { operations, rules }]) => [service, { operations, rules: rules.map(({ hitAt: _times, ...rule }) => rule) }]),
);
writeFileSync(join(values.out, `${name}.json`), `${JSON.stringify({ command, ...report, chaos: { ...report.chaos, services } }, null, 2)}\n`);
writeFileSync(join(values.out, `${name}.md`), renderSoakMarkdown(report, command));
console.log(renderSoakMarkdown(report, command));
console.log(`chaos: report written to ${join(values.out, `${name}.md`)} and .json`);
process.exit(report.violations === 0 ? 0 : 1);
