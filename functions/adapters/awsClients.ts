import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { withRequestAccounting } from './requestAccounting.ts';
import { CONNECTION_TIMEOUT_MS, REQUEST_TIMEOUTS_MS } from './sdkTimeouts.ts';

/**
 * SDK clients, created once per execution environment. Endpoints come from the standard
 * `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` variables, which is how the local stack and
 * LocalStack point unchanged handlers at emulators. With `HERALD_REQUEST_ACCOUNTING=1` each client
 * also counts its requests (see requestAccounting.ts).
 */
/**
 * Attempts per DynamoDB call, the first included: the SDK's own default for DynamoDB since 2026
 * (4), stated so that a change of SDK cannot change it unseen. A call still failing after them
 * fails its record, which comes back after a short backoff (receiveBackoff.ts) or is retried as a
 * route attempt: the SDK covers a blip, the queue covers an outage.
 */
export const DYNAMODB_MAX_ATTEMPTS = 4;
/** Attempts per SQS call: the SDK's default (3). */
export const SQS_MAX_ATTEMPTS = 3;



let dynamo: DynamoDBDocumentClient | undefined;
let sqs: SQSClient | undefined;
let ses: SESv2Client | undefined;

export function documentClient(): DynamoDBDocumentClient {
  dynamo ??= DynamoDBDocumentClient.from(withRequestAccounting(new DynamoDBClient({
    maxAttempts: DYNAMODB_MAX_ATTEMPTS,
    requestHandler: { requestTimeout: REQUEST_TIMEOUTS_MS.dynamodb, connectionTimeout: CONNECTION_TIMEOUT_MS },
  }), 'dynamodb'), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return dynamo;
}

export function sqsClient(): SQSClient {
  sqs ??= withRequestAccounting(new SQSClient({
    maxAttempts: SQS_MAX_ATTEMPTS,
    requestHandler: { requestTimeout: REQUEST_TIMEOUTS_MS.sqs, connectionTimeout: CONNECTION_TIMEOUT_MS },
  }), 'sqs');
  return sqs;
}

export function sesClient(): SESv2Client {
  // One SDK retry for a blip; the route retry policy owns real backoff.
  ses ??= withRequestAccounting(new SESv2Client({
    maxAttempts: 2,
    requestHandler: { requestTimeout: REQUEST_TIMEOUTS_MS.ses, connectionTimeout: CONNECTION_TIMEOUT_MS },
  }), 'ses');
  return ses;
}
