import { describe, expect, it } from 'vitest';
import { itemBytes } from '../../functions/adapters/itemSize.ts';

describe('itemBytes (DynamoDB item size)', () => {
  it('adds names and values: strings by UTF-8 bytes, numbers by significant digits', () => {
    // The worked example of ddbitemsizer's README (141 bytes), in plain form.
    const item = {
      itemType: 'SLOT', id: 'abc1231', hostName: 'Harry Mason', timeSlot: 'February 23, 1999',
      slotStatus: 'OPEN', createdAt: 'February 1, 1999', updatedAt: 'February 1, 1999', expiresAt: 2099,
    };
    expect(itemBytes(item)).toBe(141);
    expect(itemBytes({ s: 'é€' })).toBe(1 + 5);
  });

  it('trims leading and trailing zeroes of numbers and counts an epoch-ms time (13 significant digits) as 8 bytes', () => {
    expect(itemBytes({ n: 1000 })).toBe(1 + 2);
    expect(itemBytes({ n: 0.0012 })).toBe(1 + 2);
    expect(itemBytes({ n: -123456 })).toBe(1 + 4);
    expect(itemBytes({ at: 1_795_000_000_000 })).toBe(2 + 3);
    expect(itemBytes({ at: 1_795_123_456_789 })).toBe(2 + 8);
    expect(itemBytes({ big: 1e21 })).toBe(3 + 2);
  });

  it('charges maps and lists 3 bytes and each element 1 more; booleans and nulls 1; undefined nothing', () => {
    expect(itemBytes({ m: { a: 'x' } })).toBe(1 + 3 + (1 + 1 + 1));
    expect(itemBytes({ l: ['ab', 7] })).toBe(1 + 3 + (1 + 2) + (1 + 2));
    expect(itemBytes({ m: {} })).toBe(1 + 3);
    expect(itemBytes({ t: true, z: null, gone: undefined })).toBe(2 + 2);
  });
});
