import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { HeraldProducer, IntentRefusedError, type IntentV1 } from '../../producer/index.ts';
import { endpoints, eventBuffer, outputs, sqs, store, uid, waitFor } from './support.ts';

/** A real SQS client on the stack's emulator, with a middleware noting each request it makes. */
function recordingSqs() {
  const client = new SQSClient({ region: endpoints.region, credentials: endpoints.credentials, endpoint: endpoints.sqs });
  const requests: { command: string; entries: number }[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const entries = (args.input as { Entries?: unknown[] }).Entries;
      requests.push({ command: context.commandName ?? '?', entries: entries?.length ?? 1 });
      return next(args);
    },
    { step: 'initialize', name: 'recordRequests' },
  );
  return { client, requests };
}

const ping = (userId: string, payload: Record<string, unknown> = {}): IntentV1 => ({
  notification_type: 'ping',
  producer: 'producer-tests',
  idempotency_key: uid('key'),
  audience: { kind: 'user', user_id: userId },
  payload,
});

const accepted = (notificationIds: string[]) =>
  waitFor(`${notificationIds.length} notifications accepted`, async () => {
    const states = await Promise.all(notificationIds.map((id) => store.getNotification(id)));
    return states.every((n) => n?.state === 'accepted') && states;
  });

describe('herald/producer against the offline stack', () => {
  it('sends the intents made together ten to a SendMessageBatch, and Herald accepts every one', async () => {
    const { client, requests } = recordingSqs();
    const producer = new HeraldProducer({ queueUrl: outputs.intakeQueueUrl, sqs: client });
    const intents = Array.from({ length: 25 }, (_, i) => ping(uid(`batched-${i}`)));

    const sent = await Promise.all(intents.map((intent) => producer.send(intent)));

    expect(requests).toEqual([
      { command: 'SendMessageBatchCommand', entries: 10 },
      { command: 'SendMessageBatchCommand', entries: 10 },
      { command: 'SendMessageBatchCommand', entries: 5 },
    ]);
    expect(new Set(sent.map((s) => s.messageId)).size).toBe(25);
    const notifications = await accepted(sent.map((s) => s.notificationId));
    expect(notifications.map((n) => n!.idempotency_key)).toEqual(intents.map((i) => i.idempotency_key));
  });

  it('keeps each batch under 256 KiB of bodies: twelve 28 KB intents go nine and three', async () => {
    const { client, requests } = recordingSqs();
    const producer = new HeraldProducer({ queueUrl: outputs.intakeQueueUrl, sqs: client });
    const intents = Array.from({ length: 12 }, (_, i) => ping(uid(`large-${i}`), { text: 'x'.repeat(28_000) }));

    const sent = await Promise.all(intents.map((intent) => producer.send(intent)));

    expect(requests.map((r) => r.entries)).toEqual([9, 3]);
    await accepted(sent.map((s) => s.notificationId));
  });

  it('sends a payload holding U+FFFE or U+FFFF, which SQS refuses as JSON.stringify writes it; Herald gets it unchanged', async () => {
    const intent = ping(uid('nonchar'), { text: 'a\uFFFFb\uFFFEc' });
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: outputs.intakeQueueUrl, MessageBody: JSON.stringify(intent) }))).rejects.toThrow(/Invalid characters/);

    const producer = new HeraldProducer({ queueUrl: outputs.intakeQueueUrl, sqs });
    const { notificationId } = await producer.send(intent);

    const [notification] = await accepted([notificationId]);
    expect(notification!.payload).toEqual({ text: 'a\uFFFFb\uFFFEc' });
  });

  it('sends an intent given twice at once as two messages and one notification, published once', async () => {
    const producer = new HeraldProducer({ queueUrl: outputs.intakeQueueUrl, sqs });
    const user = uid('twice');
    const intent = ping(user, { n: 1 });

    const [first, second] = await Promise.all([producer.send(intent), producer.send(intent)]);

    expect(first!.messageId).not.toBe(second!.messageId);
    expect(second!.notificationId).toBe(first!.notificationId);
    await accepted([first!.notificationId]);
    await waitFor('the event stored', async () => (await eventBuffer.getHead(user))?.position === 1);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // room for a second event, if one were coming
    expect(await eventBuffer.readAfter(user, 0, 10, Date.now())).toHaveLength(1);
  });

  it('refuses a bad intent with no request made, while the good ones sent with it go', async () => {
    const { client, requests } = recordingSqs();
    const producer = new HeraldProducer({ queueUrl: outputs.intakeQueueUrl, sqs: client });
    const bad = { ...ping(uid('bad')), audience: { kind: 'users' as const, recipients: [{ user_id: 'u-1' }, { user_id: 'u-1' }] } };

    const [good, refused] = await Promise.allSettled([producer.send(ping(uid('good'))), producer.send(bad)]);

    expect(refused.status === 'rejected' && refused.reason).toBeInstanceOf(IntentRefusedError);
    expect(good.status).toBe('fulfilled');
    expect(requests).toEqual([{ command: 'SendMessageBatchCommand', entries: 1 }]);
    await accepted([(good as PromiseFulfilledResult<{ notificationId: string }>).value.notificationId]);
  });
});
