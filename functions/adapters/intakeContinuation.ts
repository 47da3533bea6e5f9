import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

/**
 * The message attribute a continuation carries: the intake message whose acceptance it goes on
 * with. Names may hold letters, digits, `_`, `-` and `.`
 * (docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html).
 */
export const CONTINUES_ATTRIBUTE = 'herald_continues';

/** The intake message an acceptance belongs to: its id and when it was first sent. */
export interface ContinuedMessage {
  readonly id: string;
  readonly sentAt: number;
}

/**
 * Sends a copy of an intake message's body that goes on with `from`'s acceptance. It starts with
 * fresh receives: an acceptance that gets further on every receive (a large inbox fan-out) never
 * spends the receives its queue keeps for failures.
 */
export async function sendContinuation(client: SQSClient, queueUrl: string, body: string, from: ContinuedMessage): Promise<void> {
  await client.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: body,
      MessageAttributes: continuationAttributes(from),
    }),
  );
}

/** The message attributes of a continuation of `from`. */
export function continuationAttributes(from: ContinuedMessage): Record<string, { DataType: 'String'; StringValue: string }> {
  return { [CONTINUES_ATTRIBUTE]: { DataType: 'String', StringValue: JSON.stringify({ id: from.id, sent_at: from.sentAt }) } };
}

/**
 * The intake message a received record goes on with, when it is a continuation (undefined otherwise,
 * or when the attribute is not one). Lambda's SQS records spell attributes `{ dataType, stringValue }`
 * (docs.aws.amazon.com/lambda/latest/dg/with-sqs.html, example event).
 */
export function continuedFrom(attributes: Readonly<Record<string, { readonly stringValue?: string | undefined }>> | undefined): ContinuedMessage | undefined {
  const raw = attributes?.[CONTINUES_ATTRIBUTE]?.stringValue;
  if (raw === undefined) return undefined;
  try {
    const value = JSON.parse(raw) as { id?: unknown; sent_at?: unknown };
    if (typeof value.id !== 'string' || value.id.length === 0 || value.id.length > 128 || typeof value.sent_at !== 'number' || !Number.isFinite(value.sent_at)) return undefined;
    return { id: value.id, sentAt: value.sent_at };
  } catch {
    return undefined;
  }
}
