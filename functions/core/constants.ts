/** Limits of the intent contract, version 1. Documented in docs/intent-contract.md. */
export const INTENT_VERSION = 1;

/**
 * Largest accepted `payload`, measured as UTF-8 bytes of its JSON text. A push event frame carries
 * the payload plus ~1 KiB of envelope, so 30 KiB keeps one event inside API Gateway's 32 KB
 * billing unit and far below its 128 KiB frame limit (and SQS's 256 KiB message limit).
 */
export const DEFAULT_MAX_PAYLOAD_BYTES = 30 * 1024;
/** Hard ceiling for the configurable payload limit: the event frame must stay under 128 KiB. */
export const MAX_PAYLOAD_BYTES_CEILING = 120 * 1024;
/** Largest intake message body we try to parse (SQS allows 256 KiB). */
export const MAX_INTENT_BYTES = 256 * 1024;
/**
 * Levels of objects and arrays a payload may nest (the payload itself is level 1): DynamoDB's
 * own limit for nested attributes, and deeper than any notification needs.
 */
export const MAX_PAYLOAD_DEPTH = 32;
/** Recipients per `users` audience. Larger audiences are split by the producer into several intents. */
export const MAX_RECIPIENTS = 1000;
/** How much of a rejected raw body is kept in its rejection record. */
export const REJECTION_RAW_BODY_BYTES = 2048;

/**
 * SQS: a message's visibility timeout can reach at most 12 h, counted from the ReceiveMessage that
 * returned it; ChangeMessageVisibility past that is refused, not shortened
 * (docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html).
 */
export const SQS_MAX_VISIBILITY_SECONDS = 12 * 60 * 60;
/**
 * How long before a handler's ChangeMessageVisibility the event source mapping may have received
 * the message: its batching window (at most 5 min) plus the invocation's run time (at most 5 min
 * here), with room to spare.
 */
export const SQS_RECEIVE_MARGIN_SECONDS = 15 * 60;
/** The longest delay a handler gives a received message; longer waits are the sweeper's. */
export const SQS_MAX_DELAY_SECONDS = SQS_MAX_VISIBILITY_SECONDS - SQS_RECEIVE_MARGIN_SECONDS;
/** SQS: SendMessageBatch / DeleteMessageBatch take at most 10 entries. */
export const SQS_BATCH_SIZE = 10;
/** SQS: the bodies of one SendMessageBatch together; AWS allows 1 MiB since 2025, queues made before may hold 256 KiB. */
export const SQS_BATCH_BYTES = 256 * 1024;
/** DynamoDB: BatchWriteItem takes at most 25 puts. */
export const DYNAMODB_BATCH_WRITE_SIZE = 25;
