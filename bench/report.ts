import type { DeviceMonthCost, RouteCost } from './costModel.ts';
import { PRICES, PRICES_AS_OF, PRICES_REGION } from './prices.ts';
import type { BundleResult, CeilingResult, ClientMessageCost, CostResult, InboxFanOutResult, InboxOperationCost, LatencyResult, ReplayResult, ThroughputResult } from './scenarios.ts';
import { round } from './stats.ts';

export interface BenchReport {
  readonly date: string;
  readonly command: string;
  readonly quick: boolean;
  readonly durationSeconds: number;
  readonly machine: Record<string, string | number>;
  readonly ceiling: CeilingResult;
  readonly cost: Omit<CostResult, 'run'>[];
  readonly latency: LatencyResult[];
  readonly throughput: (ThroughputResult & { emulatorUtilisation: number })[];
  readonly replay: ReplayResult;
  /** Requests per client message (absent in reports before 2026-12-04-abuse-limits). */
  readonly clientMessages?: ClientMessageCost[];
  /** Inbox operations on the app API (absent before 2026-12-05-inbox). */
  readonly inbox?: InboxOperationCost[];
  /** One inbox notification to many recipients (absent before 2026-12-05-inbox-fan-out). */
  readonly inboxFanOut?: InboxFanOutResult;
  /** A device connected all month, from the measured cost of a ping (absent before 2026-12-04-lean). */
  readonly deviceMonth?: DeviceMonthCost;
  readonly bundles: BundleResult[];
  /** Unrecorded load before the measurements (absent in quick runs and in reports before 2026-11-23). */
  readonly warmUp?: { rate: number; seconds: number; intents: number };
  /** Which measurements ran with request accounting on (absent in reports before 2026-11-23: on for all). */
  readonly requestAccounting?: { latency: boolean; replay: boolean; cost: boolean; throughput: boolean };
  readonly targets: {
    singleDevicePushUsdPerMillion: number;
    p50Ms: number;
    p99Ms: number;
    atRate: number;
    /** Absent before 2026-12-04-lean. */
    loadedAheadUsdPerMillion?: number;
    kibWriteUnitsPerRoute?: number;
    kibLoadedAheadUsdPerMillion?: number;
    coldInitMs?: number;
    bundleGzipKb?: number;
    throughputOfCeiling?: number;
  };
}

const money = (usd: number) => `$${usd.toFixed(3)}`;
const percent = (fraction: number) => `${Math.round(fraction * 100)} %`;
const num = (n: number | undefined, digits = 2) => (n === undefined ? '–' : String(round(n, digits)));

/** The report as Markdown: headline, then one table per measurement. */
export function renderMarkdown(report: BenchReport, baseline?: BenchReport): string {
  const lines: string[] = [];
  const push1 = report.cost.find((c) => c.case === 'push_1_device');
  const push1Backlog = report.cost.find((c) => c.case === 'push_1_device_backlog');
  const at = report.latency.find((l) => l.offeredRate === report.targets.atRate);
  lines.push(`# Herald benchmark — ${report.date}${report.quick ? ' (quick)' : ''}`, '');
  lines.push(`Command: \`${report.command}\` · ran ${report.durationSeconds} s on ${report.machine['cpuModel']} ×${report.machine['cpus']}, ${report.machine['memoryGiB']} GiB, ${report.machine['os']}, Node ${report.machine['node']}.`);
  lines.push('Everything runs on this one machine: DynamoDB Local, fauxqs, aws-ses-v2-local, Herald\'s gateway and the handlers in worker threads (2 execution environments per function). Latency and throughput are local figures, not AWS ones; request counts and units are what the handlers would send to AWS.');
  const accounting = report.requestAccounting;
  lines.push(accounting && !accounting.latency
    ? 'Two stacks, one after the other: latency and replay with request accounting off (as in production), cost and throughput with it on (they need the counts).'
    : 'One stack with request accounting on for every measurement.', '');
  if (push1) {
    lines.push('## Headline: single-device push', '');
    lines.push('| | measured | target |', '|---|---|---|');
    lines.push(`| $ per million deliveries, every AWS charge | ${money(push1.cost.usdPerMillion)} | ≤ ${money(report.targets.singleDevicePushUsdPerMillion)} |`);
    // A target cell: '| ≤ $4.000 |', or '| |' where the report has none.
    const target = (value: number | undefined, show: (v: number) => string, prefix = '≤ ') => (value === undefined ? ' ' : ` ${prefix}${show(value)} `);
    if (push1Backlog) lines.push(`| the same with the intake loaded ahead (SendMessageBatch, full event-source batches) | ${money(push1Backlog.cost.usdPerMillion)} |${target(report.targets.loadedAheadUsdPerMillion, money)}|`);
    for (const [c, how] of [[push1, 'one by one'], [push1Backlog, 'loaded ahead']] as const) {
      if (c?.cost.provisioned) lines.push(`| ${how}, DynamoDB on provisioned capacity used ${percent(c.cost.provisioned.utilisation)} on average (estimate) | ${money(c.cost.provisioned.usdPerMillion)} | |`);
    }
    lines.push(`| DynamoDB write requests per route | ${num(push1.cost.units.dynamodbWriteRequests)} | |`);
    lines.push(`| DynamoDB WRU per route (table + indexes) | ${num(push1.cost.units.dynamodbWriteUnits)} + ${num(push1.cost.units.dynamodbIndexWriteUnits)} | |`);
    const kib = report.cost.find((c) => c.case === 'push_1_device_1kib');
    const kibBacklog = report.cost.find((c) => c.case === 'push_1_device_backlog_1kib');
    const eightKib = report.cost.find((c) => c.case === 'push_1_device_8kib');
    if (kib) lines.push(`| 1 KiB payload: DynamoDB WRU per route (table + indexes) | ${num(kib.cost.units.dynamodbWriteUnits)} + ${num(kib.cost.units.dynamodbIndexWriteUnits)} |${target(report.targets.kibWriteUnitsPerRoute, String)}|`);
    if (kibBacklog) lines.push(`| 1 KiB payload, loaded ahead: $ per million | ${money(kibBacklog.cost.usdPerMillion)} |${target(report.targets.kibLoadedAheadUsdPerMillion, money)}|`);
    if (eightKib) lines.push(`| 8 KiB payload: DynamoDB WRU per route, $ per million | ${num(eightKib.cost.units.dynamodbWriteUnits)} + ${num(eightKib.cost.units.dynamodbIndexWriteUnits)}, ${money(eightKib.cost.usdPerMillion)} | |`);
    if (report.deviceMonth) lines.push(`| $ per connected device-month (a ping every ${report.deviceMonth.pingIntervalMinutes} min, nothing received) | $${report.deviceMonth.usdPerDeviceMonth.toFixed(4)} | |`);
    if (report.bundles.length > 0) {
      const slowest = report.bundles.reduce((a, b) => (b.medianColdInitMs > a.medianColdInitMs ? b : a));
      const largest = report.bundles.reduce((a, b) => (b.gzipBytes > a.gzipBytes ? b : a));
      lines.push(`| slowest median cold init (${slowest.fn.replace(/[0-9A-F]{8}$/, '')}) | ${slowest.medianColdInitMs} ms |${target(report.targets.coldInitMs, (v) => `${v} ms`)}|`);
      lines.push(`| largest bundle, gzip (${largest.fn.replace(/[0-9A-F]{8}$/, '')}) | ${round(largest.gzipBytes / 1024, 1)} KB |${target(report.targets.bundleGzipKb, (v) => `${v} KB`)}|`);
    }
    const single = report.throughput.find((t) => t.case === 'push_single_recipient');
    if (single) lines.push(`| single-recipient throughput, of DynamoDB Local's write ceiling | ${percent(single.emulatorUtilisation)} |${target(report.targets.throughputOfCeiling, percent, '≥ ')}|`);
    if (at) {
      lines.push(`| local p50 latency at ${at.offeredRate} intents/s | ${num(at.p50Ms, 1)} ms | ≤ ${report.targets.p50Ms} ms |`);
      lines.push(`| local p99 latency at ${at.offeredRate} intents/s | ${num(at.p99Ms, 1)} ms | ≤ ${report.targets.p99Ms} ms |`);
    }
    lines.push('');
  }

  lines.push('## Cost per delivered route', '');
  lines.push(`Prices: ${PRICES_REGION} list prices as of ${PRICES_AS_OF} (bench/prices.ts; unconfirmed: ${Object.entries(PRICES).filter(([, p]) => !p.confirmed).map(([k]) => k).join(', ')}). Intents sent one SendMessage each, at the offered rate shown${push1Backlog ? '; in push 1 device backlog, sent with SendMessageBatch (ten to a request) as fast as the producer can, so the event source receives full batches of ten, as it does under high-volume traffic' : ''}.`, '');
  lines.push(`| | ${report.cost.map((c) => c.case.replaceAll('_', ' ')).join(' | ')} |`);
  lines.push(`|---|${report.cost.map(() => '---').join('|')}|`);
  const unitRows: [string, (c: RouteCost) => string][] = [
    ['routes measured (offered intents/s)', () => ''],
    ['AWS requests', (c) => num(c.units.awsRequests)],
    ['DynamoDB write / read requests', (c) => `${num(c.units.dynamodbWriteRequests)} / ${num(c.units.dynamodbReadRequests)}`],
    ['DynamoDB WRU table + indexes', (c) => `${num(c.units.dynamodbWriteUnits)} + ${num(c.units.dynamodbIndexWriteUnits)}`],
    ['DynamoDB RRU', (c) => num(c.units.dynamodbReadUnits)],
    ['SQS 64 KB request units', (c) => num(c.units.sqsRequestUnits)],
    ['API Gateway 32 KB messages', (c) => num(c.units.apiGatewayMessages)],
    ['SES emails', (c) => num(c.units.sesEmails)],
    ['Lambda invocations', (c) => num(c.units.lambdaInvocations, 3)],
    ['Lambda GB-s (CPU time at the vCPU share, estimated)', (c) => num(c.units.lambdaGbSeconds, 5)],
    ['log bytes', (c) => num(c.units.logBytes, 0)],
  ];
  for (const [label, value] of unitRows) {
    const cells = label.startsWith('routes measured') ? report.cost.map((c) => `${c.routes} (${c.offeredRate === 'backlog' ? 'backlog' : `${c.offeredRate}/s`})`) : report.cost.map((c) => value(c.cost));
    lines.push(`| ${label} | ${cells.join(' | ')} |`);
  }
  for (const [i, line] of (report.cost[0]?.cost.lines ?? []).entries()) {
    lines.push(`| $/M ${line.charge} | ${report.cost.map((c) => money(c.cost.lines[i]!.usdPerMillion)).join(' | ')} |`);
  }
  lines.push(`| **$ per million deliveries** | ${report.cost.map((c) => `**${money(c.cost.usdPerMillion)}**`).join(' | ')} |`);
  const provisioned = report.cost.find((c) => c.cost.provisioned)?.cost.provisioned;
  if (provisioned) {
    for (const [i, line] of provisioned.lines.entries()) {
      lines.push(`| $/M ${line.charge} (estimate) | ${report.cost.map((c) => (c.cost.provisioned ? money(c.cost.provisioned.lines[i]!.usdPerMillion) : '–')).join(' | ')} |`);
    }
    lines.push(`| $ per million, DynamoDB on provisioned capacity (estimate) | ${report.cost.map((c) => (c.cost.provisioned ? money(c.cost.provisioned.usdPerMillion) : '–')).join(' | ')} |`, '');
    lines.push(`The rows marked (estimate) are not a measurement: the same read and write units priced as provisioned capacity units (\`tableCapacity\` mode "provisioned") used ${percent(provisioned.utilisation)} of the time on average, auto scaling's default target, at unit-hour prices this machine could not confirm; every other charge as measured. Real traffic tends to average less than the target (capacity scales down slowly and keeps its minimum, paid every hour, busy or not), so the estimate is more likely low than high; traffic that outruns auto scaling is throttled and retried.`, '');
  } else {
    lines.push('');
  }
  lines.push('Not per delivery, so not above: WebSocket connection minutes ($0.25 per million minutes per connected device), the event sources\' idle long polls, the sweeper\'s minute-by-minute index queries, CloudWatch custom metrics and alarms (monthly).', '');
  lines.push('Storage is priced from what each case left in the tables, read back after it ran: every notification, route and event item\'s DynamoDB size (+ 100 bytes of overhead) times the days until its TTL deletes it (notifications and routes: the 30-day retention; events: the freshness window + 7 days, or as long as the notification when the event is the only record of its route\'s success). Lambda duration is estimated from each invocation\'s measured CPU time stretched to the function\'s vCPU share (1 vCPU at 1,769 MB; 256 MB gets about a seventh) plus its waiting time, not from local wall time on a full core.', '');

  lines.push('### Requests per route by operation', '');
  const ops = [...new Set(report.cost.flatMap((c) => Object.keys(c.cost.requestsPerRoute)))].sort();
  lines.push(`| operation | ${report.cost.map((c) => c.case.replaceAll('_', ' ')).join(' | ')} |`);
  lines.push(`|---|${report.cost.map(() => '---').join('|')}|`);
  for (const op of ops) lines.push(`| ${op} | ${report.cost.map((c) => num(c.cost.requestsPerRoute[op] ?? 0, 3)).join(' | ')} |`);
  lines.push('');

  lines.push('## Latency: intent sent → `event` frame at a connected client (open loop)', '');
  if (report.warmUp) {
    lines.push(`Measured after an unrecorded warm-up of ${report.warmUp.intents} push intents at ${report.warmUp.rate}/s, so that DynamoDB Local's JIT has compiled its hot paths (on a fresh stack the first 50/s run is several times slower than the next).`, '');
  }
  lines.push('| offered intents/s | seconds | sent | received | p50 ms | p95 ms | p99 ms | max ms |', '|---|---|---|---|---|---|---|---|');
  for (const l of report.latency) lines.push(`| ${l.offeredRate} | ${l.seconds} | ${l.sent} | ${l.received} | ${num(l.p50Ms, 1)} | ${num(l.p95Ms, 1)} | ${num(l.p99Ms, 1)} | ${num(l.maxMs, 1)} |`);
  lines.push('');
  for (const l of report.latency.filter((x) => x.repeats !== undefined)) {
    lines.push(`${l.offeredRate} intents/s was run ${l.repeats!.length} times; the row above is the run with the median p50. p50 / p99 of each run: ${l.repeats!.map((r) => `${num(r.p50Ms, 1)} / ${num(r.p99Ms, 1)} ms`).join(', ')}.`, '');
  }

  lines.push('## Throughput: routes/s to terminal state', '');
  lines.push(`Emulator ceiling measured in the same run (concurrency ${report.ceiling.concurrency}, ${report.ceiling.seconds} s each): DynamoDB Local ${report.ceiling.dynamodbPutItemPerSecond} PutItem/s, fauxqs ${report.ceiling.sqsSendMessagePerSecond} SendMessage/s. Utilisation = routes/s × DynamoDB write requests per route (counted in that run) ÷ raw PutItem/s.`, '');
  lines.push('| case | intents × recipients | routes | seconds | routes/s | DynamoDB writes/route | of DynamoDB Local\'s write ceiling |', '|---|---|---|---|---|---|---|');
  for (const t of report.throughput) lines.push(`| ${t.case.replaceAll('_', ' ')} | ${t.intents} × ${t.recipientsPerIntent} | ${t.routes} | ${t.seconds} | ${t.routesPerSecond} | ${num(t.writeRequestsPerRoute)} | ${Math.round(t.emulatorUtilisation * 100)} % |`);
  lines.push('');

  lines.push('## Replay', '');
  lines.push(`${report.replay.events} missed events replayed to a reconnecting client: median ${report.replay.medianMs} ms over ${report.replay.runs} run(s), ${report.replay.frames} frames (${report.replay.bytes} bytes, ${report.replay.replayedEvents} events) before \`replay_complete\`.`, '');

  if (report.clientMessages) {
    lines.push('## Client messages: AWS requests per message', '');
    lines.push('Counted with request accounting on, every function together (the authorizer on `$connect`, the connection function): a connection\'s `$connect`; its first `resume` (empty cursor: the tail only, so no events read) with the replay budget\'s charge; a second `resume` in the same minute (its charge may take two writes when it reaches another execution environment); `ping` (the message budget is in memory: no request).', '');
    const messageOps = [...new Set(report.clientMessages.flatMap((m) => Object.keys(m.requestsPerMessage)))].sort();
    lines.push(`| operation | ${report.clientMessages.map((m) => `${m.message.replaceAll('_', ' ')} (${m.messages})`).join(' | ')} |`);
    lines.push(`|---|${report.clientMessages.map(() => '---').join('|')}|`);
    for (const op of messageOps) lines.push(`| ${op} | ${report.clientMessages.map((m) => num(m.requestsPerMessage[op] ?? 0, 3)).join(' | ')} |`);
    lines.push(`| DynamoDB WRU | ${report.clientMessages.map((m) => num(m.dynamodbWriteUnitsPerMessage, 3)).join(' | ')} |`);
    lines.push(`| DynamoDB RRU | ${report.clientMessages.map((m) => num(m.dynamodbReadUnitsPerMessage, 3)).join(' | ')} |`);
    lines.push('');
  }

  if (report.inbox) {
    lines.push('## Inbox operations on the app API', '');
    lines.push(`Counted with request accounting on, every function together; dollars include each operation's HTTP API requests (list price). Run on one user's inbox of ${report.inbox[0]?.inboxItems ?? 0} items, filled first (not counted): listing a page of 20, marking one item read (its event posted to the user's one connection), and marking every item read with the mark-all loop (50 items per call). The inbox notification itself (acceptance's item, with its push) is the "inbox 1 device" column of the cost table.`, '');
    const inboxOps = [...new Set(report.inbox.flatMap((o) => Object.keys(o.requestsPerOperation)))].sort();
    lines.push(`| per operation | ${report.inbox.map((o) => `${o.operation.replaceAll('_', ' ')} (${o.operations})`).join(' | ')} |`);
    lines.push(`|---|${report.inbox.map(() => '---').join('|')}|`);
    lines.push(`| HTTP API requests | ${report.inbox.map((o) => num(o.httpRequestsPerOperation, 3)).join(' | ')} |`);
    for (const op of inboxOps) lines.push(`| ${op} | ${report.inbox.map((o) => num(o.requestsPerOperation[op] ?? 0, 3)).join(' | ')} |`);
    lines.push(`| DynamoDB WRU | ${report.inbox.map((o) => num(o.dynamodbWriteUnitsPerOperation, 3)).join(' | ')} |`);
    lines.push(`| DynamoDB RRU | ${report.inbox.map((o) => num(o.dynamodbReadUnitsPerOperation, 3)).join(' | ')} |`);
    lines.push(`| **$ per million operations** | ${report.inbox.map((o) => `**${money(o.usdPerMillion)}**`).join(' | ')} |`, '');
  }

  if (report.inboxFanOut) {
    const f = report.inboxFanOut;
    lines.push('## An inbox notification to many recipients', '');
    lines.push(
      `One intent of the inbox type to ${f.recipients} users (none connected), request accounting on. Every push route published ${f.secondsToPushed} s after sending; ` +
        `the acceptance complete (every recipient has the item) after ${f.secondsToAccepted} s, in ${f.acceptInvocations} accept invocation(s), going on in ${f.continuations} new intake message(s) (docs/inbox.md, large fan-outs). ` +
        `Per recipient: ${num(f.dynamodbWriteUnitsPerRecipient, 3)} WRU, **${money(f.usdPerMillionRecipients)} per million recipients** (the push and the item; storage of the notification and stream events included, the inbox item's not).`,
      '',
    );
    lines.push('| per recipient | requests |', '|---|---|');
    for (const [op, n] of Object.entries(f.requestsPerRecipient).sort(([a], [b]) => a.localeCompare(b))) lines.push(`| ${op} | ${num(n, 3)} |`);
    lines.push('');
  }

  if (report.deviceMonth) {
    lines.push('## A connected device, per month', '');
    lines.push(`A device connected all month (${report.deviceMonth.pingsPerMonth} pings, one every ${report.deviceMonth.pingIntervalMinutes} min as the client SDK sends them) and receiving nothing: connection minutes, and each ping priced as measured above (the ping received, the pong posted, the function's invocation, duration and log lines). Estimate from list prices; notifications it receives come on top, per route as above.`, '');
    lines.push('| charge | $ per device-month |', '|---|---|');
    for (const l of report.deviceMonth.lines) lines.push(`| ${l.charge} | $${l.usd.toFixed(5)} |`);
    lines.push(`| **total** | **$${report.deviceMonth.usdPerDeviceMonth.toFixed(4)}** |`, '');
  }

  lines.push('## Bundles and cold init', '');
  lines.push('Cold init: a fresh Node.js process imports the minified bundle (which builds the handler); median of the runs shown. Lambda adds its own runtime start on top.', '');
  lines.push('| function | memory MB | bundle KB | gzip KB | median cold init ms | runs ms |', '|---|---|---|---|---|---|');
  for (const b of report.bundles) lines.push(`| ${b.fn} | ${b.memorySize} | ${round(b.bytes / 1024, 1)} | ${round(b.gzipBytes / 1024, 1)} | ${b.medianColdInitMs} | ${b.coldInitMs.join(', ')} |`);
  lines.push('');

  if (baseline) {
    lines.push(`## Before / after (baseline ${baseline.date}${baseline.quick ? ', quick' : ''})`, '');
    lines.push('| case | metric | before | after |', '|---|---|---|---|');
    for (const c of report.cost) {
      const b = baseline.cost.find((x) => x.case === c.case);
      if (!b) continue;
      const label = c.case.replaceAll('_', ' ');
      lines.push(`| ${label} | $ per million | ${money(b.cost.usdPerMillion)} | ${money(c.cost.usdPerMillion)} |`);
      lines.push(`| ${label} | AWS requests/route | ${num(b.cost.units.awsRequests)} | ${num(c.cost.units.awsRequests)} |`);
      lines.push(`| ${label} | DynamoDB WRU/route (table + indexes) | ${num(b.cost.units.dynamodbWriteUnits + b.cost.units.dynamodbIndexWriteUnits)} | ${num(c.cost.units.dynamodbWriteUnits + c.cost.units.dynamodbIndexWriteUnits)} |`);
      lines.push(`| ${label} | DynamoDB RRU/route | ${num(b.cost.units.dynamodbReadUnits)} | ${num(c.cost.units.dynamodbReadUnits)} |`);
    }
    for (const l of report.latency) {
      const b = baseline.latency.find((x) => x.offeredRate === l.offeredRate);
      if (b) lines.push(`| latency ${l.offeredRate}/s | p50 / p99 ms | ${num(b.p50Ms, 1)} / ${num(b.p99Ms, 1)} | ${num(l.p50Ms, 1)} / ${num(l.p99Ms, 1)} |`);
    }
    for (const t of report.throughput) {
      const b = baseline.throughput.find((x) => x.case === t.case);
      if (b) lines.push(`| ${t.case.replaceAll('_', ' ')} | routes/s | ${b.routesPerSecond} | ${t.routesPerSecond} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
