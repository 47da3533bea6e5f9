import { describe, expect, it } from 'vitest';
import { parseLifecycleEvent } from '../../functions/core/lifecycle/parseLifecycleEvent.ts';

const valid = { event_type: 'session.revoked', user_id: 'u1', occurred_at_ms: 1_700_000_000_000, device_session_id: 'd1', actor_type: 'admin', extra: true };

describe('parseLifecycleEvent', () => {
  it.each(['user.deleted', 'user.blocked', 'session.revoked'])('accepts %s and ignores unknown fields', (eventType) => {
    expect(parseLifecycleEvent({ ...valid, event_type: eventType })).toMatchObject({ ok: true, event: { event_type: eventType, user_id: 'u1' } });
  });

  it.each([
    ['not an object', 'hello', 'malformed', 'event must be object'],
    ['null', null, 'malformed', 'event must be object'],
    ['no user_id', { event_type: 'user.deleted', occurred_at_ms: 1 }, 'malformed', 'event is missing user_id'],
    ['no occurred_at_ms', { event_type: 'user.deleted', user_id: 'u' }, 'malformed', 'event is missing occurred_at_ms'],
    ['zero occurred_at_ms', { event_type: 'user.deleted', user_id: 'u', occurred_at_ms: 0 }, 'malformed', 'occurred_at_ms must be >= 1'],
    ['fractional occurred_at_ms', { event_type: 'user.deleted', user_id: 'u', occurred_at_ms: 1.5 }, 'malformed', 'occurred_at_ms must be integer'],
    ['an empty user id', { event_type: 'user.deleted', user_id: '', occurred_at_ms: 1 }, 'malformed', 'user_id'],
    ['an unknown type', { event_type: 'user.renamed', user_id: 'u', occurred_at_ms: 1 }, 'unknown_event_type', 'unknown event_type "user.renamed"'],
  ])('reports %s as %s', (_name, detail, reason, message) => {
    const result = parseLifecycleEvent(detail);
    expect(result).toMatchObject({ ok: false, reason });
    if (!result.ok) expect(result.message).toContain(message);
  });
});
