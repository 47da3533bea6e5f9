import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { TransientError } from '../core/errors.ts';

const MAX_ROUNDS = 5;

/**
 * Sends up to 10 bodies in one SendMessageBatch and answers, in order, each body's message id or
 * the Error it failed with. SQS reports failures per entry inside a successful response: an entry
 * it failed on its own side is sent again (up to five rounds, pausing 100, 200, 400, 800 ms); an
 * entry it refused (`SenderFault`: too large, characters SQS does not allow) is not, since it would
 * be refused again. A request that fails as a whole rejects (the SDK has already retried it).
 */
export async function sendMessageBatch(client: SQSClient, queueUrl: string, bodies: readonly string[]): Promise<(string | Error)[]> {
  const outcomes: (string | Error | undefined)[] = bodies.map(() => undefined);
  let pending = bodies.map((body, index) => ({ Id: String(index), MessageBody: body }));
  for (let round = 0; pending.length > 0; round += 1) {
    if (round === MAX_ROUNDS) {
      for (const entry of pending) outcomes[Number(entry.Id)] ??= new TransientError(`SQS failed the message ${MAX_ROUNDS} times in a row (SendMessageBatch)`);
      break;
    }
    if (round > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** round));
    const { Successful = [], Failed = [] } = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }));
    for (const sent of Successful) outcomes[Number(sent.Id)] = sent.MessageId ?? '';
    const retry = new Set<string>();
    for (const failed of Failed) {
      if (failed.SenderFault) outcomes[Number(failed.Id)] = new Error(`SQS refused the message: ${failed.Code ?? 'unknown'}: ${failed.Message ?? 'no message'}`);
      else retry.add(failed.Id!);
    }
    pending = pending.filter((entry) => retry.has(entry.Id));
  }
  return outcomes.map((outcome) => outcome ?? new Error('SendMessageBatch gave no answer for this message'));
}
