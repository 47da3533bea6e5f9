/**
 * How long one attempt may wait for its answer before the SDK gives it up and retries. The SDK's
 * default is to wait forever, so a call that never answers held its batch until the function's
 * timeout. DynamoDB answers in milliseconds (a paused DynamoDB Local, in 1.5 s); SQS and SES in
 * tens of milliseconds. A timed-out attempt may still have been applied: every write is
 * conditional and recognises its own earlier application (docs/fault-model.md).
 */
export const REQUEST_TIMEOUTS_MS = { dynamodb: 3_000, sqs: 5_000, ses: 5_000, connections: 3_000 } as const;
/** How long opening a connection may take. */
export const CONNECTION_TIMEOUT_MS = 1_000;
