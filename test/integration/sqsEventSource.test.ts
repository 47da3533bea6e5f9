import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { LocalFunction } from '../../local/FunctionHost.ts';
import { SqsEventSource } from '../../local/SqsEventSource.ts';
import { sqs, uid, waitFor } from './support.ts';

/** The offline event source mapping against the SQS emulator, with a function that records its batches. */
async function eventSourceWith(batchingWindowMs: number) {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uid('esm') }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  const batches: { at: number; bodies: string[] }[] = [];
  const fn = { invoke: async (event: SQSEvent) => void batches.push({ at: Date.now(), bodies: event.Records.map((r) => r.body) }) } as unknown as LocalFunction;
  const source = new SqsEventSource(
    { logicalId: 'Test', queueUrl: QueueUrl!, queueArn: Attributes!['QueueArn']!, batchSize: 10, batchingWindowMs, reportBatchItemFailures: true, concurrency: 1 },
    sqs,
    fn,
    () => undefined,
  );
  const send = (body: string) => sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body }));
  return { source, batches, send };
}

describe('the offline SQS event source mapping: MaximumBatchingWindowInSeconds', () => {
  it('without a window, invokes with what one receive got: messages sent 300 ms apart arrive in separate batches', async () => {
    const { source, batches, send } = await eventSourceWith(0);
    source.start();
    try {
      for (const body of ['a', 'b', 'c']) {
        await send(body);
        await new Promise((r) => setTimeout(r, 300));
      }
      await waitFor('every message delivered', async () => batches.flatMap((b) => b.bodies).length === 3);
      expect(batches.length).toBeGreaterThan(1);
    } finally {
      await source.stop();
    }
  });

  it('with a 2 s window, gathers messages sent 300 ms apart into one batch, invoked within the window of the first', async () => {
    const { source, batches, send } = await eventSourceWith(2_000);
    source.start();
    try {
      const firstSent = Date.now();
      for (const body of ['a', 'b', 'c']) {
        await send(body);
        await new Promise((r) => setTimeout(r, 300));
      }
      await waitFor('the batch', async () => batches.length > 0);
      expect(batches.map((b) => b.bodies)).toEqual([['a', 'b', 'c']]);
      // Not before the window closed (the batch was not full), and not long after (receives poll at most the window's remainder).
      expect(batches[0]!.at - firstSent).toBeGreaterThanOrEqual(1_500);
    } finally {
      await source.stop();
    }
  });

  it('with a window, invokes at once when the batch is full', async () => {
    const { source, batches, send } = await eventSourceWith(20_000);
    source.start();
    try {
      await Promise.all(Array.from({ length: 10 }, (_, n) => send(String(n))));
      // Well before the 20 s window ends.
      await waitFor('a full batch', async () => batches.flatMap((b) => b.bodies).length === 10, 15_000);
    } finally {
      await source.stop();
    }
  });
});
