import { SendMessageBatchCommand, SQSClient, type SendMessageBatchCommandOutput, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { sendMessageBatch } from '../../functions/adapters/sendMessageBatch.ts';
import { TransientError } from '../../functions/core/errors.ts';

type Answer = (entries: SendMessageBatchRequestEntry[]) => Partial<SendMessageBatchCommandOutput>;

// fauxqs fails an entry only for the sender's faults; SQS can also fail single entries of a batch
// on its own side (InternalError, ServiceUnavailable). Those answers are scripted here on a real
// SQSClient: each round's request is answered by the next function.
function scriptedSqs(rounds: Answer[]) {
  const client = new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const requests: SendMessageBatchRequestEntry[][] = [];
  client.send = (async (command: SendMessageBatchCommand) => {
    if (!(command instanceof SendMessageBatchCommand)) throw new Error(`unexpected ${command}`);
    const entries = command.input.Entries ?? [];
    requests.push(entries);
    const answer = rounds[requests.length - 1];
    if (!answer) throw new Error(`no answer scripted for request ${requests.length}`);
    return answer(entries);
  }) as never;
  return { client, requests };
}

const allSent: Answer = (entries) => ({ Successful: entries.map((e) => ({ Id: e.Id!, MessageId: `m-${e.MessageBody}`, MD5OfMessageBody: '' })) });
const failing = (ids: string[], senderFault: boolean): Answer => (entries) => ({
  Successful: entries.filter((e) => !ids.includes(e.Id!)).map((e) => ({ Id: e.Id!, MessageId: `m-${e.MessageBody}`, MD5OfMessageBody: '' })),
  Failed: entries.filter((e) => ids.includes(e.Id!)).map((e) => ({ Id: e.Id!, SenderFault: senderFault, Code: senderFault ? 'InvalidMessageContents' : 'InternalError', Message: 'scripted' })),
});

describe('sendMessageBatch', () => {
  it("answers each body's message id in the order given", async () => {
    const { client, requests } = scriptedSqs([allSent]);
    expect(await sendMessageBatch(client, 'http://q', ['a', 'b', 'c'])).toEqual(['m-a', 'm-b', 'm-c']);
    expect(requests).toHaveLength(1);
  });

  it('sends again only the entries SQS failed on its side, until they go', async () => {
    const { client, requests } = scriptedSqs([failing(['1', '2'], false), failing(['2'], false), allSent]);
    expect(await sendMessageBatch(client, 'http://q', ['a', 'b', 'c'])).toEqual(['m-a', 'm-b', 'm-c']);
    expect(requests.map((r) => r.map((e) => e.MessageBody))).toEqual([['a', 'b', 'c'], ['b', 'c'], ['c']]);
  });

  it('does not send again an entry SQS refused, and answers its Error beside the others', async () => {
    const { client, requests } = scriptedSqs([failing(['0'], true)]);
    const [refused, ...sent] = await sendMessageBatch(client, 'http://q', ['bad', 'b']);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toBe('SQS refused the message: InvalidMessageContents: scripted');
    expect(sent).toEqual(['m-b']);
    expect(requests).toHaveLength(1);
  });

  it('gives up after five rounds with a TransientError for what is still failing', async () => {
    const { client, requests } = scriptedSqs(Array.from({ length: 5 }, () => failing(['1'], false)));
    const outcomes = await sendMessageBatch(client, 'http://q', ['a', 'b']);
    expect(outcomes[0]).toBe('m-a');
    expect(outcomes[1]).toBeInstanceOf(TransientError);
    expect(requests).toHaveLength(5);
  });

  it('rejects when the request fails as a whole', async () => {
    const { client } = scriptedSqs([() => { throw new Error('QueueDoesNotExist'); }]);
    await expect(sendMessageBatch(client, 'http://q', ['a'])).rejects.toThrow('QueueDoesNotExist');
  });
});
