import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { readFileSync } from 'node:fs';
import type { OfflineEndpoints } from '../local/OfflineStack.ts';

/** `npm run send -- <intent.json>`: sends an intent file to the running offline stack's intake queue. */
const file = process.argv[2];
if (!file) {
  console.error('usage: npm run send -- <intent.json>   (the offline stack must be running: npm start)');
  process.exit(2);
}
const endpoints = JSON.parse(readFileSync('.local/endpoints.json', 'utf8')) as OfflineEndpoints;
const sqs = new SQSClient({ endpoint: endpoints.sqs, region: endpoints.region, credentials: endpoints.credentials });
const body = readFileSync(file, 'utf8');
const sent = await sqs.send(new SendMessageCommand({ QueueUrl: endpoints.outputs['HeraldIntakeQueueUrl'], MessageBody: body }));
console.log(`sent ${file} as message ${sent.MessageId}; watch the mailbox at ${endpoints.sesMailbox}`);
