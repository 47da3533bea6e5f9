import type { FaultRule } from '../emulators/FaultProxy.ts';
import type { FaultService } from '../emulators/FaultProxy.ts';

/** One rule of a profile, and the service whose proxy applies it. */
export interface ChaosRule extends FaultRule {
  readonly service: FaultService;
}

export interface ChaosProfile {
  readonly description: string;
  readonly rules: readonly ChaosRule[];
  /** DynamoDB Local frozen this long, every `everyMs` (a brown-out: every request in it waits). */
  readonly dynamodbPause?: { readonly ms: number; readonly everyMs: number };
}

/** Errors as the services send them (codes from each API reference's "Errors" section). */
const DYNAMODB_THROTTLE = { status: 400, errorType: 'ProvisionedThroughputExceededException' } as const;
const DYNAMODB_5XX = { status: 500, errorType: 'InternalServerError' } as const;
const SQS_5XX = { status: 500, errorType: 'InternalError' } as const;
const SES_THROTTLE = { status: 429, errorType: 'TooManyRequestsException' } as const;
const CONNECTIONS_5XX = { status: 500, errorType: 'InternalServerErrorException' } as const;
const CONNECTIONS_THROTTLE = { status: 429, errorType: 'LimitExceededException' } as const;
const SECRETS_5XX = { status: 500, errorType: 'InternalServiceError' } as const;

/** The writes whose ambiguous answers Herald must survive (docs/fault-model.md). */
const DYNAMODB_WRITES = ['PutItem', 'UpdateItem', 'BatchWriteItem', 'DeleteItem'] as const;

/**
 * Named fault mixes for `npm start -- --chaos <profile>`, the admin API (`POST /chaos`) and
 * `npm run chaos`. Rates are per request that the rule's selectors match; docs/fault-model.md
 * lists what each profile injects.
 */
export const CHAOS_PROFILES: Record<string, ChaosProfile> = {
  light: {
    description: 'Occasional throttles and 5xx from DynamoDB, SQS, SES and @connections; some latency.',
    rules: [
      { service: 'dynamodb', caller: 'function', rate: 0.02, ...DYNAMODB_THROTTLE },
      { service: 'dynamodb', caller: 'function', rate: 0.05, effect: 'latency', delayMs: 50 },
      { service: 'sqs', caller: 'function', rate: 0.02, ...SQS_5XX },
      { service: 'ses', caller: 'function', operation: 'SendEmail', rate: 0.03, ...SES_THROTTLE },
      { service: 'connections', caller: 'function', operation: 'PostToConnection', rate: 0.02, ...CONNECTIONS_5XX },
    ],
  },
  ambiguous: {
    description: 'Writes that succeed but answer an error or no answer at all, duplicate SQS deliveries, crashes after a write.',
    rules: [
      ...DYNAMODB_WRITES.map((operation): ChaosRule => ({ service: 'dynamodb', caller: 'function', operation, rate: 0.05, effect: 'ambiguous' })),
      ...DYNAMODB_WRITES.map((operation): ChaosRule => ({ service: 'dynamodb', caller: 'function', operation, rate: 0.02, effect: 'drop' })),
      { service: 'dynamodb', caller: 'function', rate: 0.005, effect: 'crash_after' },
      { service: 'sqs', caller: 'function', operation: 'SendMessageBatch', rate: 0.05, effect: 'ambiguous' },
      { service: 'sqs', caller: 'event-source-mapping', operation: 'ReceiveMessage', rate: 0.1, effect: 'duplicate' },
      { service: 'connections', caller: 'function', operation: 'PostToConnection', rate: 0.03, effect: 'ambiguous', ...CONNECTIONS_5XX },
    ],
  },
  heavy: {
    description:
      'Every kind at once, about one request in eight: throttles, 5xx, latency, ambiguous writes, dropped answers, ' +
      'duplicate SQS deliveries, failed deletes, crashes and timeouts mid-invocation, Secrets Manager errors and DynamoDB Local pauses.',
    rules: [
      // A crash or timeout ends the invocation at a random request: before it is applied, or just after.
      { service: 'dynamodb', caller: 'function', rate: 0.0015, effect: 'crash' },
      { service: 'dynamodb', caller: 'function', rate: 0.0015, effect: 'crash_after' },
      { service: 'dynamodb', caller: 'function', rate: 0.0005, effect: 'timeout' },
      { service: 'sqs', caller: 'function', rate: 0.002, effect: 'crash_after' },
      ...DYNAMODB_WRITES.map((operation): ChaosRule => ({ service: 'dynamodb', caller: 'function', operation, rate: 0.03, effect: 'ambiguous' })),
      ...DYNAMODB_WRITES.map((operation): ChaosRule => ({ service: 'dynamodb', caller: 'function', operation, rate: 0.01, effect: 'drop' })),
      { service: 'dynamodb', caller: 'function', rate: 0.06, ...DYNAMODB_THROTTLE },
      { service: 'dynamodb', caller: 'function', rate: 0.03, ...DYNAMODB_5XX },
      { service: 'dynamodb', caller: 'function', rate: 0.05, effect: 'latency', delayMs: 40 },
      { service: 'sqs', caller: 'function', operation: 'SendMessageBatch', rate: 0.03, effect: 'ambiguous' },
      { service: 'sqs', caller: 'function', rate: 0.05, ...SQS_5XX },
      { service: 'sqs', caller: 'event-source-mapping', operation: 'ReceiveMessage', rate: 0.05, effect: 'duplicate' },
      { service: 'sqs', caller: 'event-source-mapping', operation: 'ReceiveMessage', rate: 0.03, ...SQS_5XX },
      { service: 'sqs', caller: 'event-source-mapping', operation: 'DeleteMessageBatch', rate: 0.03, ...SQS_5XX },
      { service: 'sqs', caller: 'eventbridge', rate: 0.05, ...SQS_5XX },
      { service: 'ses', caller: 'function', operation: 'SendEmail', rate: 0.08, ...SES_THROTTLE },
      { service: 'ses', caller: 'function', operation: 'SendEmail', rate: 0.03, effect: 'latency', delayMs: 200 },
      { service: 'connections', caller: 'function', operation: 'PostToConnection', rate: 0.03, effect: 'ambiguous', ...CONNECTIONS_5XX },
      { service: 'connections', caller: 'function', operation: 'PostToConnection', rate: 0.05, ...CONNECTIONS_5XX },
      { service: 'connections', caller: 'function', operation: 'PostToConnection', rate: 0.03, ...CONNECTIONS_THROTTLE },
      { service: 'events', caller: 'function', operation: 'GetSecretValue', rate: 0.1, ...SECRETS_5XX },
    ],
    dynamodbPause: { ms: 1_500, everyMs: 20_000 },
  },
};

/** The profile `npm run chaos` uses unless told otherwise. */
export const DEFAULT_CHAOS_PROFILE = 'heavy';

export function chaosProfile(name: string): ChaosProfile {
  const profile = CHAOS_PROFILES[name];
  if (profile === undefined) throw new Error(`no chaos profile "${name}"; profiles: ${Object.keys(CHAOS_PROFILES).join(', ')}`);
  return profile;
}

/** A small seeded generator (mulberry32): the same seed rolls the same faults for the same requests. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
