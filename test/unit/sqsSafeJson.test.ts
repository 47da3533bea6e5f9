import { describe, expect, it } from 'vitest';
import { sqsSafeJson } from '../../functions/adapters/sqsSafeJson.ts';

// The characters SQS accepts in a message body (SendMessage API reference).
const SQS_BODY = /^[\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

describe('sqsSafeJson', () => {
  it('escapes U+FFFE and U+FFFF, which JSON.stringify leaves as they are, into the same JSON value', () => {
    const value = { text: 'a\uFFFFb\uFFFEc', [`key\uFFFF`]: 1 };
    const json = JSON.stringify(value);
    expect(json).not.toMatch(SQS_BODY);

    const safe = sqsSafeJson(json);

    expect(safe).toMatch(SQS_BODY);
    expect(safe).toContain('a\\uffffb\\ufffec');
    expect(JSON.parse(safe)).toEqual(value);
  });

  it('leaves everything else as JSON.stringify wrote it, astral characters and U+FFFD included', () => {
    const json = JSON.stringify({ text: 'é 😀 \uFFFD \u0000 \uD800', tab: '\t' });
    expect(json).toMatch(SQS_BODY);
    expect(sqsSafeJson(json)).toBe(json);
  });
});
