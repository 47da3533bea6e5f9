import { mergeLedgers, type RequestLedger } from '../functions/adapters/requestAccounting.ts';
import { BUFFERED_EVENT_STORED_DAYS, DYNAMODB_ITEM_OVERHEAD_BYTES, LAMBDA_PLATFORM_LOG_BYTES_PER_INVOCATION, PRICES, PROVISIONED_UTILISATION, xraySampledFraction } from './prices.ts';

/** What one function did during a measurement. */
export interface FunctionUse {
  readonly invocations: number;
  readonly billedDurationMs: number;
  /** Estimated from CPU time at the function's vCPU share (absent before 2026-12-05: priced from local wall time). */
  readonly lambdaBilledDurationMs?: number;
  readonly memorySize: number;
  readonly logBytes: number;
  /** X-Ray active tracing on (the template's TracingConfig); its invocations may record traces. */
  readonly traced: boolean;
  /** Lambda writes START and REPORT lines for each invocation (absent in reports before 2026-12-04-lean: it always did). */
  readonly platformLogs?: boolean;
}

/** Everything counted while N routes were delivered. */
export interface MeasuredRun {
  readonly routes: number;
  /** Requests made by the producer (sending intents). */
  readonly producer: RequestLedger;
  /** Requests made by the event source mappings (receive, delete). */
  readonly eventSources: RequestLedger;
  /** Requests made inside each function. */
  readonly functions: Record<string, RequestLedger>;
  readonly usage: Record<string, FunctionUse>;
  /**
   * What the run's notifications left stored, read back from the tables: the DynamoDB size of each
   * item (notification, route, event; with the 100-byte overhead) times the days its TTL keeps it,
   * summed. Absent: event storage is estimated from the frames (reports before 2026-12-05).
   */
  readonly storedByteDays?: number;
}

/** Billable units per delivered route. */
export interface UnitsPerRoute {
  readonly awsRequests: number;
  readonly dynamodbWriteRequests: number;
  readonly dynamodbReadRequests: number;
  readonly dynamodbWriteUnits: number;
  readonly dynamodbIndexWriteUnits: number;
  readonly dynamodbReadUnits: number;
  readonly sqsRequestUnits: number;
  readonly sqsEmptyReceives: number;
  readonly apiGatewayMessages: number;
  readonly apiGatewayBytes: number;
  readonly sesEmails: number;
  readonly lambdaInvocations: number;
  /** Invocations of functions with X-Ray active tracing (absent from reports up to and including the tenth round, 2026-11-23-backlog-cost: all functions were traced). */
  readonly tracedInvocations: number;
  readonly lambdaGbSeconds: number;
  readonly logBytes: number;
  /** Bytes of buffered event stored per route (estimated: one frame's bytes plus item overhead, push routes only). */
  readonly storedEventBytes: number;
  /** Measured byte-days of every item a route's notification left stored (MeasuredRun.storedByteDays), when measured. */
  readonly storedByteDays?: number;
}

export interface CostLine {
  readonly charge: string;
  readonly usdPerMillion: number;
}

export interface RouteCost {
  readonly units: UnitsPerRoute;
  /** Per operation (`service.Operation`): requests per route. */
  readonly requestsPerRoute: Record<string, number>;
  readonly lines: CostLine[];
  readonly usdPerMillion: number;
  /** The same units with DynamoDB on provisioned capacity (absent from reports up to the tenth round, 2026-11-23-backlog-cost). */
  readonly provisioned?: ProvisionedCapacityEstimate;
}

/**
 * An estimate, not a measurement: the measured read and write units priced as provisioned capacity
 * units used at an assumed average utilisation, every other charge as measured.
 */
export interface ProvisionedCapacityEstimate {
  readonly utilisation: number;
  /** Replace the on-demand 'DynamoDB writes (table + indexes)' and 'DynamoDB reads' lines. */
  readonly lines: CostLine[];
  readonly usdPerMillion: number;
}

const MILLION = 1e6;
const DYNAMODB_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

/**
 * Turns the counts of one run into units and dollars per delivered route. Empty SQS receives (the
 * event sources' idle long polling) are a fixed cost per queue, not a per-delivery one, so they are
 * reported but not charged per route.
 */
export function costPerRoute(run: MeasuredRun, options: { readonly requestsPerSecond?: number } = {}): RouteCost {
  if (run.routes <= 0) throw new Error('a run must deliver at least one route');
  const all = mergeLedgers(run.producer, run.eventSources, ...Object.values(run.functions));
  const per = (n: number) => n / run.routes;
  let dynamodbWriteRequests = 0;
  let dynamodbReadRequests = 0;
  let writeUnits = 0;
  let indexWriteUnits = 0;
  let readUnits = 0;
  let sqsUnits = 0;
  let emptyReceives = 0;
  let apiMessages = 0;
  let apiPosts = 0;
  let apiBytes = 0;
  let emails = 0;
  let requests = 0;
  const requestsPerRoute: Record<string, number> = {};
  for (const [key, count] of Object.entries(all)) {
    const [service, operation] = key.split('.') as [string, string];
    const billedRequests = count.requests - count.emptyReceives;
    requests += billedRequests;
    if (billedRequests > 0) requestsPerRoute[key] = per(billedRequests);
    if (service === 'dynamodb') {
      if (DYNAMODB_WRITES.has(operation)) dynamodbWriteRequests += count.requests;
      else dynamodbReadRequests += count.requests;
      writeUnits += count.writeUnits + count.estimatedWriteUnits;
      indexWriteUnits += count.indexWriteUnits;
      readUnits += count.readUnits;
    } else if (service === 'sqs') {
      sqsUnits += count.billedUnits - count.emptyReceives;
      emptyReceives += count.emptyReceives;
    } else if (service === 'apigateway' && operation === 'PostToConnection') {
      apiMessages += count.billedUnits;
      apiPosts += count.requests;
      apiBytes += count.payloadBytes;
    } else if (service === 'ses' && operation === 'SendEmail') {
      emails += count.requests;
    }
  }
  const uses = Object.values(run.usage);
  const invocations = uses.reduce((sum, u) => sum + u.invocations, 0);
  const tracedInvocations = uses.reduce((sum, u) => sum + (u.traced ? u.invocations : 0), 0);
  const gbSeconds = uses.reduce((sum, u) => sum + ((u.lambdaBilledDurationMs ?? u.billedDurationMs) / 1000) * (u.memorySize / 1024), 0);
  const logBytes = uses.reduce((sum, u) => sum + u.logBytes + (u.platformLogs === false ? 0 : u.invocations * LAMBDA_PLATFORM_LOG_BYTES_PER_INVOCATION), 0);

  const units: UnitsPerRoute = {
    awsRequests: per(requests),
    dynamodbWriteRequests: per(dynamodbWriteRequests),
    dynamodbReadRequests: per(dynamodbReadRequests),
    dynamodbWriteUnits: per(writeUnits),
    dynamodbIndexWriteUnits: per(indexWriteUnits),
    dynamodbReadUnits: per(readUnits),
    sqsRequestUnits: per(sqsUnits),
    sqsEmptyReceives: per(emptyReceives),
    apiGatewayMessages: per(apiMessages),
    apiGatewayBytes: per(apiBytes),
    sesEmails: per(emails),
    lambdaInvocations: per(invocations),
    tracedInvocations: per(tracedInvocations),
    lambdaGbSeconds: per(gbSeconds),
    logBytes: per(logBytes),
    // A push route stores its event once, however many connections it is posted to; the frame is
    // the event as stored, near enough (the item adds keys and a TTL).
    storedEventBytes: apiPosts > 0 ? apiBytes / apiPosts + DYNAMODB_ITEM_OVERHEAD_BYTES : 0,
    ...(run.storedByteDays !== undefined ? { storedByteDays: per(run.storedByteDays) } : {}),
  };
  const GB = 1024 ** 3;
  const dynamodbWrites = tableAndIndexWriteUnits(units) * PRICES.dynamodbWriteRequestUnit.usd * MILLION;
  const dynamodbReads = units.dynamodbReadUnits * PRICES.dynamodbReadRequestUnit.usd * MILLION;
  const lines: CostLine[] = [
    { charge: 'DynamoDB writes (table + indexes)', usdPerMillion: dynamodbWrites },
    units.storedByteDays !== undefined
      ? { charge: 'DynamoDB storage (notifications, routes and events, measured sizes × days kept)', usdPerMillion: (units.storedByteDays / 1e9 / 30.4) * PRICES.dynamodbStorageGbMonth.usd * MILLION }
      : { charge: `DynamoDB storage (buffered events, ${BUFFERED_EVENT_STORED_DAYS} days, estimated)`, usdPerMillion: (units.storedEventBytes / 1e9) * PRICES.dynamodbStorageGbMonth.usd * (BUFFERED_EVENT_STORED_DAYS / 30.4) * MILLION },
    { charge: 'DynamoDB reads', usdPerMillion: dynamodbReads },
    { charge: 'SQS requests', usdPerMillion: units.sqsRequestUnits * PRICES.sqsRequest.usd * MILLION },
    { charge: 'API Gateway WebSocket messages', usdPerMillion: units.apiGatewayMessages * PRICES.apiGatewayWebSocketMessage.usd * MILLION },
    { charge: 'Data transfer out (WebSocket frames)', usdPerMillion: (units.apiGatewayBytes / GB) * PRICES.dataTransferOutGb.usd * MILLION },
    { charge: 'SES emails', usdPerMillion: units.sesEmails * PRICES.sesEmail.usd * MILLION },
    { charge: 'Lambda requests', usdPerMillion: units.lambdaInvocations * PRICES.lambdaRequest.usd * MILLION },
    { charge: 'Lambda duration (arm64)', usdPerMillion: units.lambdaGbSeconds * PRICES.lambdaArmGbSecond.usd * MILLION },
    { charge: 'CloudWatch Logs ingestion', usdPerMillion: (units.logBytes / GB) * PRICES.cloudWatchLogsIngestedGb.usd * MILLION },
    { charge: 'X-Ray traces (default sampling)', usdPerMillion: units.tracedInvocations * xraySampledFraction(options.requestsPerSecond) * PRICES.xrayTraceRecorded.usd * MILLION },
  ];
  const usdPerMillion = lines.reduce((sum, l) => sum + l.usdPerMillion, 0);
  return { units, requestsPerRoute, lines, usdPerMillion, provisioned: onProvisionedCapacity(units, usdPerMillion - dynamodbWrites - dynamodbReads) };
}

/** Write units per route, the table's and its indexes': both are billed (and provisioned) alike. */
function tableAndIndexWriteUnits(units: UnitsPerRoute): number {
  return units.dynamodbWriteUnits + units.dynamodbIndexWriteUnits;
}

/**
 * `otherUsdPerMillion`: every charge but DynamoDB's reads and writes. A capacity unit-hour serves
 * 3,600 units of work if fully used; at utilisation u, 3,600 × u.
 */
function onProvisionedCapacity(units: UnitsPerRoute, otherUsdPerMillion: number): ProvisionedCapacityEstimate {
  const perUnit = (unitHour: number) => unitHour / (3600 * PROVISIONED_UTILISATION);
  const lines: CostLine[] = [
    { charge: 'DynamoDB writes (table + indexes), provisioned', usdPerMillion: tableAndIndexWriteUnits(units) * perUnit(PRICES.dynamodbProvisionedWriteCapacityUnitHour.usd) * MILLION },
    { charge: 'DynamoDB reads, provisioned', usdPerMillion: units.dynamodbReadUnits * perUnit(PRICES.dynamodbProvisionedReadCapacityUnitHour.usd) * MILLION },
  ];
  return { utilisation: PROVISIONED_UTILISATION, lines, usdPerMillion: otherUsdPerMillion + lines.reduce((sum, l) => sum + l.usdPerMillion, 0) };
}

/** A connected device's month: 30 days of minutes. */
export const DEVICE_MONTH_MINUTES = 30 * 24 * 60;

export interface DeviceMonthCost {
  readonly pingIntervalMinutes: number;
  readonly pingsPerMonth: number;
  /** Dollars per device-month, by charge. */
  readonly lines: { readonly charge: string; readonly usd: number }[];
  readonly usdPerDeviceMonth: number;
}

/**
 * What a device connected all month costs without receiving anything: its connection minutes, and
 * a ping every `pingIntervalMinutes` — the ping API Gateway receives (a message), plus what
 * answering it cost as measured (`ping`: per ping, the pong posted, the function's invocation,
 * duration and log lines).
 */
export function deviceMonthCost(ping: UnitsPerRoute, pingIntervalMinutes: number): DeviceMonthCost {
  const pings = DEVICE_MONTH_MINUTES / pingIntervalMinutes;
  const GB = 1024 ** 3;
  const lines = [
    { charge: 'API Gateway connection minutes', usd: DEVICE_MONTH_MINUTES * PRICES.apiGatewayConnectionMinute.usd },
    { charge: 'API Gateway messages (ping received, pong sent)', usd: pings * (1 + ping.apiGatewayMessages) * PRICES.apiGatewayWebSocketMessage.usd },
    { charge: 'Lambda requests', usd: pings * ping.lambdaInvocations * PRICES.lambdaRequest.usd },
    { charge: 'Lambda duration (arm64)', usd: pings * ping.lambdaGbSeconds * PRICES.lambdaArmGbSecond.usd },
    { charge: 'CloudWatch Logs ingestion', usd: pings * (ping.logBytes / GB) * PRICES.cloudWatchLogsIngestedGb.usd },
    { charge: 'DynamoDB (reads and writes)', usd: pings * (tableAndIndexWriteUnits(ping) * PRICES.dynamodbWriteRequestUnit.usd + ping.dynamodbReadUnits * PRICES.dynamodbReadRequestUnit.usd) },
  ];
  return { pingIntervalMinutes, pingsPerMonth: pings, lines, usdPerDeviceMonth: lines.reduce((sum, l) => sum + l.usd, 0) };
}
