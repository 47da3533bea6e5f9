import { describe, expect, it } from 'vitest';
import { eventLine, frameLine, skippedLine } from '../../cli/showFrame.ts';

describe('herald tail: lines for people', () => {
  it('shows an event as #position kind payload, a replayed one marked', () => {
    expect(eventLine({ position: 1, kind: 'friend.request', payload: { from: 'grace' } }, false)).toBe('#1 friend.request {"from":"grace"}');
    expect(eventLine({ position: 2, kind: 'chat', payload: { n: 2 } }, true)).toBe('#2 chat {"n":2}  (replayed)');
  });

  it('names the positions skipped for the user’s other device sessions', () => {
    expect(skippedLine(3, 3)).toBe('#3 (for another device session)');
    expect(skippedLine(3, 5)).toBe('#3–#5 (for other device sessions)');
  });

  it('names API Gateway’s own messages, which have no type', () => {
    expect(frameLine('{"message": "Internal server error", "connectionId":"abc=", "requestId":"r1"}')).toBe('[gateway] Internal server error {"connectionId":"abc=","requestId":"r1"}');
  });

  it('shows other frames by type, and what is not a frame as it came', () => {
    expect(frameLine('{"type":"replay_complete","cursor":"c3","position":3}')).toBe('[replay_complete] {"cursor":"c3","position":3}');
    expect(frameLine('{"type":"error","code":"malformed_cursor","message":"cursor is not a Herald cursor"}')).toBe('[error] {"code":"malformed_cursor","message":"cursor is not a Herald cursor"}');
    expect(frameLine('not json')).toBe('[not JSON] not json');
    expect(frameLine('null')).toBe('[not a frame] null');
    expect(frameLine('{"type":"events","events":"nope"}')).toBe('[events] {"events":"nope"}');
  });

  it('leaves events, replay frames and pongs to the event lines (or out)', () => {
    expect(frameLine('{"type":"event","cursor":"c1","position":1}')).toBeUndefined();
    expect(frameLine('{"type":"events","events":[]}')).toBeUndefined();
    expect(frameLine('{"type":"pong"}')).toBeUndefined();
  });
});
