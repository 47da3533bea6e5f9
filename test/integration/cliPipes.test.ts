import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { encodeCursor } from '../../functions/core/push/cursorCodec.ts';
import { notificationIdFor } from '../../functions/core/route/identifiers.ts';
import { addFault, clearFaults, endpoints, eventBuffer, outputs, rejections, sendIntent, sqs, store, uid, waitFor } from './support.ts';

// Scripts read `herald … --json` through a pipe. Each command with a large output is read here
// through a real pipe by a reader that waits a second before reading (as `| jq` on a busy machine
// may): the whole document must arrive, and parse.
const MB = 1024 * 1024;

/** Runs `herald <args> --json` with stdout on a pipe read only after `delayMs`; its exit code and everything it wrote. */
function heraldThroughPipe(args: string[], delayMs = 1_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/herald-cli.mjs', ...args, '--json', '--endpoints', '.local/test-endpoints.json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.pause();
    setTimeout(() => child.stdout.on('data', (chunk: Buffer) => out.push(chunk)).resume(), delayMs);
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

/** 128-character ids (the longest allowed) make each row large. */
const longId = (prefix: string, i: number) => `${prefix}-${String(i).padStart(4, '0')}-`.padEnd(128, 'x');

async function expectWholeJson(args: string[]): Promise<unknown> {
  const result = await heraldThroughPipe(args);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout.length).toBeGreaterThan(MB);
  return JSON.parse(result.stdout);
}

describe('herald --json through a pipe: all of it arrives, whatever its size', () => {
  it('status of a notification with 2,000 routes', async () => {
    // Prepare: 1,000 recipients of a type that emails and pushes.
    const key = uid('pipe-status');
    const recipients = Array.from({ length: 1_000 }, (_, i) => ({ user_id: longId(key, i), email: `${longId('r', i).slice(0, 60)}@example.com` }));
    await sendIntent({ notification_type: 'welcome', producer: 'tests', idempotency_key: key, audience: { kind: 'users', recipients }, payload: { name: 'Pipe' } });
    const id = notificationIdFor('tests', key);
    await waitFor('every route ended', async () => {
      const routes = await store.listRoutes(id);
      return routes.length === 2_000 && routes.every((r) => r.status === 'published');
    }, 120_000, 1_000);

    // Act / Assess
    const status = (await expectWholeJson(['status', id])) as { routes: unknown[] };
    expect(status.routes).toHaveLength(2_000);
  }, 180_000);

  it('rejections of a day with hundreds of large rejected intents', async () => {
    // Prepare: 600 intents of an unknown type, each keeping 2 KiB of its body in its record.
    const marker = uid('pipe-rejections');
    for (let i = 0; i < 600; i += 10) {
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: outputs.intakeQueueUrl,
          Entries: Array.from({ length: 10 }, (_, j) => ({
            Id: String(j),
            MessageBody: JSON.stringify({ notification_type: 'no.such.type', producer: marker, idempotency_key: `${marker}-${i + j}`, audience: { kind: 'user', user_id: 'u' }, payload: { filler: 'z'.repeat(3_000) } }),
          })),
        }),
      );
    }
    await waitFor('600 rejections recorded', async () => (await rejections.listDay(Date.now(), 1_000)).filter((r) => r.producer === marker).length === 600, 120_000, 1_000);

    // Act / Assess
    const listed = (await expectWholeJson(['rejections', '--limit', '1000'])) as { producer?: string }[];
    expect(listed.filter((r) => r.producer === marker)).toHaveLength(600);
  }, 180_000);

  it('dead-letters of a day with a thousand dead-lettered routes', async () => {
    // Prepare: 1,000 one-attempt email routes that SES refuses for good, with a long error message.
    const key = uid('pipe-dead');
    await addFault('ses', { match: key, status: 400, errorType: 'MessageRejected', message: `refused for the pipe test: ${'m'.repeat(900)}` });
    try {
      const recipients = Array.from({ length: 1_000 }, (_, i) => ({ user_id: longId(key, i), email: `${key}-${i}@example.com` }));
      await sendIntent({ notification_type: 'once', producer: 'tests', idempotency_key: key, audience: { kind: 'users', recipients }, payload: { n: 1 } });
      const id = notificationIdFor('tests', key);
      await waitFor('every route dead-lettered', async () => {
        const routes = await store.listRoutes(id);
        return routes.length === 1_000 && routes.every((r) => r.status === 'dead_letter');
      }, 120_000, 1_000);

      // Act / Assess
      const listed = (await expectWholeJson(['dead-letters', '--type', 'once', '--limit', '1000'])) as { notification_id: string }[];
      expect(listed.filter((r) => r.notification_id === id)).toHaveLength(1_000);
    } finally {
      await clearFaults('ses');
    }
  }, 180_000);

  it('dlq with a hundred 12 KB messages', async () => {
    // Prepare: the lifecycle DLQ holds 100 large events (removed again afterwards).
    const dlqUrl = endpoints.outputs['HeraldLifecycleDeadLetterQueueUrl']!;
    const marker = uid('pipe-dlq');
    for (let i = 0; i < 100; i += 10) {
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: dlqUrl,
          Entries: Array.from({ length: 10 }, (_, j) => ({
            Id: String(j),
            MessageBody: JSON.stringify({ 'detail-type': 'herald.lifecycle', source: 'tests', detail: { event_type: 'user.blocked', user_id: `${marker}-${i + j}`, padding: 'p'.repeat(12_000) } }),
          })),
        }),
      );
    }
    try {
      // Act / Assess
      const listed = (await expectWholeJson(['dlq', 'lifecycle', '--limit', '100'])) as { about: string }[];
      expect(listed.filter((row) => row.about.includes(marker))).toHaveLength(100);
    } finally {
      for (;;) {
        const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
        if (Messages.length === 0) break;
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: dlqUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
      }
    }
  });

  it('tail replaying a thousand 1 KB events', async () => {
    // Prepare: 1,000 events in one user's stream.
    const user = uid('pipe-tail');
    for (let i = 0; i < 1_000; i += 10) {
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: outputs.intakeQueueUrl,
          Entries: Array.from({ length: 10 }, (_, j) => ({
            Id: String(j),
            MessageBody: JSON.stringify({ notification_type: 'ping', producer: 'tests', idempotency_key: `${user}-${i + j}`, audience: { kind: 'user', user_id: user }, payload: { n: i + j, text: 't'.repeat(1_000) } }),
          })),
        }),
      );
    }
    const head = await waitFor('1,000 events stored', async () => {
      const stored = await eventBuffer.getHead(user);
      return stored !== undefined && stored.position >= 1_000 && stored;
    }, 120_000, 1_000);

    // Act: replay everything after position 0 of the stream.
    const result = await heraldThroughPipe(['tail', user, '--cursor', encodeCursor({ epoch: head.epoch, position: 0 }), '--count', '1000', '--timeout', '60']);

    // Assess: one frame per line, every line whole JSON, every event there.
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBeGreaterThan(MB);
    const frames = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; events?: unknown[] });
    const events = frames.flatMap((f) => (f.type === 'events' ? f.events! : f.type === 'event' ? [f] : []));
    expect(events.length).toBeGreaterThanOrEqual(1_000);
  }, 180_000);
});
