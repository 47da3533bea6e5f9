import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sqsSafeJson } from '../../functions/adapters/sqsSafeJson.ts';
import { validateIntent } from '../../functions/core/intent/validateIntent.ts';
import { notificationIdFor } from '../../functions/core/route/identifiers.ts';
import { TERMINAL_STATUSES } from '../../functions/core/types.ts';
import { approximateDepth, eventBuffer, outputs, rejections, sqs, store, uid, waitFor } from './support.ts';
import { readFileSync } from 'node:fs';
import type { Catalog } from '../../functions/core/catalog/catalogTypes.ts';

// Thousands of intents — valid, near-valid and hostile — sent through the real intake of the
// offline stack. Each must end accepted and delivered with its payload intact, or rejected with a
// reason; nothing may stay in the intake queue or reach its DLQ. A fixed seed and a bounded count
// here; HERALD_FUZZ_RUNS=5000 (and HERALD_FUZZ_SEED) for a longer run.
const RUNS = Number(process.env['HERALD_FUZZ_RUNS'] ?? 240);
const SEED = Number(process.env['HERALD_FUZZ_SEED'] ?? 20261204);
const catalog = (JSON.parse(readFileSync('test/fixtures/herald.test.json', 'utf8')) as { catalog: Catalog }).catalog;
const MAX_PAYLOAD_BYTES = 30 * 1024;

/** A JSON value as text, built here so that keys can repeat and numbers can be any literal. */
type Json = { t: 'obj'; entries: [string, Json][] } | { t: 'arr'; items: Json[] } | { t: 'str'; s: string } | { t: 'raw'; text: string };

function text(node: Json): string {
  switch (node.t) {
    case 'obj':
      return `{${node.entries.map(([k, v]) => `${JSON.stringify(k)}:${text(v)}`).join(',')}}`;
    case 'arr':
      return `[${node.items.map(text).join(',')}]`;
    case 'str':
      return JSON.stringify(node.s);
    case 'raw':
      return node.text;
  }
}

const edgeStrings = ['', '\uFFFE', '\uFFFF', '\uFEFF', '\u0000', '\uD800', '\uDC00', 'a\uD83D', '😀', 'e\u0301', '\u202E', '__proto__', '<script>', '{{name}}', 'x'.repeat(300)];
const hostileString = fc.oneof(fc.string({ unit: 'binary', maxLength: 24 }), fc.constantFrom(...edgeStrings), fc.string({ maxLength: 24 }));
const hostileKey = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', '', 'a.b', '\uD800', 'name'));
const numberLiteral = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.integer().map(String),
  // Beyond DynamoDB's number type (38 digits, 1E-130 to 9.9E125) or JavaScript's double.
  fc.constantFrom('1e126', '-1e126', '1e-131', '12345678901234567890123456789012345678901', '9007199254740993', '-0', '1e308', '1e400', '-1e400', '1e-400', '5e-324'),
);
const leaf: fc.Arbitrary<Json> = fc.oneof(
  hostileString.map((s): Json => ({ t: 'str', s })),
  numberLiteral.map((n): Json => ({ t: 'raw', text: n })),
  fc.constantFrom('true', 'false', 'null').map((v): Json => ({ t: 'raw', text: v })),
);
const { value } = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 5 },
    leaf,
    fc.array(tie('value'), { maxLength: 6 }).map((items): Json => ({ t: 'arr', items })),
    fc.array(fc.tuple(hostileKey, tie('value')), { maxLength: 6 }).map((entries): Json => ({ t: 'obj', entries })),
  ),
}));
/** Nested `levels` deep: {"a":{"a":…}} or [[…]]. */
const deep = fc.tuple(fc.integer({ min: 25, max: 40 }), fc.boolean(), leaf).map(([levels, arrays, inner]): Json => {
  let node = inner;
  for (let i = 1; i < levels; i += 1) node = arrays ? { t: 'arr', items: [node] } : { t: 'obj', entries: [['a', node]] };
  return { t: 'obj', entries: [['deep', node]] };
});
const payload: fc.Arbitrary<Json> = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.tuple(hostileKey, value), { maxLength: 8 }).map((entries): Json => ({ t: 'obj', entries })) },
  { weight: 2, arbitrary: deep },
  // At and just past the payload limit (a string that fills it).
  { weight: 1, arbitrary: fc.integer({ min: -2, max: 2 }).map((delta): Json => ({ t: 'obj', entries: [['fill', { t: 'str', s: 'y'.repeat(MAX_PAYLOAD_BYTES - 12 + delta) }]] })) },
  // Not an object at all.
  { weight: 1, arbitrary: leaf },
);

interface Generated {
  readonly body: string;
  readonly producer: string;
  readonly key: string;
  readonly type: string;
  readonly payloadText: string;
}

/** An intent as text: mostly valid envelopes around hostile payloads, some near-valid envelopes. */
const intentArb: fc.Arbitrary<Generated> = fc
  .record({
    type: fc.constantFrom('ping', 'ping', 'ping', 'ping', 'welcome', 'chat.message', 'no.such.type'),
    payload,
    producer: fc.oneof({ weight: 8, arbitrary: fc.constant('fuzz') }, { weight: 1, arbitrary: fc.constantFrom('p'.repeat(128), 'p'.repeat(129), '', 'fuzz\uD800') }),
    keyTail: fc.oneof({ weight: 8, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('k'.repeat(220), 'k'.repeat(240), '\uFFFF', '\uDC00') }),
    userId: fc.oneof({ weight: 8, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('u'.repeat(129), 'bad user', '') }),
    extra: fc.constantFrom('', ',"unknown_field":{"x":1}', ',"producer":"dup"', ',"request_id":"\\ud800"', ',"trace_id":"' + 't'.repeat(200) + '"'),
    bom: fc.boolean().map((b) => (b ? '\uFEFF' : '')),
    broken: fc.constantFrom(false, false, false, false, false, false, false, false, false, true),
  })
  .map(({ type, payload: p, producer, keyTail, userId, extra, bom, broken }) => {
    const key = `${uid('fz')}${keyTail}`;
    const user = userId === '' ? uid('fz-user') : userId;
    const payloadText = text(p);
    const email = type === 'welcome' ? ',"email":"fuzz@example.com"' : '';
    const body = `${bom}{"notification_type":${JSON.stringify(type)},"producer":${JSON.stringify(producer)},"idempotency_key":${JSON.stringify(key)},"audience":{"kind":"user","user_id":${JSON.stringify(user)}${email}},"payload":${payloadText}${extra}}${broken ? ',' : ''}`;
    return { body, producer: producer === 'fuzz' || !extra.includes('"producer"') ? producer : 'dup', key, type, payloadText };
  });

type Outcome = { kind: 'accepted'; routes: number } | { kind: 'rejected'; reason: string };

/** The reasons of today's and yesterday's rejections by message id (one paginated read a poll, not one per intent). */
async function rejectionReasons(): Promise<Map<string, string>> {
  const days = await Promise.all([Date.now(), Date.now() - 86_400_000].map((at) => rejections.listDay(at, 100_000)));
  return new Map(days.flat().map((r) => [r.source_id, r.reason]));
}

async function outcomeOf(sent: Generated, messageId: string, rejected?: Map<string, string>): Promise<Outcome | undefined> {
  const reason = rejected ? rejected.get(messageId) : (await rejections.find({ source_id: messageId }, { days: [Date.now(), Date.now() - 86_400_000] }))?.reason;
  if (reason !== undefined) return { kind: 'rejected', reason };
  const producer = /"producer":"dup"/.test(sent.body) ? 'dup' : sent.producer;
  const id = notificationIdFor(producer, sent.key);
  const notification = await store.getNotification(id);
  if (notification?.state !== 'accepted') return undefined;
  const routes = await store.listRoutes(id);
  if (!routes.every((r) => TERMINAL_STATUSES.has(r.status))) return undefined;
  for (const route of routes.filter((r) => r.channel === 'push')) {
    expect(route.status, `${id} ${route.route_id}: ${route.last_failure_classification}: ${route.last_failure_message}`).toBe('published');
    // Intact: what the stream holds is what was sent, as JSON sees it.
    const [event] = await eventBuffer.readAfter(route.user_id, (route.stream_position ?? 1) - 1, 1, Date.now());
    expect(JSON.stringify(event!.payload)).toBe(JSON.stringify((JSON.parse(sent.body.replace(/^\uFEFF/, '')) as { payload: unknown }).payload));
  }
  return { kind: 'accepted', routes: routes.length };
}

describe('generated intents through the real intake', () => {
  it(`ends each of ${RUNS} generated intents accepted and delivered intact, or rejected with a reason; nothing left in the intake queue or its DLQ`, async () => {
    // Prepare
    const intents = fc.sample(intentArb, { numRuns: RUNS, seed: SEED });
    const dlqBefore = await approximateDepth(outputs.intakeDlqUrl);

    // Act: sent as producers send them (U+FFFE/U+FFFF escaped, which SQS refuses raw), ten a batch.
    const sent: { intent: Generated; messageId: string }[] = [];
    for (let i = 0; i < intents.length; i += 10) {
      const batch = intents.slice(i, i + 10);
      const result = await sqs.send(new SendMessageBatchCommand({ QueueUrl: outputs.intakeQueueUrl, Entries: batch.map((intent, j) => ({ Id: String(j), MessageBody: sqsSafeJson(intent.body) })) }));
      expect(result.Failed ?? []).toEqual([]);
      for (const entry of result.Successful ?? []) sent.push({ intent: batch[Number(entry.Id)]!, messageId: entry.MessageId! });
    }

    // Assess: every intent has its outcome, and Herald's agrees with the contract's own check.
    const outcomes = new Map<string, Outcome>();
    await waitFor(`an outcome for each of ${sent.length} intents`, async () => {
      const rejected = await rejectionReasons();
      const pending = sent.filter(({ messageId }) => !outcomes.has(messageId));
      for (let i = 0; i < pending.length; i += 20) {
        await Promise.all(pending.slice(i, i + 20).map(async ({ intent, messageId }) => {
          const outcome = await outcomeOf(intent, messageId, rejected);
          if (outcome) outcomes.set(messageId, outcome);
        }));
      }
      return outcomes.size === sent.length;
    }, 180_000 * Math.max(1, RUNS / 240), 1_000);
    for (const { intent, messageId } of sent) {
      const expected = validateIntent(intent.body.replace(/^\uFEFF/, ''), catalog, { maxPayloadBytes: MAX_PAYLOAD_BYTES });
      const outcome = outcomes.get(messageId)!;
      expect(outcome.kind === 'accepted' ? 'accepted' : outcome.reason, intent.body.slice(0, 300)).toBe(expected.ok ? 'accepted' : expected.reason);
    }
    expect(await approximateDepth(outputs.intakeQueueUrl)).toBe(0);
    expect(await approximateDepth(outputs.intakeDlqUrl)).toBe(dlqBefore);
    const accepted = [...outcomes.values()].filter((o) => o.kind === 'accepted').length;
    // Both kinds were generated in earnest.
    expect(accepted).toBeGreaterThan(RUNS / 5);
    expect(outcomes.size - accepted).toBeGreaterThan(RUNS / 10);
  }, 300_000 * Math.max(1, RUNS / 240));
});

describe('each limit of what stores and carries a payload, one by one', () => {
  /** A payload of exactly `levels` nested objects (the payload itself is the first). */
  const nested = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;
  it.each([
    // DynamoDB refuses a map nested past 32 levels; payloads are stored as JSON text, and Herald
    // itself allows 32 levels (the payload is level 1).
    ['nested 32 levels deep', nested(32), 'accepted'],
    ['nested 33 levels deep', nested(33), 'payload_too_deep'],
    ['nested 5,000 levels deep', nested(5_000), 'payload_too_deep'],
    // DynamoDB numbers hold 38 digits within 1E-130..9.9E125; JSON numbers are doubles.
    ['numbers beyond DynamoDB\'s range and precision', '{"big":1e126,"small":1e-131,"digits":12345678901234567890123456789012345678901,"negzero":-0}', 'accepted'],
    ['a number beyond a double (Infinity once parsed)', '{"huge":1e400}', 'payload_number_out_of_range'],
    // A DynamoDB map refuses an empty key; a reader rebuilding a map turns __proto__ into a prototype.
    ['an empty key and __proto__, constructor keys', '{"":1,"__proto__":{"polluted":true},"constructor":{"prototype":2}}', 'accepted'],
    ['strings with lone surrogates, U+FFFE, U+FFFF, a BOM and an emoji', '{"s":["\\ud800","\\udc00x","\\ufffe","\\uffff","\\ufeff","🚀"]}', 'accepted'],
  ])('%s', async (_name, payloadText, expected) => {
    // Prepare
    const user = uid('limit');
    const key = uid('limit');
    const body = `{"notification_type":"ping","producer":"tests","idempotency_key":"${key}","audience":{"kind":"user","user_id":"${user}"},"payload":${payloadText}}`;

    // Act
    const [entry] = (await sqs.send(new SendMessageBatchCommand({ QueueUrl: outputs.intakeQueueUrl, Entries: [{ Id: '0', MessageBody: sqsSafeJson(body) }] }))).Successful!;

    // Assess
    const outcome = await waitFor('its outcome', () => outcomeOf({ body, producer: 'tests', key, type: 'ping', payloadText }, entry!.MessageId!), 30_000);
    expect(outcome.kind === 'accepted' ? 'accepted' : outcome.reason).toBe(expected);
  });

  it('accepts an intent that starts with a byte order mark', async () => {
    const key = uid('bom');
    const body = `\uFEFF{"notification_type":"ping","producer":"tests","idempotency_key":"${key}","audience":{"kind":"user","user_id":"${uid('bom')}"},"payload":{"bom":true}}`;
    const [entry] = (await sqs.send(new SendMessageBatchCommand({ QueueUrl: outputs.intakeQueueUrl, Entries: [{ Id: '0', MessageBody: body }] }))).Successful!;
    const outcome = await waitFor('its outcome', () => outcomeOf({ body, producer: 'tests', key, type: 'ping', payloadText: '{"bom":true}' }, entry!.MessageId!), 30_000);
    expect(outcome).toEqual({ kind: 'accepted', routes: 1 });
  });
});
