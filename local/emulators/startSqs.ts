import { startFauxqs } from 'fauxqs';
import type { RunningEmulator } from './startDynamoDbLocal.ts';

/** Starts the fauxqs SQS emulator in-process (visibility timeouts, delays, redrive). */
export async function startSqs(port: number): Promise<RunningEmulator> {
  await allowWhatSqsAllows();
  const server = await startFauxqs({ port, host: 'localhost', logger: false });
  return { endpoint: server.address, stop: () => server.stop() };
}

/** fauxqs names its queues `sqs.<region>.localhost`; rewrite to the reachable endpoint. */
export function reachableQueueUrl(endpoint: string, queueUrl: string): string {
  return `${endpoint}${new URL(queueUrl).pathname}`;
}

/**
 * SQS accepts #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF in a message body
 * (docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html). fauxqs
 * 2.4 tests bodies with a pattern matched per UTF-16 unit, so it refuses every character beyond
 * U+FFFF — any emoji — with InvalidMessageContents. Its send actions share one RegExp object;
 * this makes that object test per code point, with the range AWS allows.
 */
async function allowWhatSqsAllows(): Promise<void> {
  // fauxqs exports only its entry point; its own import of this module resolves to this same file.
  const types = (await import(new URL('../../node_modules/fauxqs/dist/sqs/sqsTypes.js', import.meta.url).href)) as { INVALID_MESSAGE_BODY_CHAR?: RegExp };
  const check = types.INVALID_MESSAGE_BODY_CHAR;
  if (!(check instanceof RegExp)) throw new Error('fauxqs changed: INVALID_MESSAGE_BODY_CHAR not found; check local/emulators/startSqs.ts');
  const asAws = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
  check.test = (body: string) => asAws.test(body);
}
