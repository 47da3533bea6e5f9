import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSBatchResponse } from 'aws-lambda';
import { LOCAL_REGION } from './Intrinsics.ts';
import type { LocalFunction } from './FunctionHost.ts';

export interface SqsEventSourceSpec {
  readonly logicalId: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly batchSize: number;
  /**
   * MaximumBatchingWindowInSeconds, in ms: how long to go on gathering messages, from the first
   * one received, before invoking with fewer than `batchSize` (0: invoke with what one receive got).
   */
  readonly batchingWindowMs: number;
  readonly reportBatchItemFailures: boolean;
  /** Concurrent batches in flight (ScalingConfig.MaximumConcurrency, bounded locally). */
  readonly concurrency: number;
}

/**
 * Polls a queue the way a Lambda SQS event source mapping does: receive up to `batchSize`
 * messages — with a batching window, go on receiving until the batch is full or the window has
 * passed (docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html#invocation-eventsourcemapping-batching)
 * — invoke the function with an SQS event, then delete what succeeded. With
 * ReportBatchItemFailures the listed items stay; a failed invocation leaves every message to
 * reappear after its visibility timeout (and be redriven to the DLQ by SQS).
 */
export class SqsEventSource {
  private running = false;
  private readonly loops: Promise<void>[] = [];
  private readonly abort = new AbortController();
  public batches = 0;

  public constructor(
    private readonly spec: SqsEventSourceSpec,
    private readonly sqs: SQSClient,
    private readonly fn: LocalFunction,
    private readonly log: (line: string) => void,
  ) {}

  public start(): void {
    this.running = true;
    for (let i = 0; i < this.spec.concurrency; i += 1) this.loops.push(this.poll());
  }

  public async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await Promise.allSettled(this.loops);
  }

  private async poll(): Promise<void> {
    while (this.running) {
      let messages: Message[] = [];
      try {
        messages = await this.receive(this.spec.batchSize, 1);
        const windowEnds = Date.now() + this.spec.batchingWindowMs;
        while (messages.length > 0 && messages.length < this.spec.batchSize && Date.now() < windowEnds && this.running) {
          const more = await this.receive(this.spec.batchSize - messages.length, Math.floor((windowEnds - Date.now()) / 1000));
          messages.push(...more);
          if (more.length === 0) await new Promise((r) => setTimeout(r, Math.min(50, Math.max(0, windowEnds - Date.now()))));
        }
      } catch (error) {
        if (!this.running) return;
        this.log(`[${this.spec.logicalId}] receive failed: ${(error as Error).message}`);
        // What was received stays invisible until its visibility timeout, as when a poller fails mid-batch.
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (messages.length > 0) await this.deliver(messages);
    }
  }

  private async receive(upTo: number, waitSeconds: number): Promise<Message[]> {
    const received = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.spec.queueUrl,
        MaxNumberOfMessages: Math.min(10, upTo),
        WaitTimeSeconds: Math.max(0, Math.min(20, waitSeconds)),
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: this.abort.signal },
    );
    return received.Messages ?? [];
  }

  private async deliver(messages: Message[]): Promise<void> {
    this.batches += 1;
    const event: SQSEvent = {
      Records: messages.map((m) => ({
        messageId: m.MessageId!,
        receiptHandle: m.ReceiptHandle!,
        body: m.Body ?? '',
        attributes: m.Attributes as SQSEvent['Records'][number]['attributes'],
        messageAttributes: Object.fromEntries(
          Object.entries(m.MessageAttributes ?? {}).map(([name, a]) => [
            name,
            {
              dataType: a.DataType ?? 'String',
              ...(a.StringValue !== undefined ? { stringValue: a.StringValue } : {}),
              stringListValues: [],
              binaryListValues: [],
            },
          ]),
        ),
        md5OfBody: m.MD5OfBody ?? '',
        eventSource: 'aws:sqs',
        eventSourceARN: this.spec.queueArn,
        awsRegion: LOCAL_REGION,
      })),
    };
    let failedIds: Set<string>;
    try {
      const response = (await this.fn.invoke(event)) as SQSBatchResponse | null;
      failedIds = this.failedItems(messages, response);
    } catch (error) {
      this.log(`[${this.spec.logicalId}] invocation failed, ${messages.length} message(s) left for redelivery: ${(error as Error).message}`);
      return;
    }
    const done = messages.filter((m) => !failedIds.has(m.MessageId!));
    if (done.length === 0) return;
    try {
      await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.spec.queueUrl,
          Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
    } catch (error) {
      this.log(`[${this.spec.logicalId}] delete failed: ${(error as Error).message}`);
    }
  }

  /** Lambda's rules: without ReportBatchItemFailures any success deletes all; a bad response fails all. */
  private failedItems(messages: Message[], response: SQSBatchResponse | null): Set<string> {
    if (!this.spec.reportBatchItemFailures) return new Set();
    const failures = response?.batchItemFailures ?? [];
    const ids = new Set(messages.map((m) => m.MessageId!));
    if (failures.some((f) => !f.itemIdentifier || !ids.has(f.itemIdentifier))) return ids;
    return new Set(failures.map((f) => f.itemIdentifier));
  }
}
