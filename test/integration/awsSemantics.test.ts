import { ApiGatewayManagementApiClient, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ApiGatewayConnectionSender } from '../../functions/adapters/ApiGatewayConnectionSender.ts';
import { delayMessage } from '../../functions/adapters/delayMessage.ts';
import { FrameTooLargeError } from '../../functions/core/push/pushPorts.ts';
import { mintAccessToken } from '../../functions/core/auth/AccessTokenVerifier.ts';
import { notificationIdFor } from '../../functions/core/route/identifiers.ts';
import { EventBus } from '../../local/EventBus.ts';
import { LocalFunction } from '../../local/FunctionHost.ts';
import { LambdaAsyncInvoker } from '../../local/LambdaAsyncInvoker.ts';
import { reachableQueueUrl } from '../../local/emulators/startSqs.ts';
import { addFault, clearFaults, connectionRegistry, endpoints, events, intent, sendIntent, sqs, store, uid, waitFor } from './support.ts';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { closeAllClients, RawClient, tokenSecret } from './wsClient.ts';

// Each test here shows one AWS behaviour the offline stack reproduces (docs/local-stack.md, "AWS
// behaviours and how the offline stack reproduces them"), or one Herald relies on against it.

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/functions/${name}.mjs`, import.meta.url));
const started: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(started.map((s) => s.close()));
});
afterEach(async () => {
  await closeAllClients();
  await clearFaults('dynamodb');
  await clearFaults('ses');
});

function fixtureFunction(name: string): LocalFunction {
  const fn = new LocalFunction(
    { logicalId: `Fixture${name}`, entry: fixture(name), handlerName: 'handler', timeoutMs: 5_000, memorySize: 128, traced: false, platformLogs: true, environment: { PATH: process.env['PATH'] ?? '' }, concurrency: 1 },
    () => {},
  );
  started.push(fn);
  return fn;
}

async function queue(prefix: string): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uid(prefix) }));
  return reachableQueueUrl(endpoints.sqs, QueueUrl!);
}

async function receiveAll(queueUrl: string) {
  const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }));
  return Messages;
}

describe('EventBridge → Lambda: an asynchronous invocation (Lambda retries function errors, not the rule)', () => {
  async function busWithFailingTarget(settings: { onFailure?: boolean; functionDlq?: boolean }) {
    const fn = fixtureFunction('alwaysFails');
    const onFailureQueueUrl = settings.onFailure ? await queue('on-failure') : undefined;
    const functionDlqUrl = settings.functionDlq ? await queue('function-dlq') : undefined;
    const ruleDlqUrl = await queue('rule-dlq');
    const lines: string[] = [];
    // Lambda waits 1 and 2 minutes between retries; scaled to 50 and 100 ms here.
    const invoker = new LambdaAsyncInvoker(fn, { ...(onFailureQueueUrl ? { onFailureQueueUrl } : {}), ...(functionDlqUrl ? { deadLetterQueueUrl: functionDlqUrl } : {}) }, sqs, (l) => lines.push(l), [50, 100]);
    started.push(invoker);
    const bus = new EventBus(['fixture-bus'], [{ logicalId: 'FixtureRule', busName: 'fixture-bus', pattern: { 'detail-type': ['fixture'] }, targets: [{ kind: 'lambda', invoker, maxRetries: 3, deadLetterQueueUrl: ruleDlqUrl }] }], sqs, (l) => lines.push(l), 10);
    started.push(bus);
    const [entry] = await bus.putEvents([{ EventBusName: 'fixture-bus', Source: 'tests', DetailType: 'fixture', Detail: JSON.stringify({ n: 1 }) }]);
    return { fn, invoker, onFailureQueueUrl, functionDlqUrl, ruleDlqUrl, eventId: entry!.EventId!, lines };
  }

  it('retries a function error twice (Lambda\'s default), then sends an invocation record to the on-failure destination, never to the rule\'s DLQ', async () => {
    // Prepare / Act
    const { fn, onFailureQueueUrl, ruleDlqUrl, eventId } = await busWithFailingTarget({ onFailure: true });

    // Assess: the record, as Lambda writes it to an on-failure destination.
    const [record] = await waitFor('the on-failure record', async () => {
      const messages = await receiveAll(onFailureQueueUrl!);
      return messages.length > 0 && messages;
    });
    const body = JSON.parse(record!.Body!);
    expect(body).toMatchObject({
      version: '1.0',
      requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3 },
      requestPayload: { id: eventId, 'detail-type': 'fixture', detail: { n: 1 } },
      responseContext: { functionError: 'Unhandled' },
      responsePayload: { errorType: 'FixtureError', errorMessage: `refusing ${eventId}` },
    });
    expect(fn.invocations).toBe(3);
    expect(await receiveAll(ruleDlqUrl)).toEqual([]);
  });

  it('sends the event itself to the function\'s DLQ when it has no destination, and drops it (logged) when it has neither', async () => {
    const withDlq = await busWithFailingTarget({ functionDlq: true });
    const [dead] = await waitFor('the event in the function DLQ', async () => {
      const messages = await receiveAll(withDlq.functionDlqUrl!);
      return messages.length > 0 && messages;
    });
    expect(JSON.parse(dead!.Body!)).toMatchObject({ id: withDlq.eventId, detail: { n: 1 } });
    expect(dead!.MessageAttributes?.['ErrorMessage']?.StringValue).toBe(`refusing ${withDlq.eventId}`);

    const neither = await busWithFailingTarget({});
    await waitFor('the drop', async () => neither.invoker.failed.length > 0);
    expect(neither.invoker.failed[0]).toMatchObject({ attempts: 3, condition: 'RetriesExhausted', sentTo: 'dropped' });
    expect(neither.lines.some((l) => l.includes('dropped after 3 attempt(s)'))).toBe(true);
    expect(await receiveAll(neither.ruleDlqUrl)).toEqual([]);
  });
});

describe('Lambda execution environment: frozen between invocations', () => {
  it('runs a timer a handler left behind only when the next invocation thaws the environment', async () => {
    // Prepare
    const fn = fixtureFunction('leavesTimer');

    // Act: the first invocation leaves a 50 ms timer; nothing invokes the function for 500 ms.
    const { returnedAt } = (await fn.invoke({ action: 'leave' })) as { returnedAt: number };
    await new Promise((resolve) => setTimeout(resolve, 500));
    const secondStartedAt = Date.now();
    const { timerRanAt } = (await fn.invoke({ action: 'look' })) as { timerRanAt?: number };

    // Assess: on Lambda the timer cannot run while the environment is frozen (about returnedAt + 50).
    expect(timerRanAt).toBeGreaterThanOrEqual(secondStartedAt);
    expect(timerRanAt! - returnedAt).toBeGreaterThanOrEqual(500);
  });
});

describe('API Gateway @connections: a connection does not exist until $connect returns', () => {
  it('answers PostToConnection with 410 GoneException while $connect runs, and delivers once it returned', async () => {
    // Prepare: the connection's registration (PutItem by $connect) is held for 1.5 s.
    const user = uid('connecting');
    await addFault('dynamodb', { match: user, delayMs: 1_500, times: 1 });
    const connecting = RawClient.as(user, 'phone');
    const connectionId = await waitFor('the connection in $connect', async () => {
      const ids = (await (await fetch(`${endpoints.admin}/gateway/connections?state=connecting`)).json()) as string[];
      return ids[0];
    });
    const management = new ApiGatewayManagementApiClient({ endpoint: endpoints.websocketCallback, region: endpoints.region, credentials: endpoints.credentials });
    const post = () => management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: JSON.stringify({ type: 'pong', at: 'now' }) }));

    // Act / Assess
    await expect(post()).rejects.toBeInstanceOf(GoneException);
    const client = await connecting;
    await post();
    await client.waitFor('the posted frame', () => client.frames.find((f) => f.type === 'pong'));
  });
});

describe('API Gateway @connections: a message over 128 KiB is refused (413 PayloadTooLargeException)', () => {
  it('is FrameTooLargeError to the sender, so the push is dead-lettered, not retried', async () => {
    const user = uid('big-frame');
    const client = await RawClient.as(user, 'phone');
    const connectionId = await waitFor('the registered connection', async () => (await connectionRegistry.listForUser(user))[0]?.connection_id);
    const sender = new ApiGatewayConnectionSender(endpoints.websocketCallback, { region: endpoints.region, credentials: endpoints.credentials });
    await expect(sender.send(connectionId!, 'x'.repeat(128 * 1024 + 1))).rejects.toBeInstanceOf(FrameTooLargeError);
    await sender.send(connectionId!, JSON.stringify({ type: 'pong', at: 'now' }));
    await client.waitFor('the small frame', () => client.frames.find((f) => f.type === 'pong'));
  });
});

describe('Secrets Manager rotation: the authorizer accepts AWSCURRENT and AWSPREVIOUS', () => {
  it('connects tokens signed with the new key and with the old one after a rotation, and refuses others', async () => {
    // Prepare: rotate the token secret (PutSecretValue moves AWSPREVIOUS to the old value).
    const secrets = new SecretsManagerClient({ endpoint: endpoints.events, region: endpoints.region, credentials: endpoints.credentials });
    const secretId = Object.keys(endpoints.secrets).find((id) => id.includes('TokenSecret'))!;
    const rotated = randomUUID().replace(/-/g, '').repeat(2);
    await secrets.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: rotated }));
    try {
      // The authorizer reads the keys again when a token matches none of its keys and its copy is
      // at least 5 s old; a test run may have just read them.
      await new Promise((resolve) => setTimeout(resolve, 5_100));
      const token = (key: string) => mintAccessToken(key, { userId: uid('rotated'), deviceSessionId: 'phone' });

      // Act / Assess
      expect((await RawClient.connect(await token(rotated))).closed).toBeUndefined();
      expect((await RawClient.connect(await token(tokenSecret))).closed).toBeUndefined();
      await expect(RawClient.connect(await token('z'.repeat(64)))).rejects.toMatchObject({ status: 401 });
    } finally {
      // Back to the original key as AWSCURRENT (the rotated one stays AWSPREVIOUS): other tests mint with it.
      await secrets.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: tokenSecret }));
    }
  });
});

describe('SES: permission and identity errors are not retried', () => {
  it('dead-letters an email that SES refuses with AccessDenied at its first attempt, naming the cause', async () => {
    // Prepare: SES answers as it does when IAM denies the send (403 AccessDeniedException).
    const user = uid('denied');
    const email = `${user}@example.com`;
    await addFault('ses', {
      match: email,
      status: 403,
      errorType: 'AccessDeniedException',
      message: `User: arn:aws:sts::000000000000:assumed-role/deliver is not authorized to perform: ses:SendEmail on resource: arn:aws:ses:us-east-1:000000000000:identity/${email}`,
    });
    const sent = intent('flaky', { user_id: user, email }, { n: 1 });

    // Act
    await sendIntent(sent);

    // Assess: one attempt of the four the type allows, dead-lettered with the cause.
    const route = await waitFor('the route dead-lettered', async () => {
      const r = await store.getRoute(notificationIdFor('tests', sent.idempotency_key), `email:${user}`);
      return r?.status === 'dead_letter' && r;
    });
    expect(route).toMatchObject({ attempts: 1, last_failure_classification: 'email_not_authorized' });
    expect(route.last_failure_message).toContain('AccessDeniedException');
  });
});

describe('SQS message bodies: the characters SQS allows', () => {
  it('takes characters beyond U+FFFF (an emoji), and refuses U+FFFF and a lone surrogate with InvalidMessageContents', async () => {
    const queueUrl = await queue('characters');
    const send = (body: string) => sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    await expect(send('{"text":"launch 🚀 at 10:00"}')).resolves.toMatchObject({ MessageId: expect.any(String) });
    await expect(send('{"text":"\uFFFF"}')).rejects.toMatchObject({ name: expect.stringMatching(/InvalidMessageContents$/) });
    await expect(send('{"text":"\uD800"}')).rejects.toMatchObject({ name: expect.stringMatching(/InvalidMessageContents$/) });
    const [message] = await waitFor('the emoji message', async () => {
      const messages = await receiveAll(queueUrl);
      return messages.length > 0 && messages;
    });
    expect(message!.Body).toBe('{"text":"launch 🚀 at 10:00"}');
  });
});

describe('SQS ChangeMessageVisibility: at most 12 h counted from the receive', () => {
  it('leaves a delay too close to 12 h to the sweeper instead of asking SQS for it', async () => {
    // Prepare: a received message, as the event source mapping hands it to a function.
    const queueUrl = await queue('visibility');
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x' }));
    const [message] = await waitFor('the message', async () => {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
      return Messages.length > 0 && Messages;
    });

    // Act / Assess: 43,000 s is under SQS's 43,200 but not once the time since the receive is counted.
    expect(await delayMessage(sqs, queueUrl, message!.ReceiptHandle!, 43_000_000)).toBe(false);
    expect(await delayMessage(sqs, queueUrl, message!.ReceiptHandle!, 600_000)).toBe(true);
  });
});

describe('EventBridge PutEvents: aws.* sources belong to AWS services', () => {
  it('refuses a caller\'s entry with source aws.ses (NotAuthorizedForSourceException) and takes the others of the same request', async () => {
    const answer = await events.send(new PutEventsCommand({
      Entries: [
        { EventBusName: 'default', Source: 'aws.ses', DetailType: 'Email Bounced', Detail: '{}' },
        { EventBusName: 'default', Source: 'tests', DetailType: 'anything', Detail: '{}' },
      ],
    }));
    expect(answer.FailedEntryCount).toBe(1);
    expect(answer.Entries?.[0]).toMatchObject({ ErrorCode: 'NotAuthorizedForSourceException' });
    expect(answer.Entries?.[1]?.EventId).toEqual(expect.any(String));
  });
});
