import { startFauxqs } from 'fauxqs';
import type { RunningEmulator } from './startDynamoDbLocal.ts';

/** Starts the fauxqs SQS emulator in-process (visibility timeouts, delays, redrive). */
export async function startSqs(port: number): Promise<RunningEmulator> {
  const server = await startFauxqs({ port, host: 'localhost', logger: false });
  return { endpoint: server.address, stop: () => server.stop() };
}

/** fauxqs names its queues `sqs.<region>.localhost`; rewrite to the reachable endpoint. */
export function reachableQueueUrl(endpoint: string, queueUrl: string): string {
  return `${endpoint}${new URL(queueUrl).pathname}`;
}
