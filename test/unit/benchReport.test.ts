import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderMarkdown, type BenchReport } from '../../bench/report.ts';

// The committed full run: what a full `npm run bench` writes (the quick run has no 50/s latency).
const full = JSON.parse(readFileSync('bench/results/2026-11-23-provisioned-estimate.json', 'utf8')) as BenchReport;
const before = JSON.parse(readFileSync('bench/results/2026-11-23-backlog-cost.json', 'utf8')) as BenchReport;
// A run from before latency was measured with request accounting off.
const oneStack = JSON.parse(readFileSync('bench/results/2026-11-22-emulator-jvm.json', 'utf8')) as BenchReport;
// A run from before the bench had a warm-up.
const unwarmed = JSON.parse(readFileSync('bench/results/2026-11-22-first-push-in-accept.json', 'utf8')) as BenchReport;

describe('the Markdown report of a full run', () => {
  const markdown = renderMarkdown(full, before);
  const headline = markdown.slice(markdown.indexOf('## Headline'), markdown.indexOf('## Cost per delivered route'));
  const push1 = full.cost.find((c) => c.case === 'push_1_device')!;
  const push1Backlog = full.cost.find((c) => c.case === 'push_1_device_backlog')!;
  const at50 = full.latency.find((l) => l.offeredRate === 50)!;

  it('comes from a full run (not --quick) that measured every rate and finished within 10 minutes, as it recorded', () => {
    expect(full.quick).toBe(false);
    expect(full.latency.map((l) => l.offeredRate)).toEqual([10, 50, 100]);
    expect(full.durationSeconds).toBeGreaterThan(0);
    expect(full.durationSeconds).toBeLessThan(600);
    expect(markdown).toContain(`ran ${full.durationSeconds} s on`);
  });

  it('leads with single-device push: $ per million, writes per route, local p50/p99 at 50 intents/s, against the targets', () => {
    expect(headline).toContain(`| $ per million deliveries, every AWS charge | $${push1.cost.usdPerMillion.toFixed(3)} | ≤ $3.000 |`);
    expect(headline).toContain(`| DynamoDB write requests per route | ${Math.round(push1.cost.units.dynamodbWriteRequests * 100) / 100} | |`);
    expect(headline).toContain(`| local p50 latency at 50 intents/s | ${at50.p50Ms} ms | ≤ 30 ms |`);
    expect(headline).toContain(`| local p99 latency at 50 intents/s | ${at50.p99Ms} ms | ≤ 100 ms |`);
  });

  it('also prices single-device push with the intake loaded ahead: batched sends, full event-source batches', () => {
    expect(push1Backlog.offeredRate).toBe('backlog');
    expect(push1Backlog.routes).toBe(push1.routes);
    expect(headline).toContain(`| the same with the intake loaded ahead (SendMessageBatch, full event-source batches) | $${push1Backlog.cost.usdPerMillion.toFixed(3)} | |`);
    // The same work per route; only the per-batch requests are shared by ten intents.
    expect(push1Backlog.cost.units.dynamodbWriteUnits).toBe(push1.cost.units.dynamodbWriteUnits);
    expect(push1Backlog.cost.units.apiGatewayMessages).toBe(1);
    expect(push1Backlog.cost.requestsPerRoute['sqs.SendMessageBatch']).toBe(0.1);
    expect(push1Backlog.cost.units.lambdaInvocations).toBe(0.1);
    expect(markdown).toContain(`| routes measured (offered intents/s) | 200 (50/s) | 200 (50/s) | 200 (50/s) | 200 (backlog) |`);
  });

  it('estimates single-device push with DynamoDB on provisioned capacity, labelled as an estimate, and older reports without it', () => {
    for (const [c, how] of [[push1, 'one by one'], [push1Backlog, 'loaded ahead']] as const) {
      expect(headline).toContain(`| ${how}, DynamoDB on provisioned capacity used 70 % on average (estimate) | $${c.cost.provisioned!.usdPerMillion.toFixed(3)} | |`);
      // Only DynamoDB's read and write charges change.
      const dynamodb = c.cost.lines.filter((l) => l.charge === 'DynamoDB writes (table + indexes)' || l.charge === 'DynamoDB reads').reduce((sum, l) => sum + l.usdPerMillion, 0);
      const provisioned = c.cost.provisioned!.lines.reduce((sum, l) => sum + l.usdPerMillion, 0);
      expect(c.cost.provisioned!.usdPerMillion).toBeCloseTo(c.cost.usdPerMillion - dynamodb + provisioned, 9);
    }
    expect(markdown).toContain('| $ per million, DynamoDB on provisioned capacity (estimate) |');
    expect(markdown).toContain('The rows marked (estimate) are not a measurement');
    expect(renderMarkdown(before)).not.toContain('provisioned capacity');
  });

  it('lists every charge that makes up the $ per million, for each case', () => {
    for (const line of push1.cost.lines) expect(markdown).toContain(`| $/M ${line.charge} |`);
    expect(push1.cost.lines.map((l) => l.charge)).toEqual(expect.arrayContaining([
      'DynamoDB writes (table + indexes)', 'DynamoDB reads', 'SQS requests', 'API Gateway WebSocket messages',
      'SES emails', 'Lambda requests', 'Lambda duration (arm64)', 'CloudWatch Logs ingestion', 'X-Ray traces (default sampling)',
    ]));
    expect(full.cost.map((c) => c.case)).toEqual(['push_1_device', 'push_3_devices', 'email', 'push_1_device_backlog']);
  });

  it('says the latency was measured after an unrecorded warm-up, and how large it was', () => {
    expect(full.warmUp).toEqual({ rate: 50, seconds: 40, intents: 2000 });
    expect(markdown).toContain('Measured after an unrecorded warm-up of 2000 push intents at 50/s');
    expect(renderMarkdown(unwarmed)).not.toContain('warm-up');
  });

  it('says latency was measured with request accounting off and cost with it on; older reports say one stack', () => {
    expect(full.requestAccounting).toEqual({ latency: false, replay: false, cost: true, throughput: true });
    expect(markdown).toContain('latency and replay with request accounting off (as in production), cost and throughput with it on');
    expect(renderMarkdown(oneStack)).toContain('One stack with request accounting on for every measurement.');
  });

  it('reports the 50/s target rate as the median of three runs and lists every run', () => {
    const p50s = at50.repeats!.map((r) => r.p50Ms!);
    expect(p50s).toHaveLength(3);
    expect([...p50s].sort((a, b) => a - b)[1]).toBe(at50.p50Ms);
    expect(at50.repeats).toContainEqual(expect.objectContaining({ p50Ms: at50.p50Ms, p99Ms: at50.p99Ms }));
    expect(markdown).toContain(`50 intents/s was run 3 times; the row above is the run with the median p50. p50 / p99 of each run: ${at50.repeats!.map((r) => `${r.p50Ms} / ${r.p99Ms} ms`).join(', ')}.`);
  });

  it('records before and after against the baseline', () => {
    expect(markdown).toContain('## Before / after (baseline 2026-11-23)');
    expect(markdown).toContain(`| push 1 device | $ per million | $${before.cost[0]!.cost.usdPerMillion.toFixed(3)} | $${push1.cost.usdPerMillion.toFixed(3)} |`);
  });
});
