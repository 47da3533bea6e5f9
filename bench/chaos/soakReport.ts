import type { SoakReport } from './soak.ts';

const pct = (ratio: number) => `${(ratio * 100).toFixed(1)} %`;
const seconds = (ms: number | null) => (ms === null ? 'not drained' : `${(ms / 1000).toFixed(1)} s`);

/** The soak report as Markdown: what ran, what was injected, how long the drain took, every invariant. */
export function renderSoakMarkdown(report: SoakReport, command: string): string {
  const { faults, latency, outcome } = report;
  const lines = [
    `# Chaos soak ${report.startedAt.slice(0, 10)}: profile "${report.options.profile}"`,
    '',
    `Command: \`${command}\` (seed ${report.options.seed}), on ${report.machine.cpus} cores, ${report.machine.memoryGiB} GiB, Node ${report.machine.node}; the offline stack on loopback.`,
    '',
    `**${report.violations === 0 ? 'Every invariant held' : `${report.violations} invariant(s) violated`}.** Drain after the faults stopped: **${seconds(report.drainMs)}**.`,
    '',
    '## Sent',
    '',
    `${report.sent.total} intake messages in ${report.sent.sendSeconds.toFixed(0)} s: ` +
      `${report.sent.push} single-user pushes, ${report.sent.fanout} fan-outs (up to 8 users), ${report.sent.email} emails, ` +
      `${report.sent.welcome} email + push, ${report.sent.resend} re-sends of an earlier key, ${report.sent.conflict} conflicting keys, ${report.sent.invalid} invalid. ` +
      `${report.options.users} users with a client-SDK connection each, ${report.options.rawUsers} of them also with a raw-socket client; ` +
      'twice a second a connection was dropped, cut or stalled, or a client restarted.',
    '',
    '## Faults injected (measured)',
    '',
    `${faults.injected} faults in ${faults.requests} requests through the fault proxies: **${pct(faults.ratio)}** ` +
      `(${pct(faults.failureRatio)} without added latency); ${Object.values(faults.stoppedInvocations).reduce((s, f) => s + f.crashes + f.timeouts, 0)} invocations crashed or timed out; ` +
      `DynamoDB Local paused ${faults.dynamodbPauses.count} × (${faults.dynamodbPauses.totalMs} ms in all).`,
    '',
    '| kind | faults |',
    '|---|---:|',
    ...Object.entries(faults.byKind).sort(([a], [b]) => a.localeCompare(b)).map(([kind, n]) => `| ${kind} | ${n} |`),
    '',
    '| service | requests | faults | ratio |',
    '|---|---:|---:|---:|',
    ...Object.entries(faults.byService).map(([service, c]) => `| ${service} | ${c.requests} | ${c.faults} | ${pct(c.requests === 0 ? 0 : c.faults / c.requests)} |`),
    '',
    '| function | crashes | timeouts |',
    '|---|---:|---:|',
    ...Object.entries(faults.stoppedInvocations).map(([fn, f]) => `| ${fn} | ${f.crashes} | ${f.timeouts} |`),
    '',
    '## Latency during the soak',
    '',
    `Chat message, intake \`SendMessage\` → delivered by the client SDK: p50 ${latency.clientDeliveredMs.p50} ms, **p99 ${latency.clientDeliveredMs.p99} ms**, max ${latency.clientDeliveredMs.max} ms (${latency.clientDeliveredMs.count} deliveries; includes the time a client spent reconnecting).`,
    `Intake \`SendMessage\` → event stored in the user's stream: p50 ${latency.storedMs.p50} ms, p99 ${latency.storedMs.p99} ms (${latency.storedMs.count} events).`,
    '',
    '## Invariants',
    '',
    '| invariant | held | detail |',
    '|---|---|---|',
    ...report.invariants.map((i) => `| ${i.name} | ${i.ok ? 'yes' : '**no**'} | ${i.detail.replaceAll('|', '\\|')} |`),
    '',
    '## Outcome',
    '',
    `${outcome.notifications} notifications; routes ${Object.entries(outcome.routes).map(([s, n]) => `${s} ${n}`).join(', ')}; ${outcome.rejections} rejections; ` +
      `${outcome.events} stream events; ${outcome.emails} emails (${outcome.duplicateEmails} sent twice: email is at-least-once when a crash falls between SES and the route's completion); ` +
      `${outcome.clientDeliveries} client deliveries.`,
    '',
    '| metric | logged (EMF) | ground truth |',
    '|---|---:|---:|',
    ...Object.entries(report.metrics).map(([name, m]) => `| ${name} | ${m.logged} | ${m.truth} |`),
    '',
    'IntentsDuplicate counts each delivery of a producer\'s duplicate, so a duplicate SQS delivery of one counts twice; IntentsRedelivered counts intake messages that came back after their own acceptance (no ground truth: it is the faults\' doing).',
    '',
  ];
  return `${lines.join('\n')}\n`;
}
