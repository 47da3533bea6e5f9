import type { SQSRecord } from 'aws-lambda';
import { delayMessage } from '../../adapters/delayMessage.ts';
import { sqsClient } from '../../adapters/awsClients.ts';
import { logger, traced } from './observability.ts';

/** How many times SQS has handed this record out, this time included. */
export const receiveCountOf = (record: SQSRecord): number => Number(record.attributes.ApproximateReceiveCount ?? 1);

/**
 * Makes a record whose handling failed visible again after `delayMs`, instead of after the queue's
 * visibility timeout. If SQS refuses, the record still comes back, later: that is logged, not thrown,
 * so the caller reports the record's own failure.
 */
export async function redeliverAfter(queueUrl: string, record: SQSRecord, delayMs: number, fields: Record<string, unknown>): Promise<void> {
  await delayMessage(traced(sqsClient()), queueUrl, record.receiptHandle, delayMs).catch((error: Error) =>
    logger.warn('could not shorten the retry delay; the message comes back after the queue\'s visibility timeout', { ...fields, message_id: record.messageId, error }),
  );
}
