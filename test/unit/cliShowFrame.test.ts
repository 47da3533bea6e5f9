import { describe, expect, it } from 'vitest';
import { showFrame } from '../../cli/showFrame.ts';

describe('herald tail: frames as lines for people', () => {
  it('shows a live event as one line', () => {
    expect(showFrame('{"type":"event","cursor":"c1","position":1,"kind":"friend.request","payload":{"from":"grace"}}')).toEqual({
      lines: ['#1 friend.request {"from":"grace"}'],
      events: 1,
    });
  });

  it('shows each event of a replay frame on its own line, and another device session’s as a position only', () => {
    const frame = { type: 'events', events: [{ position: 2, kind: 'chat', payload: { n: 2 } }, { position: 3, redacted: true }] };
    expect(showFrame(JSON.stringify(frame))).toEqual({ lines: ['#2 chat {"n":2}  (replayed)', '#3 (for another device session)  (replayed)'], events: 2 });
  });

  it('names API Gateway’s own messages, which have no type', () => {
    expect(showFrame('{"message": "Internal server error", "connectionId":"abc=", "requestId":"r1"}')).toEqual({
      lines: ['[gateway] Internal server error {"connectionId":"abc=","requestId":"r1"}'],
      events: 0,
    });
  });

  it('shows other frames by type, and what is not a frame as it came', () => {
    expect(showFrame('{"type":"replay_complete","cursor":"c3","position":3}')).toEqual({ lines: ['[replay_complete] {"cursor":"c3","position":3}'], events: 0 });
    expect(showFrame('not json')).toEqual({ lines: ['[not JSON] not json'], events: 0 });
    expect(showFrame('null')).toEqual({ lines: ['[not a frame] null'], events: 0 });
    expect(showFrame('{"type":"events","events":"nope"}')).toEqual({ lines: ['[events] {"type":"events","events":"nope"}'], events: 0 });
  });
});
