import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { withRequestAccounting } from './requestAccounting.ts';

/**
 * SDK clients, created once per execution environment. Endpoints come from the standard
 * `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` variables, which is how the local stack and
 * LocalStack point unchanged handlers at emulators. With `HERALD_REQUEST_ACCOUNTING=1` each client
 * also counts its requests (see requestAccounting.ts).
 */
let dynamo: DynamoDBDocumentClient | undefined;
let sqs: SQSClient | undefined;
let ses: SESv2Client | undefined;

export function documentClient(): DynamoDBDocumentClient {
  dynamo ??= DynamoDBDocumentClient.from(withRequestAccounting(new DynamoDBClient({}), 'dynamodb'), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return dynamo;
}

export function sqsClient(): SQSClient {
  sqs ??= withRequestAccounting(new SQSClient({}), 'sqs');
  return sqs;
}

export function sesClient(): SESv2Client {
  // One SDK retry for a blip; the route retry policy owns real backoff.
  ses ??= withRequestAccounting(new SESv2Client({ maxAttempts: 2 }), 'ses');
  return ses;
}
