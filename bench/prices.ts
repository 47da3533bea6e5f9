/**
 * AWS list prices used by the cost model: us-east-1, on-demand, no free tier, USD.
 *
 * Collected 2026-11-22. This machine cannot reach aws.amazon.com, so no price below was read off
 * the AWS pricing pages today: each was taken from the secondary sources named (which quote the
 * AWS pages), and `confirmed` says whether independent sources agreed on it. Check the AWS pages
 * before planning a budget on these numbers.
 */
export interface Price {
  readonly usd: number;
  readonly per: string;
  readonly source: string;
  /** Several independent sources agreed on this figure; still not read off the AWS page itself. */
  readonly confirmed: boolean;
  readonly note?: string;
}

export const PRICES_AS_OF = '2026-11-22';
export const PRICES_REGION = 'us-east-1';

export const PRICES = {
  dynamodbWriteRequestUnit: {
    usd: 0.625 / 1e6,
    per: 'write request unit (on-demand; ≤ 1 KB; transactional writes count 2)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/ (via several 2025–2026 write-ups of the Nov 2024 price cut)',
    confirmed: true,
  },
  dynamodbReadRequestUnit: {
    usd: 0.125 / 1e6,
    per: 'read request unit (on-demand; strongly consistent ≤ 4 KB; eventually consistent counts ½)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/ (same sources)',
    confirmed: true,
  },
  dynamodbStorageGbMonth: {
    usd: 0.25,
    per: 'GB-month stored (Standard table class; each item counts 100 bytes of overhead)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/ (via several write-ups and AWS\'s own DynamoDB cost calculator script)',
    confirmed: true,
  },
  dynamodbProvisionedWriteCapacityUnitHour: {
    usd: 0.00065,
    per: 'write capacity unit-hour (provisioned capacity, Standard table class)',
    source: 'https://aws.amazon.com/dynamodb/pricing/provisioned/ (via write-ups quoting it and an open-source cost tool\'s "$0.0065 per 10 units an hour"; unchanged by the Nov 2024 on-demand cut, by those sources)',
    confirmed: false,
    note: 'used only for the provisioned-capacity estimate, not in the measured $ per million',
  },
  dynamodbProvisionedReadCapacityUnitHour: {
    usd: 0.00013,
    per: 'read capacity unit-hour (provisioned capacity, Standard table class)',
    source: 'https://aws.amazon.com/dynamodb/pricing/provisioned/ (same sources: "$0.0065 per 50 units an hour")',
    confirmed: false,
    note: 'used only for the provisioned-capacity estimate, not in the measured $ per million',
  },
  sqsRequest: {
    usd: 0.4 / 1e6,
    per: 'standard-queue request unit (each 64 KB chunk of a payload is one request)',
    source: 'https://aws.amazon.com/sqs/pricing/ (first 100 billion requests/month tier)',
    confirmed: false,
  },
  lambdaRequest: {
    usd: 0.2 / 1e6,
    per: 'invocation',
    source: 'https://aws.amazon.com/lambda/pricing/',
    confirmed: true,
  },
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    per: 'GB-second on arm64 (first 7.5 billion GB-s/month tier)',
    source: 'https://aws.amazon.com/lambda/pricing/',
    confirmed: true,
  },
  apiGatewayWebSocketMessage: {
    usd: 1.0 / 1e6,
    per: 'WebSocket message, in 32 KB increments (first billion/month)',
    source: 'https://aws.amazon.com/api-gateway/pricing/',
    confirmed: false,
  },
  apiGatewayHttpRequest: {
    usd: 1.0 / 1e6,
    per: 'HTTP API request, in 512 KB increments (first 300 million/month)',
    source: 'https://aws.amazon.com/api-gateway/pricing/',
    confirmed: false,
  },
  apiGatewayConnectionMinute: {
    usd: 0.25 / 1e6,
    per: 'WebSocket connection minute',
    source: 'https://aws.amazon.com/api-gateway/pricing/',
    confirmed: false,
    note: 'per connected client, not per delivery: reported separately',
  },
  sesEmail: {
    usd: 0.1 / 1000,
    per: 'outbound email (SES, outside the EC2-hosted free allowance)',
    source: 'https://aws.amazon.com/ses/pricing/',
    confirmed: true,
  },
  cloudWatchLogsIngestedGb: {
    usd: 0.5,
    per: 'GB of logs ingested (standard log class)',
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
    confirmed: true,
  },
  xrayTraceRecorded: {
    usd: 5.0 / 1e6,
    per: 'trace recorded',
    source: 'https://aws.amazon.com/xray/pricing/',
    confirmed: false,
  },
  dataTransferOutGb: {
    usd: 0.09,
    per: 'GB out to the internet (first 10 TB/month), charged on WebSocket frames sent to clients',
    source: 'https://aws.amazon.com/ec2/pricing/on-demand/#Data_Transfer',
    confirmed: false,
  },
} as const satisfies Record<string, Price>;

/** DynamoDB's per-item storage overhead. */
export const DYNAMODB_ITEM_OVERHEAD_BYTES = 100;
/** How long a buffered event is stored: the default freshness window (1 day) and the week it is kept after it. */
export const BUFFERED_EVENT_STORED_DAYS = 1 + 7;

/**
 * Average consumed ÷ provisioned capacity assumed by the provisioned-capacity estimate: auto
 * scaling's target (tableCapacity.targetUtilizationPercent, default 70). Real traffic averages less
 * (capacity scales down slowly and keeps its minimum), so the estimate is more likely low than high.
 */
export const PROVISIONED_UTILISATION = 0.7;

/** X-Ray's default sampling rule: the first request each second, then 5 %; at volume, ~5 % of invocations. */
export const XRAY_SAMPLED_FRACTION = 0.05;

/**
 * The fraction of requests X-Ray's default sampling rule records at `perSecond` requests a second:
 * a reservoir of 1 request each second, then 5 % of the rest
 * (docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html). Unknown rate (a backlog
 * drained as fast as it goes): the 5 % it tends to at volume.
 */
export function xraySampledFraction(perSecond: number | undefined): number {
  if (perSecond === undefined || perSecond <= 0) return XRAY_SAMPLED_FRACTION;
  return Math.min(1, (Math.min(1, perSecond) + XRAY_SAMPLED_FRACTION * Math.max(0, perSecond - 1)) / perSecond);
}
/** Lambda's own START / END / REPORT lines per invocation (estimated from their usual length). */
export const LAMBDA_PLATFORM_LOG_BYTES_PER_INVOCATION = 260;
