import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { continuationAttributes, continuedFrom, CONTINUES_ATTRIBUTE } from '../../functions/adapters/intakeContinuation.ts';

/** As the Lambda event carries a message attribute that was sent (SQS event records spell it stringValue). */
const received = (attributes: Record<string, { StringValue: string }>) =>
  Object.fromEntries(Object.entries(attributes).map(([name, a]) => [name, { stringValue: a.StringValue, dataType: 'String' }]));

describe('intake continuations', () => {
  it('a continuation names the intake message it goes on with, as sent', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 128 }), fc.integer({ min: 0, max: 4_102_444_800_000 }), (id, sentAt) => {
        expect(continuedFrom(received(continuationAttributes({ id, sentAt })))).toEqual({ id, sentAt });
      }),
    );
  });

  it('a record without the attribute, or with one that is not a continuation, goes on with nothing', () => {
    expect(continuedFrom(undefined)).toBeUndefined();
    expect(continuedFrom({})).toBeUndefined();
    for (const value of ['', 'not json', '{}', '{"id":"","sent_at":1}', '{"id":"m","sent_at":"1"}', `{"id":"${'x'.repeat(129)}","sent_at":1}`, '{"id":7,"sent_at":1}', 'null', '[]']) {
      expect(continuedFrom({ [CONTINUES_ATTRIBUTE]: { stringValue: value } }), value).toBeUndefined();
    }
  });
});
