import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, MalformedCursorError } from '../../functions/core/push/cursorCodec.ts';

describe('cursor codec', () => {
  it.each([
    [{ epoch: 'abcd1234', position: 0 }],
    [{ epoch: '0000000000zz', position: 1 }],
    [{ epoch: 'k3j4h5g6f7d8', position: 999_999_999_999_999 }],
  ])('round-trips %o through an opaque base64url string', (cursor) => {
    const text = encodeCursor(cursor);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(text).not.toContain(cursor.epoch);
    expect(decodeCursor(text)).toEqual(cursor);
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'abc$%^'],
    ['too long', 'A'.repeat(200)],
    ['wrong prefix', Buffer.from('c2.abcd1234.1').toString('base64url')],
    ['missing part', Buffer.from('c1.abcd1234').toString('base64url')],
    ['upper-case epoch', Buffer.from('c1.ABCD1234.1').toString('base64url')],
    ['short epoch', Buffer.from('c1.ab.1').toString('base64url')],
    ['negative position', Buffer.from('c1.abcd1234.-1').toString('base64url')],
    ['leading zero', Buffer.from('c1.abcd1234.01').toString('base64url')],
    ['fractional position', Buffer.from('c1.abcd1234.1.5').toString('base64url')],
    ['non-numeric position', Buffer.from('c1.abcd1234.x').toString('base64url')],
  ])('rejects a %s cursor with MalformedCursorError', (_name, text) => {
    expect(() => decodeCursor(text)).toThrow(MalformedCursorError);
  });
});
