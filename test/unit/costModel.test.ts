import { describe, expect, it } from 'vitest';
import type { OperationCount, RequestLedger } from '../../functions/adapters/requestAccounting.ts';
import { costPerRoute, deviceMonthCost } from '../../bench/costModel.ts';
import { writesPlatformLogLines } from '../../local/OfflineStack.ts';
import { BUFFERED_EVENT_STORED_DAYS, DYNAMODB_ITEM_OVERHEAD_BYTES, LAMBDA_PLATFORM_LOG_BYTES_PER_INVOCATION, PRICES, PROVISIONED_UTILISATION, XRAY_SAMPLED_FRACTION, xraySampledFraction } from '../../bench/prices.ts';

function count(fields: Partial<OperationCount>): OperationCount {
  return { requests: 0, failed: 0, readUnits: 0, writeUnits: 0, indexWriteUnits: 0, estimatedWriteUnits: 0, billedUnits: 0, payloadBytes: 0, emptyReceives: 0, ...fields };
}

const functions: Record<string, RequestLedger> = {
  accept: {
    'dynamodb.PutItem': count({ requests: 2, writeUnits: 2 }),
    'dynamodb.UpdateItem': count({ requests: 1, failed: 1, estimatedWriteUnits: 1 }),
    'sqs.SendMessageBatch': count({ requests: 1, billedUnits: 1 }),
  },
  deliver: {
    'dynamodb.GetItem': count({ requests: 2, readUnits: 1 }),
    'dynamodb.TransactWriteItems': count({ requests: 2, writeUnits: 12, indexWriteUnits: 2 }),
    'apigateway.PostToConnection': count({ requests: 2, billedUnits: 2, payloadBytes: 600 }),
  },
};

describe('costPerRoute with storage read back and CPU-scaled durations', () => {
  const base = {
    routes: 4,
    producer: {},
    eventSources: {},
    functions: {},
  };

  it('prices storage from the measured byte-days, per route', () => {
    const cost = costPerRoute({ ...base, usage: {}, storedByteDays: 4 * 1_000 * 30 });
    const storage = cost.lines.find((l) => l.charge.startsWith('DynamoDB storage (notifications, routes and events'))!;
    // 1,000 bytes kept 30 days per route.
    expect(storage.usdPerMillion).toBeCloseTo((1_000 * 30 / 1e9 / 30.4) * PRICES.dynamodbStorageGbMonth.usd * 1e6, 9);
  });

  it('prices Lambda duration from the vCPU-share estimate when there is one, else from local wall time', () => {
    const use = { invocations: 4, billedDurationMs: 40, memorySize: 256, logBytes: 0, traced: false };
    const wall = costPerRoute({ ...base, usage: { f: use } });
    const scaled = costPerRoute({ ...base, usage: { f: { ...use, lambdaBilledDurationMs: 160 } } });
    expect(wall.units.lambdaGbSeconds).toBeCloseTo((40 / 1000) * 0.25 / 4, 12);
    expect(scaled.units.lambdaGbSeconds).toBeCloseTo((160 / 1000) * 0.25 / 4, 12);
  });
});

describe('xraySampledFraction', () => {
  it.each([
    [0.5, 1],
    [1, 1],
    [50, (1 + 0.05 * 49) / 50],
    [1_000, (1 + 0.05 * 999) / 1_000],
    [undefined, 0.05],
  ])('at %s requests a second records %f of them (a reservoir of 1/s, then 5 %%)', (rate, fraction) => {
    expect(xraySampledFraction(rate)).toBeCloseTo(fraction, 12);
  });
});

describe('costPerRoute', () => {
  const cost = costPerRoute({
    routes: 2,
    producer: { 'sqs.SendMessage': count({ requests: 2, billedUnits: 2 }) },
    eventSources: { 'sqs.ReceiveMessage': count({ requests: 10, emptyReceives: 8, billedUnits: 10 }) },
    functions,
    usage: {
      accept: { invocations: 1, billedDurationMs: 1000, memorySize: 1024, logBytes: 740, traced: true },
      deliver: { invocations: 1, billedDurationMs: 0, memorySize: 256, logBytes: 0, traced: false },
    },
  });

  it('divides every unit by the routes delivered and leaves idle polls out of the charge', () => {
    expect(cost.units).toMatchObject({
      dynamodbWriteRequests: 2.5,
      dynamodbReadRequests: 1,
      dynamodbWriteUnits: 7.5,
      dynamodbIndexWriteUnits: 1,
      dynamodbReadUnits: 0.5,
      sqsRequestUnits: 2.5,
      sqsEmptyReceives: 4,
      apiGatewayMessages: 1,
      apiGatewayBytes: 300,
      lambdaInvocations: 1,
      tracedInvocations: 0.5,
      lambdaGbSeconds: 0.5,
      logBytes: (740 + 2 * LAMBDA_PLATFORM_LOG_BYTES_PER_INVOCATION) / 2,
      // One 300-byte frame per message: the buffered event it came from, plus DynamoDB's item overhead.
      storedEventBytes: 300 + DYNAMODB_ITEM_OVERHEAD_BYTES,
    });
    expect(cost.requestsPerRoute['sqs.ReceiveMessage']).toBe(1);
    expect(cost.units.awsRequests).toBe((2 + 2 + 1 + 1 + 2 + 2 + 2 + 2) / 2);
  });

  it('counts Lambda\'s START and REPORT lines only for functions that write them (system log level WARN does not)', () => {
    const quiet = costPerRoute({
      routes: 2, producer: {}, eventSources: {}, functions: {},
      usage: {
        accept: { invocations: 1, billedDurationMs: 0, memorySize: 256, logBytes: 740, traced: false, platformLogs: false },
        deliver: { invocations: 1, billedDurationMs: 0, memorySize: 256, logBytes: 0, traced: false, platformLogs: true },
      },
    });
    expect(quiet.units.logBytes).toBe((740 + LAMBDA_PLATFORM_LOG_BYTES_PER_INVOCATION) / 2);
  });

  it('prices each charge at the list price and adds them up', () => {
    const line = (charge: string) => cost.lines.find((l) => l.charge === charge)!.usdPerMillion;
    expect(line('DynamoDB writes (table + indexes)')).toBeCloseTo(8.5 * PRICES.dynamodbWriteRequestUnit.usd * 1e6, 9);
    expect(line('API Gateway WebSocket messages')).toBeCloseTo(PRICES.apiGatewayWebSocketMessage.usd * 1e6, 9);
    expect(line('Lambda duration (arm64)')).toBeCloseTo(0.5 * PRICES.lambdaArmGbSecond.usd * 1e6, 9);
    // Only the traced function's invocations can record traces.
    expect(line('X-Ray traces (default sampling)')).toBeCloseTo(0.5 * XRAY_SAMPLED_FRACTION * PRICES.xrayTraceRecorded.usd * 1e6, 9);
    const storage = cost.lines.find((l) => l.charge.startsWith('DynamoDB storage (buffered events'))!;
    expect(storage.usdPerMillion).toBeCloseTo(((300 + DYNAMODB_ITEM_OVERHEAD_BYTES) / 1e9) * PRICES.dynamodbStorageGbMonth.usd * (BUFFERED_EVENT_STORED_DAYS / 30.4) * 1e6, 9);
    expect(cost.usdPerMillion).toBeCloseTo(cost.lines.reduce((s, l) => s + l.usdPerMillion, 0), 9);
  });

  it('estimates the same units on provisioned capacity: read and write units at unit-hour prices over the assumed utilisation, the rest unchanged', () => {
    // Prepare
    const line = (charge: string) => cost.lines.find((l) => l.charge === charge)!.usdPerMillion;
    const estimate = cost.provisioned!;
    // A capacity unit fully used for an hour serves 3,600 units; at 70 % utilisation, 2,520.
    const perWriteUnit = PRICES.dynamodbProvisionedWriteCapacityUnitHour.usd / (3600 * PROVISIONED_UTILISATION);
    const perReadUnit = PRICES.dynamodbProvisionedReadCapacityUnitHour.usd / (3600 * PROVISIONED_UTILISATION);

    // Assess
    expect(estimate.utilisation).toBe(0.7);
    expect(estimate.lines).toEqual([
      { charge: 'DynamoDB writes (table + indexes), provisioned', usdPerMillion: expect.closeTo(8.5 * perWriteUnit * 1e6, 9) },
      { charge: 'DynamoDB reads, provisioned', usdPerMillion: expect.closeTo(0.5 * perReadUnit * 1e6, 9) },
    ]);
    const others = cost.usdPerMillion - line('DynamoDB writes (table + indexes)') - line('DynamoDB reads');
    expect(estimate.usdPerMillion).toBeCloseTo(others + 8.5 * perWriteUnit * 1e6 + 0.5 * perReadUnit * 1e6, 9);
    // At these (unconfirmed) prices a provisioned write unit used 70 % of the time costs about 41 % of an on-demand one.
    expect(perWriteUnit / PRICES.dynamodbWriteRequestUnit.usd).toBeCloseTo(0.413, 3);
    expect(estimate.usdPerMillion).toBeLessThan(cost.usdPerMillion);
  });

  it('refuses a run that delivered nothing', () => {
    expect(() => costPerRoute({ routes: 0, producer: {}, eventSources: {}, functions: {}, usage: {} })).toThrow(/at least one route/);
  });
});

describe('writesPlatformLogLines (the offline stack reads LoggingConfig as Lambda applies it)', () => {
  it.each([
    [undefined, true],
    [{ LogFormat: 'Text' }, true],
    [{ LogFormat: 'JSON' }, true],
    [{ LogFormat: 'JSON', SystemLogLevel: 'INFO' }, true],
    [{ LogFormat: 'JSON', SystemLogLevel: 'DEBUG' }, true],
    [{ LogFormat: 'JSON', SystemLogLevel: 'WARN' }, false],
  ])('%j → %s', (config, expected) => {
    expect(writesPlatformLogLines(config)).toBe(expected);
  });
});

describe('deviceMonthCost', () => {
  it('prices a month of connection minutes and one ping per interval, each ping as measured', () => {
    const ping = costPerRoute({
      routes: 10, producer: {}, eventSources: {},
      functions: { connection: { 'apigateway.PostToConnection': count({ requests: 10, billedUnits: 10 }) } },
      usage: { connection: { invocations: 10, billedDurationMs: 20, memorySize: 256, logBytes: 1000, traced: false, platformLogs: false } },
    }).units;

    const month = deviceMonthCost(ping, 5);

    expect(month.pingsPerMonth).toBe(8640);
    const line = (charge: string) => month.lines.find((l) => l.charge.startsWith(charge))!.usd;
    expect(line('API Gateway connection minutes')).toBeCloseTo(43_200 * PRICES.apiGatewayConnectionMinute.usd, 12);
    // The ping received and the pong posted.
    expect(line('API Gateway messages')).toBeCloseTo(8640 * 2 * PRICES.apiGatewayWebSocketMessage.usd, 12);
    expect(line('Lambda requests')).toBeCloseTo(8640 * PRICES.lambdaRequest.usd, 12);
    expect(line('CloudWatch Logs')).toBeCloseTo(8640 * (100 / 1024 ** 3) * PRICES.cloudWatchLogsIngestedGb.usd, 12);
    expect(month.usdPerDeviceMonth).toBeCloseTo(month.lines.reduce((sum, l) => sum + l.usd, 0), 12);
    // Pinging half as often halves every per-ping charge.
    expect(deviceMonthCost(ping, 10).usdPerDeviceMonth).toBeCloseTo(line('API Gateway connection minutes') + (month.usdPerDeviceMonth - line('API Gateway connection minutes')) / 2, 12);
  });
});
