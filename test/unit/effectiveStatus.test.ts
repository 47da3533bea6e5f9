import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { effectiveNotification, effectiveRoute, needsEvidence, successMayGoUnwritten, type RouteEvidence } from '../../functions/core/route/effectiveStatus.ts';
import { ROUTE_STATUSES, type RouteRecord } from '../../functions/core/types.ts';

const AT = 1_000_000;
/** The only route of a notification, stored with it, as accept's first push attempt leaves it when the push publishes. */
const pushedAtAcceptance = (change: Partial<RouteRecord> = {}): RouteRecord => ({
  notification_id: 'n', route_id: 'push:u', channel: 'push', user_id: 'u', status: 'pending', attempts: 1, max_attempts: 6,
  next_attempt_at: AT, due_shard: 0, updated_at: AT, lease_token: 't', lease_expires_at: AT + 20_000,
  stream_epoch: 'e1', stream_position: 7, stored_with_notification: true, ...change,
});
const itsEvent: RouteEvidence = { event_id: 'n/push:u', epoch: 'e1', position: 7, published_at: AT + 5 };

describe('effectiveRoute', () => {
  it('reads a route whose event is stored at its position as published at the event time, without its lease', () => {
    const route = effectiveRoute(pushedAtAcceptance(), itsEvent);
    expect(route).toMatchObject({ status: 'published', published_at: AT + 5, terminal_at: AT + 5 });
    expect(route.lease_token).toBeUndefined();
    expect(route.lease_expires_at).toBeUndefined();
  });

  it.each([
    ['no event at its position (the attempt stopped before storing it)', pushedAtAcceptance(), undefined],
    ["another route's event at its position", pushedAtAcceptance(), { ...itsEvent, event_id: 'm/push:u' }],
    ['its position in another epoch', pushedAtAcceptance(), { ...itsEvent, epoch: 'e2' }],
    ['an event at another position (the evidence was looked up elsewhere)', pushedAtAcceptance(), { ...itsEvent, position: 8 }],
    ['a written failure (due again, status failed)', pushedAtAcceptance({ status: 'failed', due_at: AT + 1_000, lease_token: undefined }), itsEvent],
    ['a route with a due time (attempted by deliver: its success is always written)', pushedAtAcceptance({ due_at: AT }), itsEvent],
    ['a route in an item of its own', pushedAtAcceptance({ stored_with_notification: undefined }), itsEvent],
    ['an email route', pushedAtAcceptance({ channel: 'email', route_id: 'email:u' }), { ...itsEvent, event_id: 'n/email:u' }],
  ])('keeps the stored route: %s', (_name, route, evidence) => {
    expect(effectiveRoute(route, evidence)).toEqual(route);
  });

  it('never changes a route whose success is always written, whatever event is offered (property)', () => {
    const route = fc.record({
      status: fc.constantFrom(...ROUTE_STATUSES),
      due_at: fc.option(fc.integer({ min: 0, max: AT }), { nil: undefined }),
      lease_token: fc.option(fc.constant('t'), { nil: undefined }),
      stored_with_notification: fc.option(fc.constant(true as const), { nil: undefined }),
      channel: fc.constantFrom('push' as const, 'email' as const),
    });
    fc.assert(
      fc.property(route, fc.boolean(), (change, matching) => {
        const stored = pushedAtAcceptance(change);
        const effective = effectiveRoute(stored, matching ? { ...itsEvent, event_id: `n/${stored.route_id}` } : undefined);
        if (!successMayGoUnwritten(stored) || !matching) expect(effective).toEqual(stored);
        else expect(effective.status).toBe('published');
        // Only an open route can read as published: a written terminal status always holds.
        if (stored.status !== 'pending') expect(effective.status).toBe(stored.status);
      }),
    );
  });

  it('asks for evidence only for a route with a recorded position', () => {
    expect(needsEvidence(pushedAtAcceptance())).toBe(true);
    expect(needsEvidence(pushedAtAcceptance({ stream_epoch: undefined, stream_position: undefined }))).toBe(false);
  });
});

describe('effectiveNotification', () => {
  it('reads an accepting notification whose only route reads as published as accepted', () => {
    const stored = pushedAtAcceptance();
    expect(effectiveNotification({ state: 'accepting' as const }, stored, effectiveRoute(stored, itsEvent))).toEqual({ state: 'accepted' });
  });

  it('leaves it accepting while its only route is open', () => {
    const stored = pushedAtAcceptance();
    expect(effectiveNotification({ state: 'accepting' as const }, stored, effectiveRoute(stored, undefined))).toEqual({ state: 'accepting' });
  });
});
