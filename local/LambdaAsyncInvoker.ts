import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { InvocationError, type LocalFunction } from './FunctionHost.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './Intrinsics.ts';

/** A function's asynchronous invocation settings (`AWS::Lambda::EventInvokeConfig` and its `DeadLetterConfig`). */
export interface AsyncInvokeSettings {
  /** Retries after a function error, 0–2. @default 2 */
  readonly maximumRetryAttempts?: number;
  /** How long an event may wait in the queue, 60 s – 6 h. @default 6 h */
  readonly maximumEventAgeMs?: number;
  /** The on-failure destination, an SQS queue (the only kind the offline stack sends to). */
  readonly onFailureQueueUrl?: string;
  /** The function's own dead-letter queue (`DeadLetterConfig`). */
  readonly deadLetterQueueUrl?: string;
}

/** Lambda's wait before the first and the second retry of a function error. */
export const LAMBDA_ASYNC_RETRY_DELAYS_MS: readonly [number, number] = [60_000, 120_000];
const DEFAULT_MAX_EVENT_AGE_MS = 6 * 3_600_000;

/**
 * Lambda's asynchronous invocation, as an event source that invokes a function this way
 * (EventBridge rules and schedules, S3, SNS) meets it: the event is queued and the caller is done.
 * A function error (thrown, timed out, crashed) is retried by Lambda — by default twice, one and
 * then two minutes later — and an event whose retries are spent, or that is older than its maximum
 * age, goes to the on-failure destination as an invocation record, else to the function's DLQ,
 * else is dropped (docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html,
 * docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html). The caller's own
 * retry policy and DLQ (an EventBridge target's) never see a function error.
 */
export class LambdaAsyncInvoker {
  private readonly pending = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  /** Events whose every attempt failed, and where they went. */
  public readonly failed: { requestId: string; attempts: number; condition: string; sentTo: 'destination' | 'dead-letter queue' | 'dropped' }[] = [];

  public constructor(
    private readonly fn: LocalFunction,
    private readonly settings: AsyncInvokeSettings,
    private readonly sqs: SQSClient,
    private readonly log: (line: string) => void,
    private readonly retryDelaysMs: readonly number[] = LAMBDA_ASYNC_RETRY_DELAYS_MS,
  ) {}

  public get functionName(): string {
    return this.fn.name;
  }

  /** Queues the event (Invoke with InvocationType Event: 202, nothing to wait for). Throws only when the stack is stopping. */
  public invoke(event: unknown): void {
    if (this.closed) throw new InvocationError(this.fn.name, 'ServiceException', 'the offline stack is stopping');
    const work = this.run(event, randomUUID(), Date.now());
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  public async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.pending]);
  }

  private async run(event: unknown, requestId: string, queuedAt: number): Promise<void> {
    const maxRetries = this.settings.maximumRetryAttempts ?? 2;
    const maxAgeMs = this.settings.maximumEventAgeMs ?? DEFAULT_MAX_EVENT_AGE_MS;
    let attempts = 0;
    let lastError: InvocationError | undefined;
    for (;;) {
      attempts += 1;
      try {
        await this.fn.invoke(event);
        return;
      } catch (error) {
        lastError = error instanceof InvocationError ? error : new InvocationError(this.fn.name, 'Unhandled', (error as Error).message);
      }
      if (attempts > maxRetries) return this.giveUp(event, requestId, attempts, 'RetriesExhausted', lastError);
      const delayMs = this.retryDelaysMs[Math.min(attempts - 1, this.retryDelaysMs.length - 1)] ?? 0;
      if (Date.now() + delayMs - queuedAt > maxAgeMs) return this.giveUp(event, requestId, attempts, 'EventAgeExceeded', lastError);
      this.log(`[lambda async] ${this.fn.name} request ${requestId} failed (${lastError.errorType}); retry ${attempts} of ${maxRetries} in ${delayMs} ms`);
      if (!(await this.sleep(delayMs))) return this.giveUp(event, requestId, attempts, 'RetriesExhausted', lastError);
    }
  }

  private sleep(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve(!this.closed);
      }, ms);
      this.timers.add(timer);
    });
  }

  private async giveUp(event: unknown, requestId: string, attempts: number, condition: string, error: InvocationError): Promise<void> {
    const functionArn = `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${this.fn.name}`;
    const errorMessage = error.message.replace(`${this.fn.name}: ${error.errorType}: `, '');
    try {
      if (this.settings.onFailureQueueUrl) {
        const record = {
          version: '1.0',
          timestamp: new Date().toISOString(),
          requestContext: { requestId, functionArn: `${functionArn}:$LATEST`, condition, approximateInvokeCount: attempts },
          requestPayload: event,
          responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
          responsePayload: { errorType: error.errorType, errorMessage },
        };
        await this.sqs.send(new SendMessageCommand({ QueueUrl: this.settings.onFailureQueueUrl, MessageBody: JSON.stringify(record) }));
        this.failed.push({ requestId, attempts, condition, sentTo: 'destination' });
      } else if (this.settings.deadLetterQueueUrl) {
        await this.sqs.send(
          new SendMessageCommand({
            QueueUrl: this.settings.deadLetterQueueUrl,
            MessageBody: JSON.stringify(event),
            MessageAttributes: {
              RequestID: { DataType: 'String', StringValue: requestId },
              ErrorCode: { DataType: 'Number', StringValue: '200' },
              ErrorMessage: { DataType: 'String', StringValue: errorMessage.slice(0, 1024) },
            },
          }),
        );
        this.failed.push({ requestId, attempts, condition, sentTo: 'dead-letter queue' });
      } else {
        this.failed.push({ requestId, attempts, condition, sentTo: 'dropped' });
        this.log(`[lambda async] ${this.fn.name} request ${requestId} dropped after ${attempts} attempt(s) (${condition}): the function has no on-failure destination or DLQ, as on AWS`);
        return;
      }
      this.log(`[lambda async] ${this.fn.name} request ${requestId} failed ${attempts} attempt(s) (${condition}); sent to its ${this.failed.at(-1)!.sentTo}`);
    } catch (sendError) {
      this.failed.push({ requestId, attempts, condition, sentTo: 'dropped' });
      this.log(`[lambda async] ${this.fn.name} request ${requestId} dropped: its failure destination refused it (${(sendError as Error).message})`);
    }
  }
}
