import { HeraldError } from '../errors.ts';
import type { NotificationStore, RouteRef } from '../ports.ts';
import type { EventBuffer } from '../push/pushPorts.ts';
import type { SessionInvalidator } from '../push/SessionInvalidator.ts';
import type { Clock } from '../types.ts';
import type { UserStateStore } from './lifecyclePorts.ts';
import type { LifecycleEvent, LifecycleEventType } from './lifecycleSchema.ts';

/** The invocation is running out of time; the event is retried and resumes (every step is idempotent). */
export class LifecycleIncompleteError extends HeraldError {
  public constructor(message: string) {
    super(message);
    this.name = 'LifecycleIncompleteError';
  }
}

export interface ApplyLifecycleConfig {
  /** How long a deletion is remembered: new intents for the user are refused meanwhile. */
  readonly deletedUserRetentionMs: number;
  /** Routes fetched per page when cancelling. */
  readonly pageSize: number;
  /** Stop starting new pages when less than this much time is left. */
  readonly safetyMarginMs: number;
}

export type LifecycleResult =
  | { readonly kind: 'applied'; readonly cancelled: number; readonly cancelRequested: number; readonly connectionsClosed: number; readonly bufferItemsPurged: number; readonly inboxItemsPurged: number }
  | { readonly kind: 'duplicate' | 'superseded'; readonly appliedAt: number };

/**
 * Applies one user lifecycle event (seed: lifecycle-consumer):
 * - `user.deleted`: remember the deletion (new intents refused), cancel every open route, end every
 *   session, purge the event buffer and stream head (old cursors become stale via the epoch) and
 *   the in-app inbox;
 * - `user.blocked`: cancel every open route, end every session; the stream is kept;
 * - `session.revoked`: end that device session (all sessions without `device_session_id`) and
 *   cancel routes targeted at it (at any device session without `device_session_id`).
 * Idempotent: an event whose key (type + session) was already applied at the same or a later
 * `occurred_at_ms` changes nothing. Large users are processed in pages within the time budget.
 */
export class ApplyLifecycleEvent {
  public constructor(
    private readonly config: ApplyLifecycleConfig,
    private readonly deps: {
      readonly users: UserStateStore;
      readonly routes: NotificationStore;
      /** The push side; absent in an email-only service, which has no streams or sessions to end. */
      readonly push?: { readonly buffer: EventBuffer; readonly sessions: SessionInvalidator };
      /** The in-app inbox, where the catalog keeps types there: a deleted user's is removed. */
      readonly inbox?: { purge(userId: string): Promise<number> };
      readonly clock: Clock;
    },
  ) {}

  public async apply(
    event: LifecycleEvent & { event_type: LifecycleEventType },
    remainingMs: () => number,
  ): Promise<LifecycleResult> {
    const { users } = this.deps;
    const key = `${event.event_type}:${event.device_session_id ?? '*'}`;
    const appliedAt = await users.appliedAt(event.user_id, key);
    if (appliedAt !== undefined && appliedAt >= event.occurred_at_ms) {
      return { kind: appliedAt === event.occurred_at_ms ? 'duplicate' : 'superseded', appliedAt };
    }
    const now = this.deps.clock.now();
    let cancelled = { cancelled: 0, requested: 0 };
    let connectionsClosed = 0;
    let bufferItemsPurged = 0;
    let inboxItemsPurged = 0;
    switch (event.event_type) {
      case 'user.deleted':
        await users.markDeleted(event.user_id, event.occurred_at_ms, now + this.config.deletedUserRetentionMs);
        cancelled = await this.cancelOpenRoutes(event.user_id, 'user.deleted', () => true, remainingMs);
        connectionsClosed = await this.endSessions(event.user_id, { reason: 'user.deleted' });
        // A published route whose only record is its event gets its status written first: it stays answerable.
        bufferItemsPurged = (await this.deps.push?.buffer.purge(event.user_id, async (evidence) => {
          await Promise.all(evidence.map((e) => this.deps.routes.recordPublishedByEvent({ ...e, user_id: event.user_id }, now)));
        })) ?? 0;
        inboxItemsPurged = (await this.deps.inbox?.purge(event.user_id)) ?? 0;
        break;
      case 'user.blocked':
        cancelled = await this.cancelOpenRoutes(event.user_id, 'user.blocked', () => true, remainingMs);
        connectionsClosed = await this.endSessions(event.user_id, { reason: 'user.blocked' });
        break;
      case 'session.revoked': {
        const sid = event.device_session_id;
        connectionsClosed = await this.endSessions(event.user_id, { reason: 'session.revoked', ...(sid ? { deviceSessionId: sid } : {}) });
        cancelled = await this.cancelOpenRoutes(
          event.user_id,
          'session.revoked',
          (route) => route.device_session_id !== undefined && (sid === undefined || route.device_session_id === sid),
          remainingMs,
        );
        break;
      }
    }
    // Last, so an invocation that ran out of time is retried in full rather than skipped.
    await users.markApplied(event.user_id, key, event.occurred_at_ms);
    return { kind: 'applied', cancelled: cancelled.cancelled, cancelRequested: cancelled.requested, connectionsClosed, bufferItemsPurged, inboxItemsPurged };
  }

  /** Connections closed; none in an email-only service. */
  private async endSessions(userId: string, options: Parameters<SessionInvalidator['invalidate']>[1]): Promise<number> {
    return (await this.deps.push?.sessions.invalidate(userId, options)) ?? 0;
  }

  private async cancelOpenRoutes(
    userId: string,
    reason: string,
    matches: (route: RouteRef) => boolean,
    remainingMs: () => number,
  ): Promise<{ cancelled: number; requested: number }> {
    let cancelled = 0;
    let requested = 0;
    let startKey: unknown;
    do {
      if (remainingMs() < this.config.safetyMarginMs) {
        throw new LifecycleIncompleteError(`cancelled ${cancelled} route(s) of ${userId} so far; continuing on retry`);
      }
      const page = await this.deps.routes.listOpenRoutesOfUser(userId, this.config.pageSize, startKey);
      const now = this.deps.clock.now();
      const outcomes = await Promise.all(page.routes.filter(matches).map((route) => this.deps.routes.cancelRoute(route, reason, now)));
      cancelled += outcomes.filter((o) => o === 'cancelled').length;
      requested += outcomes.filter((o) => o === 'requested').length;
      startKey = page.next;
    } while (startKey !== undefined);
    return { cancelled, requested };
  }
}
