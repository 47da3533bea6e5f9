import { describe, expect, it } from 'vitest';
import { eventBody, packReplayFrames } from '../../functions/core/push/frames.ts';
import type { StreamEvent } from '../../functions/core/push/pushTypes.ts';

const event = (position: number, change: Partial<StreamEvent> = {}): StreamEvent => ({
  user_id: 'u', epoch: 'abcd1234', position, event_id: `n/push:u#${position}`, notification_id: 'n', kind: 'chat.message',
  payload: { text: 'x'.repeat(100) }, published_at: 0, expires_at_ms: 1, ...change,
});

describe('eventBody', () => {
  it('carries kind, payload, ids and an ISO publication time', () => {
    expect(eventBody(event(3, { request_id: 'r', trace_id: 't' }))).toMatchObject({
      position: 3, kind: 'chat.message', notification_id: 'n', request_id: 'r', trace_id: 't', published_at: '1970-01-01T00:00:00.000Z',
    });
  });

  it('shows an event targeted at another device session as position only', () => {
    const targeted = event(4, { device_session_id: 'phone', payload: { secret: 1 } });
    expect(eventBody(targeted, 'phone')).toMatchObject({ payload: { secret: 1 }, device_session_id: 'phone' });
    const redacted = eventBody(targeted, 'laptop');
    expect(redacted).toEqual({ cursor: expect.any(String), stream: 'abcd1234', position: 4, event_id: targeted.event_id, redacted: true });
  });
});

describe('packReplayFrames', () => {
  it('packs events in order into frames no larger than the limit', () => {
    const bodies = Array.from({ length: 100 }, (_, i) => eventBody(event(i + 1)));
    const frames = packReplayFrames(bodies, 4096);
    expect(frames.length).toBeGreaterThan(1);
    for (const frame of frames) expect(Buffer.byteLength(frame)).toBeLessThanOrEqual(4096);
    const positions = frames.flatMap((f) => (JSON.parse(f) as { events: { position: number }[] }).events.map((e) => e.position));
    expect(positions).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('fills frames: each but the last could not take the next event', () => {
    const bodies = Array.from({ length: 40 }, (_, i) => eventBody(event(i + 1)));
    const frames = packReplayFrames(bodies, 2048);
    const eventSize = Buffer.byteLength(JSON.stringify(bodies[0]));
    for (const frame of frames.slice(0, -1)) expect(Buffer.byteLength(frame) + eventSize + 1).toBeGreaterThan(2048);
  });

  it('sends an event larger than the limit alone', () => {
    const big = eventBody(event(1, { payload: { blob: 'y'.repeat(5000) } }));
    const frames = packReplayFrames([eventBody(event(0)), big, eventBody(event(2))], 4096);
    expect(frames.map((f) => (JSON.parse(f) as { events: unknown[] }).events.length)).toEqual([1, 1, 1]);
  });

  it('returns no frames for no events', () => {
    expect(packReplayFrames([])).toEqual([]);
  });
});
