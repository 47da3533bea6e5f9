import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Catalog } from '../../functions/core/catalog/catalogTypes.ts';
import { validateIntent } from '../../functions/core/intent/validateIntent.ts';
import { REJECTION_REASONS } from '../../functions/core/types.ts';

const catalog: Catalog = {
  welcome: { channels: ['email', 'push'], email: { subject: 'Hi {{name}}', text: 'Hello {{name}}', html: '<b>{{name}}</b>' } },
  ping: { channels: ['push'] },
};
const limits = { maxPayloadBytes: 1024 };
const valid = {
  notification_type: 'welcome',
  producer: 'accounts',
  idempotency_key: 'k1',
  audience: { kind: 'user', user_id: 'u1', email: 'a@example.com' },
  payload: { name: 'Ada' },
};
const body = (change: Record<string, unknown>) => JSON.stringify({ ...valid, ...change });

describe('validateIntent', () => {
  it('ignores a byte order mark before the JSON (RFC 8259 §8.1 allows a parser to)', () => {
    expect(validateIntent(`\uFEFF${JSON.stringify(valid)}`, catalog, limits)).toMatchObject({ ok: true });
  });

  it('answers a payload nested 40,000 objects deep (as deep as 256 KiB allows) with a reason, not a stack overflow', () => {
    const deep = JSON.stringify(valid).replace('"payload":{"name":"Ada"}', `"payload":{"name":"Ada","d":${'{"a":'.repeat(40_000)}{}${'}'.repeat(40_000)}}`);
    expect(validateIntent(deep, catalog, { maxPayloadBytes: 1_000_000 })).toMatchObject({ ok: false, reason: 'payload_too_deep' });
  });

  it('accepts a valid single-user intent and normalises its audience', () => {
    const result = validateIntent(JSON.stringify(valid), catalog, limits);
    expect(result).toMatchObject({ ok: true, recipients: [{ user_id: 'u1', email: 'a@example.com' }] });
  });

  it('ignores unknown fields', () => {
    expect(validateIntent(body({ future_field: { anything: true } }), catalog, limits).ok).toBe(true);
  });

  it('accepts a users audience and keeps device sessions', () => {
    const result = validateIntent(
      body({ notification_type: 'ping', audience: { kind: 'users', recipients: [{ user_id: 'a' }, { user_id: 'a', device_session_id: 'd1' }] } }),
      catalog,
      limits,
    );
    expect(result.ok && result.recipients).toEqual([{ user_id: 'a' }, { user_id: 'a', device_session_id: 'd1' }]);
  });

  it.each([
    ['not JSON', '{"producer":', 'malformed_json', 'not valid JSON'],
    ['a JSON array', '[]', 'schema_violation', 'intent must be object'],
    ['missing producer', JSON.stringify({ ...valid, producer: undefined }), 'schema_violation', 'missing required field "producer"'],
    ['empty idempotency key', body({ idempotency_key: '' }), 'schema_violation', 'idempotency_key must NOT have fewer than 1 characters'],
    ['unknown audience kind', body({ audience: { kind: 'group', id: 'g' } }), 'schema_violation', 'audience.kind must be "user" or "users"'],
    ['user audience without user_id', body({ audience: { kind: 'user' } }), 'schema_violation', 'missing required field "user_id"'],
    ['user id with a colon', body({ audience: { kind: 'user', user_id: 'a:b' } }), 'schema_violation', 'audience.user_id must match pattern'],
    ['empty recipients', body({ audience: { kind: 'users', recipients: [] } }), 'schema_violation', 'audience.recipients must NOT have fewer than 1 items'],
    ['bad email', body({ audience: { kind: 'user', user_id: 'u', email: 'nope' } }), 'schema_violation', 'audience.email must match pattern'],
    ['payload not an object', body({ payload: 'hi' }), 'schema_violation', 'payload must be object'],
    ['non-integer occurred_at_ms', body({ occurred_at_ms: 1.5 }), 'schema_violation', 'occurred_at_ms must be integer'],
    ['unknown type', body({ notification_type: 'nope' }), 'unknown_notification_type', '"nope" is not in the catalog'],
    ['oversize payload', body({ payload: { name: 'x'.repeat(2000) } }), 'payload_too_large', 'the limit is 1024'],
    ['missing template field', body({ payload: { nom: 'Ada' } }), 'template_field_missing', 'uses: name'],
    ['payload nested 33 levels', body({ notification_type: 'ping', payload: JSON.parse(`${'{"a":'.repeat(32)}{}${'}'.repeat(32)}`) }), 'payload_too_deep', 'more than 32 levels deep (at payload.a.a'],
    ['payload nested 100,000 levels', body({ notification_type: 'ping' }).replace('"payload":{"name":"Ada"}', `"payload":${'['.repeat(100_000)}${']'.repeat(100_000)}`), 'schema_violation', 'payload must be object'],
    ['payload number beyond a double', body({ notification_type: 'ping' }).replace('"payload":{"name":"Ada"}', '"payload":{"n":[1,-1e400]}'), 'payload_number_out_of_range', 'payload.n[1] is a number beyond'],
    ['duplicate recipient', body({ notification_type: 'ping', audience: { kind: 'users', recipients: [{ user_id: 'a' }, { user_id: 'a' }] } }), 'duplicate_recipient', '"a" appears more than once'],
  ])('rejects %s with reason %s', (_name, raw, reason, message) => {
    const result = validateIntent(raw, catalog, limits);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toBe(reason);
      expect(result.message).toContain(message);
    }
  });

  it('keeps the identifying fields of a rejected intent for its rejection record', () => {
    const result = validateIntent(body({ notification_type: 'nope' }), catalog, limits);
    expect(result).toMatchObject({ producer: 'accounts', idempotency_key: 'k1', notification_type: 'nope' });
  });

  it('rejects a body larger than SQS allows before parsing it', () => {
    const result = validateIntent(`"${'x'.repeat(300 * 1024)}"`, catalog, limits);
    expect(result).toMatchObject({ ok: false, reason: 'intent_too_large' });
  });
});

describe('the intent contract (docs/intent-contract.md)', () => {
  it('has a row in its rejections table for every reason an intent can be rejected with', () => {
    const rows = [...readFileSync('docs/intent-contract.md', 'utf8').matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);
    expect(REJECTION_REASONS.filter((reason) => !rows.includes(reason))).toEqual([]);
  });
});
