import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { approximateDepth, endpoints, events, functionLogLines, outputs, uid, waitFor } from './support.ts';
import { closeAllClients, connectAs, RawClient, type Frame } from './wsClient.ts';

// Generated frames from clients and generated lifecycle events: each gets its documented answer,
// and the connection and the stack survive. Fixed seeds and bounded counts here;
// HERALD_FUZZ_RUNS multiplies them for a longer run.
const SCALE = Math.max(1, Math.round(Number(process.env['HERALD_FUZZ_RUNS'] ?? 240) / 240));
const SEED = Number(process.env['HERALD_FUZZ_SEED'] ?? 20261204);

afterEach(async () => {
  await closeAllClients();
});

type ClientFrame = { readonly text: string } | { readonly binary: Buffer };

/** The answer docs/push.md documents for a frame: a frame type, and for errors the code. */
function documentedAnswer(frame: ClientFrame): string {
  if ('binary' in frame) return 'error:malformed_message';
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame.text);
  } catch {
    return 'error:malformed_message';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'error:malformed_message';
  const { action, cursor } = parsed as { action?: unknown; cursor?: unknown };
  if (typeof action !== 'string') return 'error:malformed_message';
  if (action === 'ping') return 'pong';
  if (action !== 'resume') return 'error:unknown_action';
  if (cursor === undefined || cursor === null || cursor === '') return 'replay_complete';
  if (typeof cursor !== 'string') return 'error:malformed_message';
  return 'error:malformed_cursor';
}

const answerOf = (frame: Frame) => (frame.type === 'error' ? `error:${String(frame['code'])}` : frame.type);

const clientFrame: fc.Arbitrary<ClientFrame> = fc.oneof(
  fc.string({ maxLength: 60 }).map((text) => ({ text })),
  fc.string({ unit: 'binary', maxLength: 60 }).map((text) => ({ text })),
  fc.jsonValue({ maxDepth: 3 }).map((value) => ({ text: JSON.stringify(value) ?? 'null' })),
  fc
    .record({
      action: fc.oneof(fc.constantFrom('ping', 'resume', 'subscribe', 'RESUME', '', '$default', '$connect'), fc.string({ maxLength: 12 }), fc.integer(), fc.constant(null)),
      cursor: fc.oneof(fc.constant(''), fc.string({ maxLength: 40 }), fc.integer(), fc.constant(null), fc.constant({ c: 1 })),
    }, { requiredKeys: [] })
    .map((value) => ({ text: JSON.stringify(value) })),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({ binary: Buffer.from(bytes) })),
);

describe('generated client frames', () => {
  it(`answers each of ${80 * SCALE} generated frames as documented, on connections that stay open`, async () => {
    // Prepare: ten frames per connection, within its budgets (burst of 20 messages, 10 resumes a
    // minute; clientBudget.test.ts shows what lies beyond them).
    const frames = fc.sample(clientFrame, { numRuns: 80 * SCALE, seed: SEED });
    const user = uid('frames');
    let client: RawClient | undefined;

    // Act / Assess: one frame at a time, its one answer.
    for (const [n, frame] of frames.entries()) {
      if (n % 10 === 0) {
        await client?.close();
        client = await connectAs(user, 'phone');
      }
      const before = client!.frames.length;
      if ('binary' in frame) client!.socket.send(frame.binary, { binary: true });
      else client!.send(frame.text);
      const answer = await client!.waitFor(`the answer to ${JSON.stringify('binary' in frame ? '<binary>' : frame.text).slice(0, 80)}`, () => client!.frames[before]);
      expect(answerOf(answer), JSON.stringify('binary' in frame ? frame.binary.toString('hex') : frame.text)).toBe(documentedAnswer(frame));
      expect(client!.closed).toBeUndefined();
    }
  }, 180_000);

  it('never routes a message to $connect or $disconnect, whatever its action says (unknown_action, as API Gateway)', async () => {
    const client = await connectAs(uid('dollar'), 'phone');
    for (const action of ['$connect', '$disconnect', '$default']) {
      const before = client.frames.length;
      client.send({ action });
      const answer = await client.waitFor(`the answer to ${action}`, () => client.frames[before]);
      expect(answerOf(answer)).toBe('error:unknown_action');
    }
  });

  it('closes a connection that sends a frame over 128 KiB (code 1009), and the next connection works', async () => {
    const client = await connectAs(uid('huge'), 'phone');
    client.send(JSON.stringify({ action: 'ping', padding: 'x'.repeat(128 * 1024) }));
    await client.waitFor('the close', () => client.closed);
    expect(client.closed!.code).toBe(1009);

    const next = await connectAs(uid('after-huge'), 'phone');
    next.send({ action: 'ping' });
    await next.waitForFrame('pong');
  });
});

describe('generated lifecycle events', () => {
  it(`handles each of ${40 * SCALE} generated lifecycle events (applied or absorbed), leaving the lifecycle queue and DLQ as they were`, async () => {
    // Prepare: details that are valid, near-valid and junk; each carries a marker the log repeats.
    const dlqBefore = await approximateDepth(endpoints.outputs['HeraldLifecycleDeadLetterQueueUrl']!);
    const details = fc.sample(
      fc.record({
        event_type: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('user.deleted', 'user.blocked', 'session.revoked') }, { weight: 1, arbitrary: fc.string({ maxLength: 16 }) }, { weight: 1, arbitrary: fc.integer() }),
        valid_user: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
        occurred_at_ms: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 2 ** 45 }) }, { weight: 1, arbitrary: fc.constantFrom(0, -1, 1.5, '123') }, { weight: 1, arbitrary: fc.constant(undefined) }),
        device_session_id: fc.option(fc.oneof(fc.constant('phone'), fc.string({ maxLength: 8 })), { nil: undefined }),
        extra: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
      }),
      { numRuns: 40 * SCALE, seed: SEED },
    );
    const sent = details.map((d) => {
      const marker = uid('lcz');
      const detail = {
        event_type: d.event_type,
        user_id: d.valid_user ? marker : `${marker} not an id`,
        ...(d.occurred_at_ms !== undefined ? { occurred_at_ms: d.occurred_at_ms } : {}),
        ...(d.device_session_id !== undefined ? { device_session_id: d.device_session_id } : {}),
        ...(d.extra !== undefined ? { extra: d.extra } : {}),
      };
      return { marker, detail };
    });

    // Act
    for (let i = 0; i < sent.length; i += 10) {
      const put = await events.send(
        new PutEventsCommand({ Entries: sent.slice(i, i + 10).map(({ detail }) => ({ EventBusName: outputs.busName, Source: 'fuzz', DetailType: 'herald.lifecycle', Detail: JSON.stringify(detail) })) }),
      );
      expect(put.FailedEntryCount).toBe(0);
    }

    // Assess: every event has its one outcome line: applied (or duplicate/superseded), or absorbed.
    await waitFor('an outcome for every event', async () =>
      sent.every(({ marker }) => functionLogLines(marker).some((l) => /^lifecycle event (applied|duplicate|superseded|absorbed)$/.test(String(l['message'])))),
    60_000 * SCALE, 500);
    for (const { marker } of sent) {
      expect(functionLogLines(marker).filter((l) => l['message'] === 'lifecycle event failed; will be retried')).toEqual([]);
    }
    expect(await approximateDepth(endpoints.outputs['HeraldLifecycleQueueUrl']!)).toBe(0);
    expect(await approximateDepth(endpoints.outputs['HeraldLifecycleDeadLetterQueueUrl']!)).toBe(dlqBefore);
    // Both kinds were generated in earnest.
    const applied = sent.filter(({ marker }) => functionLogLines(marker).some((l) => l['message'] === 'lifecycle event applied')).length;
    expect(applied).toBeGreaterThan(0);
    expect(applied).toBeLessThan(sent.length);
  }, 120_000 * SCALE);

  it('survives: a fresh connection still works after all of it', async () => {
    const client = await RawClient.as(uid('alive'), 'phone');
    client.send({ action: 'ping' });
    await client.waitForFrame('pong');
  });
});
