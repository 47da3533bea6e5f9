import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { SQS_MAX_DELAY_SECONDS } from '../core/constants.ts';

/**
 * Makes a received message visible again after `delayMs`. Returns false, changing nothing, when
 * the delay is longer than SQS allows counting from the message's receipt (12 h, less the time
 * that may have passed since: see SQS_MAX_DELAY_SECONDS); the caller then leaves the wait to the sweeper.
 */
export async function delayMessage(client: SQSClient, queueUrl: string, receiptHandle: string, delayMs: number): Promise<boolean> {
  const seconds = Math.ceil(delayMs / 1000);
  if (seconds > SQS_MAX_DELAY_SECONDS) return false;
  await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: Math.max(0, seconds) }));
  return true;
}
