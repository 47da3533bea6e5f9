import { describe, expect, it } from 'vitest';
import { eventsIn, frameLines } from '../../cli/frameLines.ts';

describe('herald tail: frames as lines for people', () => {
  it('shows a live event as one line', () => {
    expect(frameLines('{"type":"event","cursor":"c1","position":1,"kind":"friend.request","payload":{"from":"grace"}}')).toEqual(['#1 friend.request {"from":"grace"}']);
  });

  it('shows each event of a replay frame on its own line, and another device session’s as a position only', () => {
    const frame = { type: 'events', events: [{ position: 2, kind: 'chat', payload: { n: 2 } }, { position: 3, redacted: true }] };
    expect(frameLines(JSON.stringify(frame))).toEqual(['#2 chat {"n":2}  (replayed)', '#3 (for another device session)  (replayed)']);
    expect(eventsIn(JSON.stringify(frame))).toBe(2);
  });

  it('names API Gateway’s own messages, which have no type', () => {
    expect(frameLines('{"message": "Internal server error", "connectionId":"abc=", "requestId":"r1"}')).toEqual(['[gateway] Internal server error {"connectionId":"abc=","requestId":"r1"}']);
    expect(eventsIn('{"message": "Internal server error"}')).toBe(0);
  });

  it('shows other frames by type, and what is not a frame as it came', () => {
    expect(frameLines('{"type":"replay_complete","cursor":"c3","position":3}')).toEqual(['[replay_complete] {"cursor":"c3","position":3}']);
    expect(frameLines('not json')).toEqual(['[not JSON] not json']);
    expect(frameLines('null')).toEqual(['[not a frame] null']);
    expect(eventsIn('{"type":"event","position":1}')).toBe(1);
    expect(eventsIn('not json')).toBe(0);
  });
});
