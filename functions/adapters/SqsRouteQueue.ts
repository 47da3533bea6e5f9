import type { SQSClient } from '@aws-sdk/client-sqs';
import { SQS_BATCH_SIZE } from '../core/constants.ts';
import { delayMessage } from './delayMessage.ts';
import type { RouteQueue } from '../core/ports.ts';
import type { DeliveryMessage } from '../core/types.ts';
import { mapWithConcurrency } from '../core/mapWithConcurrency.ts';
import { chunk } from './chunk.ts';
import { Coalescer, settled } from './Coalescer.ts';
import { sendMessageBatch } from './sendMessageBatch.ts';

/** The route queue: batched sends, and visibility changes for backoff. */
export class SqsRouteQueue implements RouteQueue {
  public constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly sendConcurrency = 8,
  ) {}

  /**
   * Sends the messages, 10 per SendMessageBatch. Calls made together (the parallel intents of one
   * accept batch) share batches; a call resolves when all of its own messages are on the queue.
   */
  public async enqueue(messages: readonly DeliveryMessage[]): Promise<void> {
    await Promise.all(messages.map((message) => this.sends.load(message)));
  }

  private readonly sends = new Coalescer<DeliveryMessage, true>(async (messages) => {
    const results = new Map<DeliveryMessage, true | Error>();
    await mapWithConcurrency(chunk(messages, SQS_BATCH_SIZE), this.sendConcurrency, async (batch) => {
      const outcome = await settled(this.sendBatch(batch));
      for (const message of batch) results.set(message, outcome);
    });
    return results;
  });

  /**
   * Makes a received message visible again after `delayMs` (capped at SQS's 12 h). Returns false
   * when the delay is beyond what SQS allows: the caller then lets the sweeper re-enqueue it.
   */
  public delay(receiptHandle: string, delayMs: number): Promise<boolean> {
    return delayMessage(this.client, this.queueUrl, receiptHandle, delayMs);
  }

  private async sendBatch(batch: readonly DeliveryMessage[]): Promise<void> {
    const outcomes = await sendMessageBatch(this.client, this.queueUrl, batch.map((message) => JSON.stringify(message)));
    const failure = outcomes.find((outcome) => outcome instanceof Error);
    if (failure) throw failure;
  }
}
