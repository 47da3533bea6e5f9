import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { matchesPattern } from './EventPattern.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './Intrinsics.ts';
import type { LambdaAsyncInvoker } from './LambdaAsyncInvoker.ts';

/** A rule on a bus, from the template. */
export interface LocalRule {
  readonly logicalId: string;
  readonly busName: string;
  readonly pattern: Record<string, unknown>;
  readonly targets: readonly LocalTarget[];
}

export type LocalTarget =
  | {
      readonly kind: 'sqs';
      readonly queueUrl: string;
      readonly queueArn: string;
      readonly inputPath?: string;
      readonly input?: string;
      readonly maxRetries: number;
      readonly deadLetterQueueUrl?: string;
    }
  | {
      readonly kind: 'lambda';
      /** EventBridge invokes a Lambda target asynchronously: Lambda's queue takes the event. */
      readonly invoker: LambdaAsyncInvoker;
      readonly inputPath?: string;
      readonly input?: string;
      readonly maxRetries: number;
      readonly deadLetterQueueUrl?: string;
    };

/**
 * The EventBridge `PutEvents` API for the offline stack: matches each entry against the rules of
 * its bus and delivers to SQS and Lambda targets asynchronously, with the rule's retry policy, then
 * its dead-letter queue, as EventBridge does (docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
 * A Lambda target is invoked asynchronously: once Lambda has queued the event, EventBridge is done,
 * and a function error is Lambda's to retry (LambdaAsyncInvoker), never the rule's. An entry for a bus that does not exist
 * fails as it does on AWS; an event that matches no rule is accepted and dropped, as on AWS, but
 * offline it is logged — it is almost always a wrong bus name or detail-type.
 */
export class EventBus {
  private server?: Server;
  private readonly pending = new Set<Promise<void>>();
  public readonly delivered: { rule: string; target: string; eventId: string }[] = [];

  private readonly busNames: ReadonlySet<string>;

  public constructor(
    /** The template's buses; `default` always exists, as in every AWS account. */
    busNames: Iterable<string>,
    private readonly rules: readonly LocalRule[],
    private readonly sqs: SQSClient,
    private readonly log: (line: string) => void,
    private readonly retryDelayMs = 200,
    /** Other AWS JSON 1.1 APIs served on the same endpoint, by X-Amz-Target prefix (e.g. secretsmanager). */
    private readonly otherApis: Record<string, (operation: string, body: Record<string, unknown>) => Promise<unknown>> = {},
  ) {
    this.busNames = new Set(['default', ...busNames]);
  }

  public async listen(port: number): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${port}`;
  }

  public async close(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /**
   * Accepts entries like PutEvents; returns one result per entry. `aws.*` sources are AWS services'
   * own: a caller's entry with one fails with NotAuthorizedForSourceException, as on AWS (seen in
   * github.com/aws-samples/serverless-patterns/pull/3089); `asService` is how the offline stack's
   * own services (SES event publishing) put theirs.
   */
  public async putEvents(entries: readonly PutEventsEntry[], options: { asService?: boolean } = {}): Promise<{ EventId?: string; ErrorCode?: string; ErrorMessage?: string }[]> {
    const results = [];
    for (const entry of entries) {
      if (!entry.Source || !entry.DetailType || entry.Detail === undefined) {
        results.push({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Source, DetailType and Detail are required' });
        continue;
      }
      if (entry.Source.startsWith('aws.') && !options.asService) {
        results.push({ ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' });
        continue;
      }
      let detail: unknown;
      try {
        detail = JSON.parse(entry.Detail);
      } catch {
        results.push({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' });
        continue;
      }
      const bus = busNameOf(entry.EventBusName);
      if (!this.busNames.has(bus)) {
        results.push({ ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${bus} does not exist.` });
        continue;
      }
      const event = {
        version: '0',
        id: randomUUID(),
        'detail-type': entry.DetailType,
        source: entry.Source,
        account: LOCAL_ACCOUNT,
        time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region: LOCAL_REGION,
        resources: entry.Resources ?? [],
        detail,
      };
      const matched = this.rules.filter((r) => r.busName === bus && matchesPattern(r.pattern, event));
      for (const rule of matched) {
        for (const target of rule.targets) this.track(this.deliver(rule, target, event));
      }
      if (matched.length === 0) {
        this.log(`[event bus] event ${event.id} on bus ${bus} (detail-type ${entry.DetailType}) matched no rule and was dropped, as EventBridge does`);
      }
      results.push({ EventId: event.id });
    }
    return results;
  }

  private track(work: Promise<void>): void {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  /**
   * Delivers to one target as EventBridge does: a failure is retried (up to the rule's retry policy,
   * at most 5 times here), except an SQS answer in the 4xx range other than throttling, which
   * EventBridge does not retry; then the event goes to the target's dead-letter queue. Never
   * rejects: whatever fails is logged, since no caller is left to tell.
   */
  private async deliver(rule: LocalRule, target: LocalTarget, event: Record<string, unknown>): Promise<void> {
    const input = target.input ?? JSON.stringify(target.inputPath ? selectPath(event, target.inputPath) : event);
    const name = target.kind === 'sqs' ? target.queueUrl : target.invoker.functionName;
    let lastError: unknown;
    let attempts = 0;
    while (attempts <= target.maxRetries) {
      if (attempts > 0) await new Promise((r) => setTimeout(r, this.retryDelayMs * 2 ** (attempts - 1)));
      attempts += 1;
      try {
        if (target.kind === 'sqs') await this.sqs.send(new SendMessageCommand({ QueueUrl: target.queueUrl, MessageBody: input }));
        else target.invoker.invoke(JSON.parse(input));
        this.delivered.push({ rule: rule.logicalId, target: name, eventId: String(event['id']) });
        return;
      } catch (error) {
        lastError = error;
        if (target.kind === 'sqs' && !retriedByEventBridge(error)) break;
      }
    }
    const reason = (lastError as Error).message;
    this.log(`[${rule.logicalId}] target ${name} failed for event ${String(event['id'])} after ${attempts} attempt(s): ${reason}`);
    if (!target.deadLetterQueueUrl) {
      this.log(`[${rule.logicalId}] event ${String(event['id'])} dropped: the target has no dead-letter queue`);
      return;
    }
    // The DLQ gets the event as it was put on the bus (not the target's transformed input), with
    // attributes naming the rule, the target and the error.
    const errorCode = (lastError as { name?: string }).name ?? 'Error';
    try {
      await this.sqs.send(
        new SendMessageCommand({
          QueueUrl: target.deadLetterQueueUrl,
          MessageBody: JSON.stringify(event),
          MessageAttributes: {
            RULE_ARN: { DataType: 'String', StringValue: `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/${busNameOf(rule.busName)}/${rule.logicalId}` },
            TARGET_ARN: { DataType: 'String', StringValue: target.kind === 'sqs' ? target.queueArn : `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${name}` },
            ERROR_CODE: { DataType: 'String', StringValue: errorCode.slice(0, 256) },
            ERROR_MESSAGE: { DataType: 'String', StringValue: reason.slice(0, 256) },
            RETRY_ATTEMPTS: { DataType: 'Number', StringValue: String(attempts - 1) },
            EXHAUSTED_RETRY_CONDITION: { DataType: 'String', StringValue: attempts > target.maxRetries ? 'MaximumRetryAttempts' : 'None' },
          },
        }),
      );
    } catch (error) {
      this.log(
        `[${rule.logicalId}] event ${String(event['id'])} dropped: its dead-letter queue refused it too (${(error as Error).message}); EventBridge counts such events in InvocationsFailedToBeSentToDlq`,
      );
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(body));
    };
    const [prefix = '', operation = ''] = target.split('.');
    const otherApi = this.otherApis[prefix];
    if (otherApi) {
      try {
        reply(200, await otherApi(operation, JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>));
      } catch (error) {
        reply(400, { __type: (error as Error).name, message: (error as Error).message });
      }
      return;
    }
    if (target !== 'AWSEvents.PutEvents') {
      reply(400, { __type: 'UnknownOperationException', message: `the offline event bus supports PutEvents only, not ${target || 'this request'}` });
      return;
    }
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Entries?: PutEventsEntry[] };
      const entries = await this.putEvents(body.Entries ?? []);
      reply(200, { FailedEntryCount: entries.filter((e) => e.ErrorCode).length, Entries: entries });
    } catch (error) {
      reply(400, { __type: 'ValidationException', message: (error as Error).message });
    }
  }
}

export interface PutEventsEntry {
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly EventBusName?: string;
  readonly Resources?: string[];
}

function busNameOf(nameOrArn: string | undefined): string {
  if (!nameOrArn) return 'default';
  return nameOrArn.startsWith('arn:') ? nameOrArn.slice(nameOrArn.lastIndexOf('/') + 1) : nameOrArn;
}

/** `$.detail` / `$.detail.field` — the JSONPath subset InputPath uses. */
function selectPath(event: Record<string, unknown>, path: string): unknown {
  return path
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean)
    .reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], event);
}

/** EventBridge retries a target's 5xx and throttling answers (and unanswered requests), not other 4xx ones. */
function retriedByEventBridge(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === undefined || status === 429 || status >= 500;
}
