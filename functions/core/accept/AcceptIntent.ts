import { randomUUID } from 'node:crypto';
import type { Catalog } from '../catalog/catalogTypes.ts';
import { REJECTION_RAW_BODY_BYTES } from '../constants.ts';
import type { DeliverRoute, DeliveryDecision } from '../deliver/DeliverRoute.ts';
import { AcceptanceIncompleteError, AcceptanceInProgressError, ConfigurationError } from '../errors.ts';
import { validateIntent, type IntentLimits, type InvalidIntent } from '../intent/validateIntent.ts';
import type { BeginAcceptanceResult, ChannelDispatcher, NotificationStore, RejectionStore, RouteQueue, RouteState } from '../ports.ts';
import type { RecipientState, UserStateStore } from '../lifecycle/lifecyclePorts.ts';
import { PREFERENCE_CANCEL_REASON, wantsRoute } from '../preferences/preferences.ts';
import { normalizeEmailAddress } from '../email/emailFeedback.ts';
import { inboxItemId, type InboxService } from '../inbox/InboxService.ts';
import type { EventBuffer } from '../push/pushPorts.ts';
import type { StreamHead } from '../push/pushTypes.ts';
import { contentHashOf, notificationIdFor, routeIdFor } from '../route/identifiers.ts';
import { dueShardOf } from '../route/dueShard.ts';
import { mapWithConcurrency } from '../mapWithConcurrency.ts';
import { throttleWindowStart, type RecipientThrottle } from '../throttle/recipientThrottle.ts';
import {
  deliveryMessageFor,
  TERMINAL_STATUSES,
  type Clock,
  type NotificationRecord,
  type Recipient,
  type RejectionReason,
  type RouteRecord,
} from '../types.ts';

export interface AcceptIntentConfig {
  readonly catalog: Catalog;
  readonly limits: IntentLimits;
  readonly defaultMaxAttempts: number;
  /** How long one acceptance may hold a notification before another may take over. */
  readonly acceptanceLeaseMs: number;
  readonly dueShards: number;
  /**
   * Intents with at most `maxRoutes` push routes get their first push attempt here, on routes
   * created already leased: no route-queue hop, no separate lease write. Absent or 0: every route
   * goes through the route queue.
   */
  readonly firstPushAttempt?: { readonly maxRoutes: number; readonly leaseMs: number };
}

export interface AcceptIntentDeps {
  readonly store: NotificationStore;
  /**
   * Recipients' states: deleted users (lifecycle) get no routes (the intent is refused, or their
   * routes are created cancelled); a route a user's preferences turn off is created cancelled.
   */
  readonly users: Pick<UserStateStore, 'recipientStates'>;
  /**
   * Addresses on the suppression list (a hard bounce, a complaint, an operator): an email route to
   * one is created cancelled (`suppressed`) and never sent. Asked together with `users`, so one
   * BatchGetItem answers both. @default no suppression list
   */
  readonly suppressions?: { suppressedAmong(emails: readonly string[]): Promise<ReadonlySet<string>> };
  readonly rejections: RejectionStore;
  readonly routeQueue: RouteQueue;
  readonly clock: Clock;
  /** Runs a leased attempt (the deliver function's own logic); needed with `firstPushAttempt`. */
  readonly deliverer?: Pick<DeliverRoute, 'attemptLeased'>;
  /**
   * The users' event streams: a route attempted here is created with its stream position already
   * recorded (the head's next one), which spares the append its own write to record it.
   */
  readonly streams?: Pick<EventBuffer, 'getHead'>;
  /** Per-type recipient throttles (catalog `throttle`); required when a catalog entry has one. */
  readonly throttle?: RecipientThrottle;
  /**
   * The push channel, to send a stored event again to the user's live connections: a redelivered
   * intake message whose first push was published by its event may have stopped before posting it.
   */
  readonly push?: ChannelDispatcher;
  /** The in-app inbox; required when a catalog entry has `inbox: true`. */
  readonly inbox?: Pick<InboxService, 'add' | 'usersWithItem'>;
}

/** Inbox items added at once for one intent (each is a read of the counts and the stream head, then a transaction). */
const INBOX_ADD_CONCURRENCY = 16;
/**
 * An acceptance starts no new inbox item with less than this left before its invocation's
 * deadline: the adds under way finish, the lease is given back and the intent made visible again
 * (AcceptanceIncompleteError), all before the deadline would stop the invocation mid-write.
 */
export const INBOX_ADD_MARGIN_MS = 3_000;

/** An intake message as the handler sees it. */
export interface IntakeMessage {
  readonly id: string;
  readonly sentAt: number;
  readonly body: string;
  /** Time left before the invocation's deadline (Lambda's context); without it, no deadline is watched. */
  readonly remainingMs?: () => number;
  /**
   * A continuation of an acceptance that stopped in its inbox items: the routes were all written
   * and enqueued before it stopped, so a resumed acceptance leaves them as they are.
   */
  readonly routesEnqueued?: boolean;
}

export type AcceptResult =
  | {
      readonly kind: 'accepted';
      readonly notificationId: string;
      readonly routes: number;
      readonly resumed: boolean;
      /** Push routes whose first attempt ran here. */
      readonly attemptedHere: number;
      /** Routes created `cancelled` because their recipient's throttle window was full. */
      readonly throttled: number;
      /** The channels of the routes created `cancelled` because their recipient turned them off (preferences). */
      readonly optedOut: readonly RouteRecord['channel'][];
      /** Email routes created `cancelled` because their address is on the suppression list. */
      readonly suppressed: number;
      readonly notificationType: string;
    }
  | { readonly kind: 'duplicate'; readonly notificationId: string }
  /** The intake message that was already accepted came back (SQS delivers at least once). */
  | { readonly kind: 'redelivered'; readonly notificationId?: string }
  | { readonly kind: 'rejected'; readonly reason: RejectionReason; readonly message: string };

/**
 * Accepts one intent: validate → idempotent write of the notification and its routes → enqueue one
 * delivery message per route. Bad input is recorded as a rejection and consumed; transient failures
 * throw so the intake message is retried. A retry after a crash resumes where the crash left off.
 */
export class AcceptIntent {
  public constructor(
    private readonly config: AcceptIntentConfig,
    private readonly deps: AcceptIntentDeps,
  ) {
    const throttled = Object.keys(config.catalog).filter((type) => config.catalog[type]!.throttle !== undefined);
    if (throttled.length > 0 && deps.throttle === undefined) {
      throw new ConfigurationError(`catalog types ${throttled.join(', ')} have a throttle, but acceptance was given no throttle store`);
    }
  }

  public async handle(message: IntakeMessage): Promise<AcceptResult> {
    const held: { lease?: { notificationId: string; token: string } } = {};
    try {
      return await this.accept(message, held);
    } catch (error) {
      // Our attempt failed while holding the acceptance lease: give it up, so that the retry takes
      // over at once instead of finding it held (and spending receives) until it expires.
      if (held.lease !== undefined && !(error instanceof AcceptanceInProgressError)) {
        await this.deps.store.releaseAcceptance(held.lease.notificationId, held.lease.token).catch(() => false);
      }
      throw error;
    }
  }

  private async accept(message: IntakeMessage, held: { lease?: { notificationId: string; token: string } }): Promise<AcceptResult> {
    const validation = validateIntent(message.body, this.config.catalog, this.config.limits);
    if (!validation.ok) return this.reject(message, validation);

    const { intent, recipients } = validation;
    const now = this.deps.clock.now();
    const notificationId = notificationIdFor(intent.producer, intent.idempotency_key);
    const entry = this.config.catalog[intent.notification_type]!;
    const record: NotificationRecord = {
      notification_id: notificationId,
      notification_type: intent.notification_type,
      producer: intent.producer,
      idempotency_key: intent.idempotency_key,
      audience_kind: intent.audience.kind,
      payload: intent.payload as Record<string, unknown>,
      content_hash: contentHashOf(intent),
      ...(intent.request_id !== undefined ? { request_id: intent.request_id } : {}),
      ...(intent.trace_id !== undefined ? { trace_id: intent.trace_id } : {}),
      ...(intent.occurred_at_ms !== undefined ? { occurred_at_ms: intent.occurred_at_ms } : {}),
      accepted_at: now,
      route_count: recipients.length * entry.channels.length,
      state: 'accepting',
      source_message_id: message.id,
    };

    const leaseToken = randomUUID();
    const leaseExpiresAt = now + this.config.acceptanceLeaseMs;
    const maxAttempts = entry.maxAttempts ?? this.config.defaultMaxAttempts;
    // The routes as a fresh acceptance creates them (a resumed one rebuilds them below). A small
    // notification with one route is stored with that route, in one item written once the reads
    // below have told what the route is (its first attempt, its stream position).
    const fresh = buildRoutes(notificationId, recipients, entry.channels, maxAttempts, now, this.config.dueShards);
    // A throttled type's routes wait for the throttle's answer, which needs the acceptance begun
    // first (its time decides the window): they are not stored with the notification.
    // A route pushed here is written without the payload (its event holds it), so only the rest must fit.
    const pushedHere = fresh[0]?.channel === 'push' && this.firstAttemptLimit() >= 1;
    // Nor are an inbox type's: their acceptance completes after the inbox items are added.
    const storeTogether = record.route_count === 1 && entry.throttle === undefined && !entry.inbox && this.deps.store.storesRouteWithNotification(record, fresh[0]!, pushedHere);
    // One round trip: the recipients' states (deleted? preferences?), the stream heads (only a fresh
    // acceptance uses them) and any other notification's write go out together. Nearly every intent
    // has a live recipient, so the write is rarely wasted; when it is, it is taken back before the intent is refused.
    const emailed = entry.channels.includes('email') ? recipients.flatMap((r) => (r.email === undefined ? [] : [normalizeEmailAddress(r.email)])) : [];
    const [states, suppressed, heads, begunApart] = await Promise.all([
      this.deps.users.recipientStates(recipients.map((r) => r.user_id), now),
      this.deps.suppressions && emailed.length > 0 ? this.deps.suppressions.suppressedAmong(emailed) : new Set<string>(),
      this.streamHeadsOf(recipients, entry.channels),
      storeTogether ? undefined : this.deps.store.beginAcceptance(record, leaseToken, leaseExpiresAt),
    ]);
    if (begunApart?.kind === 'created') held.lease = { notificationId, token: leaseToken };
    const deleted = new Set([...states].filter(([, state]) => state.deleted).map(([userId]) => userId));
    const wanted = (routes: RouteRecord[]) => cancelledIfSuppressed(cancelledIfUnwanted(routes, intent.notification_type, entry, states, now), suppressed, now);
    // Who gets nothing either way (deleted, every channel turned off or suppressed) takes no place in a throttle's window.
    const reachable = (r: Recipient, channel: RouteRecord['channel']) =>
      wantsRoute(entry, intent.notification_type, channel, states.get(r.user_id)?.preferences) && !isSuppressed(channel, r.email, suppressed);
    const unreachable = new Set([...deleted, ...recipients.filter((r) => entry.channels.every((channel) => !reachable(r, channel))).map((r) => r.user_id)]);
    const everyoneDeleted = recipients.every((r) => deleted.has(r.user_id));
    const throttled = begunApart?.kind === 'created' && !everyoneDeleted ? await this.throttledAmong(record, recipients, unreachable) : new Set<string>();
    const built = everyoneDeleted ? [] : cancelledIfThrottled(wanted(cancelledIfDeleted(fresh, deleted, now)), throttled, now);
    const attemptHere = new Set(this.pushRoutesToAttemptHere(built).map((r) => r.route_id));
    const attemptLeaseExpiresAt = now + (this.config.firstPushAttempt?.leaseMs ?? 0);
    let routes = built.map((route) =>
      attemptHere.has(route.route_id) ? leasedForFirstAttempt(route, randomUUID(), attemptLeaseExpiresAt, heads.get(route.user_id)) : route,
    );
    if (storeTogether && routes.length === 1) routes = [{ ...routes[0]!, stored_with_notification: true }];
    const begun = begunApart ?? (await this.deps.store.beginAcceptance(record, leaseToken, leaseExpiresAt, routes[0]));
    if (begun.kind === 'created') held.lease = { notificationId, token: leaseToken };

    if (everyoneDeleted) {
      await this.abandon(record, begun, leaseToken, leaseExpiresAt, now);
      return this.reject(message, {
        ok: false,
        reason: 'recipient_deleted',
        message: `user(s) ${[...deleted].slice(0, 5).map((u) => `"${u}"`).join(', ')} were deleted; Herald no longer notifies them`,
        producer: intent.producer,
        idempotency_key: intent.idempotency_key,
        notification_type: intent.notification_type,
      });
    }
    let resumed = false;
    // A notification we just created has no routes but the one written with it (if any).
    let written = new Map<string, RouteState>(routes.filter((r) => r.stored_with_notification).map((r) => [r.route_id, r]));
    if (begun.kind === 'exists') {
      const existing = begun.record;
      if (existing.content_hash !== record.content_hash) {
        return this.reject(message, {
          ok: false,
          reason: 'idempotency_conflict',
          message: `idempotency_key "${intent.idempotency_key}" of producer "${intent.producer}" was already used for different content (notification ${notificationId})`,
          producer: intent.producer,
          idempotency_key: intent.idempotency_key,
          notification_type: intent.notification_type,
        });
      }
      // Accepted as it stands: also when its only route was pushed here and published, which is
      // not written (the store reads it from the route's event).
      if (existing.state === 'accepted') {
        if (existing.source_message_id !== message.id) return { kind: 'duplicate', notificationId };
        if (begun.publishedByEvent !== undefined) await this.postAgain(record, begun.publishedByEvent);
        return { kind: 'redelivered', notificationId };
      }
      // A previous acceptance stopped halfway: take over once its lease has expired.
      if (!(await this.deps.store.takeOverAcceptance(notificationId, leaseToken, leaseExpiresAt, now, record.payload))) {
        throw new AcceptanceInProgressError(notificationId, existing.accept_lease_expires_at === undefined ? undefined : existing.accept_lease_expires_at - now);
      }
      held.lease = { notificationId, token: leaseToken };
      resumed = true;
      attemptHere.clear();
      if (message.routesEnqueued !== true) {
        written = await this.deps.store.listRouteStates(notificationId);
        await this.watchUnwatchedRoutes(notificationId, written, now);
      }
      const rebuilt = buildRoutes(notificationId, recipients, entry.channels, maxAttempts, existing.accepted_at, this.config.dueShards);
      // The same window as the first acceptance (its acceptance time), so the same answers.
      const throttledBefore = await this.throttledAmong(existing, recipients, unreachable);
      routes = cancelledIfThrottled(wanted(cancelledIfDeleted(rebuilt, deleted, now)), throttledBefore, now).map((route) =>
        written.get(route.route_id)?.stored_with_notification ? { ...route, stored_with_notification: true } : route,
      );
    }

    const attempted = resumed && message.routesEnqueued === true ? { completedAcceptance: false } : await this.writeAndEnqueueRoutes(record, routes, written, attemptHere);
    // Completing last means a crash anywhere above leaves the notification 'accepting': the intent
    // comes back, and the resumed acceptance enqueues every route that is still open. The only
    // route, stored with the notification, completed the acceptance itself when its attempt ended it.
    // Inbox items last, before the acceptance completes: a failure brings the intent back, and the
    // resumed acceptance adds what is missing (idempotent) while the routes go on as they are. An
    // inbox type's route is never stored with its notification, so no attempt completes the acceptance first.
    if (entry.inbox) await this.addToInboxes(record, begun.kind === 'exists' ? begun.record.accepted_at : record.accepted_at, routes, resumed, message.remainingMs);
    if (!attempted.completedAcceptance && !(await this.deps.store.completeAcceptance(notificationId, leaseToken, this.deps.clock.now()))) {
      // Our lease expired and another invocation took over; it finishes the job.
      throw new AcceptanceInProgressError(notificationId);
    }
    const throttledRoutes = routes.filter((r) => r.cancel_reason === THROTTLED).length;
    const optedOut = routes.filter((r) => r.cancel_reason === PREFERENCE_CANCEL_REASON).map((r) => r.channel);
    const suppressedRoutes = routes.filter((r) => r.cancel_reason === SUPPRESSED_CANCEL_REASON).length;
    return {
      kind: 'accepted',
      notificationId,
      routes: routes.length,
      resumed,
      attemptedHere: attemptHere.size,
      throttled: throttledRoutes,
      optedOut,
      suppressed: suppressedRoutes,
      notificationType: intent.notification_type,
    };
  }

  /**
   * The same intake message again, after a first push that wrote nothing after storing its event:
   * SQS redelivers a message whose invocation failed or crashed — possibly between storing the
   * event and posting it. Posting it again (the same event, found at its position) keeps a live
   * client from waiting for its next resume; a client drops a frame it already has by its cursor.
   */
  private async postAgain(notification: NotificationRecord, route: RouteRecord): Promise<void> {
    // Best effort: the event is stored, so a client that misses it gets it when it next resumes;
    // failing here would only send the message round again (and to the dead-letter queue at last).
    await this.deps.push?.dispatch(notification, route, route.lease_token!).catch(() => undefined);
  }

  /**
   * The reachable recipients (live, wanting the type on some channel) of a throttled type whose window (the one the notification's acceptance
   * time falls in) is full; each asks once per user, whatever its channels and device sessions.
   */
  private async throttledAmong(notification: Pick<NotificationRecord, 'notification_id' | 'notification_type' | 'accepted_at'>, recipients: readonly Recipient[], unreachable: ReadonlySet<string>): Promise<Set<string>> {
    const policy = this.config.catalog[notification.notification_type]!.throttle;
    if (policy === undefined) return new Set();
    const windowStart = throttleWindowStart(notification.accepted_at, policy);
    const users = [...new Set(recipients.map((r) => r.user_id))].filter((user) => !unreachable.has(user));
    const admitted = await this.deps.throttle!.admit(
      users.map((userId) => ({ userId, notificationType: notification.notification_type, notificationId: notification.notification_id, windowStart, policy })),
    );
    return new Set(users.filter((_, i) => !admitted[i]));
  }

  /**
   * Takes back the notification written for an intent whose recipients are all deleted: ours, or
   * one an earlier delivery of the same intent wrote and crashed before taking back. If that one
   * has routes, they are cancelled instead (below).
   */
  private async abandon(record: NotificationRecord, begun: BeginAcceptanceResult, leaseToken: string, leaseExpiresAt: number, now: number): Promise<void> {
    const { store } = this.deps;
    const id = record.notification_id;
    if (begun.kind === 'exists') {
      const existing = begun.record;
      if (existing.state !== 'accepting' || existing.content_hash !== record.content_hash) return;
      if (!(await store.takeOverAcceptance(id, leaseToken, leaseExpiresAt, now, record.payload))) return;
      const routes = await store.listRoutes(id);
      if (routes.length > 0) return this.cancelRoutesOfDeletedUsers(id, routes, leaseToken, now);
    }
    // False when our lease expired and another acceptance took over: it takes the record back itself.
    await store.abandonAcceptance(id, leaseToken);
  }

  /**
   * The routes an acceptance created before it crashed, all of users deleted since. The lifecycle
   * service cancelled the ones it could see; a route whose first attempt ran here has no due time,
   * so it saw none of those, and nothing else would end them. Each open route is cancelled — or,
   * while an attempt still holds it, marked to be, with a due time so the sweeper finishes that —
   * and the acceptance completes.
   */
  private async cancelRoutesOfDeletedUsers(id: string, routes: readonly RouteRecord[], leaseToken: string, now: number): Promise<void> {
    const { store } = this.deps;
    await Promise.all(routes.filter((r) => !TERMINAL_STATUSES.has(r.status)).map(async (route) => {
      const outcome = await store.cancelRoute(route, 'user.deleted', now);
      if (outcome === 'requested' && route.due_at === undefined) await store.markDue(route, now);
    }));
    await store.completeAcceptance(id, leaseToken, this.deps.clock.now());
  }

  /**
   * A first attempt made here leaves its route without a due time, out of the sweeper's and the
   * lifecycle service's sight, while this acceptance watches it. A crash ended that watch: such a
   * route that is still open gets its due time back before anything else happens.
   */
  private async watchUnwatchedRoutes(notificationId: string, written: ReadonlyMap<string, RouteState>, now: number): Promise<void> {
    const unwatched = [...written].filter(([, state]) => state.due_at === undefined && !TERMINAL_STATUSES.has(state.status));
    await Promise.all(unwatched.map(([routeId, state]) =>
      this.deps.store.markDue({ notification_id: notificationId, route_id: routeId, ...(state.stored_with_notification ? { stored_with_notification: true } : {}) }, now)));
  }

  /** Stream heads of the push recipients, when their routes may be attempted here (else none). */
  private async streamHeadsOf(recipients: readonly Recipient[], channels: readonly RouteRecord['channel'][]): Promise<Map<string, StreamHead | undefined>> {
    const streams = this.deps.streams;
    if (streams === undefined || !channels.includes('push') || recipients.length === 0 || recipients.length > this.firstAttemptLimit()) {
      return new Map();
    }
    const users = [...new Set(recipients.map((r) => r.user_id))];
    return new Map(await Promise.all(users.map(async (user) => [user, await streams.getHead(user)] as const)));
  }

  /** The open push routes of a fresh acceptance, when there are few enough to attempt here. */
  private pushRoutesToAttemptHere(routes: readonly RouteRecord[]): RouteRecord[] {
    const push = routes.filter((r) => r.channel === 'push' && !TERMINAL_STATUSES.has(r.status));
    return push.length <= this.firstAttemptLimit() ? push : [];
  }

  /** At most this many push routes are attempted here; 0 when first attempts are off. */
  private firstAttemptLimit(): number {
    return this.deps.deliverer === undefined ? 0 : (this.config.firstPushAttempt?.maxRoutes ?? 0);
  }

  /**
   * Runs the leased first attempts side by side; returns the routes that must be retried, and
   * whether the acceptance was completed with them (the only route, stored with the notification,
   * ended: published or dead-lettered).
   */
  /**
   * Adds the notification to the inbox of each recipient who gets it (not deleted, not throttled;
   * a channel turned off still leaves the in-app history). A failure throws: the intent comes back
   * and the resumed acceptance adds what is missing. A fan-out that would outrun the invocation's
   * deadline stops starting adds in time and throws AcceptanceIncompleteError; a resumed acceptance
   * first asks which recipients already have the item (one read per 100) and adds only the rest,
   * so every receive gets further.
   */
  private async addToInboxes(record: NotificationRecord, acceptedAt: number, routes: readonly RouteRecord[], resumed: boolean, remainingMs: (() => number) | undefined): Promise<void> {
    const inbox = this.deps.inbox;
    if (inbox === undefined) throw new ConfigurationError(`notification type "${record.notification_type}" goes to the inbox, but acceptance has no inbox`);
    const excluded = new Set(['user.deleted', THROTTLED]);
    const recipients = [...new Set(routes.filter((r) => !(r.status === 'cancelled' && excluded.has(r.cancel_reason ?? ''))).map((r) => r.user_id))];
    const itemId = inboxItemId(acceptedAt, record.notification_id);
    const have = resumed ? await inbox.usersWithItem(recipients, itemId) : new Set<string>();
    const users = recipients.filter((userId) => !have.has(userId));
    const now = this.deps.clock.now();
    const added = await mapWithConcurrency(
      users,
      INBOX_ADD_CONCURRENCY,
      (userId) => inbox.add({ userId, notificationId: record.notification_id, notificationType: record.notification_type, payload: record.payload, createdAt: acceptedAt }, now),
      { stopWhen: () => remainingMs !== undefined && remainingMs() < INBOX_ADD_MARGIN_MS },
    );
    if (added.length < users.length) throw new AcceptanceIncompleteError(record.notification_id, have.size + added.length, users.length - added.length, added.length);
  }

  /** Writes the routes not written yet, enqueues the open ones, and attempts those leased here. */
  private async writeAndEnqueueRoutes(record: NotificationRecord, routes: readonly RouteRecord[], written: ReadonlyMap<string, RouteState>, attemptHere: ReadonlySet<string>): Promise<{ completedAcceptance: boolean }> {
    await this.deps.store.putRoutes(routes.filter((r) => !written.has(r.route_id)));
    const toEnqueue = routes.filter((r) => !TERMINAL_STATUSES.has(written.get(r.route_id)?.status ?? r.status) && !attemptHere.has(r.route_id));
    const [, attempted] = await Promise.all([
      this.deps.routeQueue.enqueue(toEnqueue.map(deliveryMessageFor)),
      this.attemptLeasedRoutes(record, routes.filter((r) => attemptHere.has(r.route_id))),
    ]);
    // A failed first attempt continues like any other: its message waits out the backoff on the route queue.
    await this.deps.routeQueue.enqueue(attempted.retries.map(deliveryMessageFor));
    return attempted;
  }

  private async attemptLeasedRoutes(notification: NotificationRecord, routes: readonly RouteRecord[]): Promise<{ retries: RouteRecord[]; completedAcceptance: boolean }> {
    if (routes.length === 0) return { retries: [], completedAcceptance: false };
    const deliverer = this.deps.deliverer!;
    const attempts = await Promise.allSettled(routes.map((route) => deliverer.attemptLeased(notification, route, route.lease_token!)));
    const crashed = attempts.find((a) => a.status === 'rejected');
    // Like a deliverer that crashed mid-attempt: the attempt counts, and its route is retried after
    // the lease by the resumed acceptance (the intake message is retried).
    if (crashed) throw crashed.reason;
    const decisions = attempts.map((a) => (a as PromiseFulfilledResult<DeliveryDecision>).value);
    const ended = (d: DeliveryDecision) => d.kind === 'done' && (d.reason === 'published' || d.reason === 'dead_letter');
    return {
      retries: routes.filter((_, i) => decisions[i]!.kind === 'retry_after'),
      completedAcceptance: routes.length === 1 && routes[0]!.stored_with_notification === true && ended(decisions[0]!),
    };
  }

  private async reject(message: IntakeMessage, invalid: InvalidIntent): Promise<AcceptResult> {
    const raw = truncateUtf8(message.body, REJECTION_RAW_BODY_BYTES);
    // The id the intent names, so `herald status <id>` can find why there is no such notification.
    const notificationId =
      invalid.producer !== undefined && invalid.idempotency_key !== undefined ? notificationIdFor(invalid.producer, invalid.idempotency_key) : undefined;
    const recorded = await this.deps.rejections.record({
      source_id: message.id,
      source_sent_at: message.sentAt,
      rejected_at: this.deps.clock.now(),
      reason: invalid.reason,
      message: invalid.message,
      ...(invalid.producer !== undefined ? { producer: invalid.producer } : {}),
      ...(invalid.idempotency_key !== undefined ? { idempotency_key: invalid.idempotency_key } : {}),
      ...(invalid.notification_type !== undefined ? { notification_type: invalid.notification_type } : {}),
      ...(notificationId !== undefined ? { notification_id: notificationId } : {}),
      raw_body: raw.text,
      raw_body_truncated: raw.truncated,
    });
    // The same bad message again (redelivered): already counted where it was first recorded.
    if (recorded === 'already') return { kind: 'redelivered', ...(notificationId !== undefined ? { notificationId } : {}) };
    return { kind: 'rejected', reason: invalid.reason, message: invalid.message };
  }
}

/** One route per recipient × channel, all pending and due (to be attempted, and for the sweeper) at acceptance time. */
export function buildRoutes(
  notificationId: string,
  recipients: readonly Recipient[],
  channels: readonly RouteRecord['channel'][],
  maxAttempts: number,
  now: number,
  dueShards: number,
): RouteRecord[] {
  return recipients.flatMap((recipient) =>
    channels.map((channel): RouteRecord => {
      const routeId = routeIdFor(channel, recipient);
      return {
        notification_id: notificationId,
        route_id: routeId,
        channel,
        user_id: recipient.user_id,
        ...(recipient.email !== undefined ? { email: recipient.email } : {}),
        ...(recipient.device_session_id !== undefined ? { device_session_id: recipient.device_session_id } : {}),
        status: 'pending',
        attempts: 0,
        max_attempts: maxAttempts,
        next_attempt_at: now,
        due_shard: dueShardOf(notificationId, routeId, dueShards),
        due_at: now,
        updated_at: now,
      };
    }),
  );
}

/**
 * A route created with its first attempt already started (leased and counted), as a lease would
 * leave it; with the user's stream head, also with the next position recorded for its event (if
 * another event takes that position first, the append moves on, as for any recorded position).
 * No due time: the acceptance watches it (see RouteRecord.due_at), so a route published at once
 * never enters the sweeper's or the lifecycle service's index — each entry would cost two writes.
 */
function leasedForFirstAttempt(route: RouteRecord, leaseToken: string, leaseExpiresAt: number, head: StreamHead | undefined): RouteRecord {
  const { due_at: _watchedByTheAcceptance, ...unwatched } = route;
  return {
    ...unwatched,
    attempts: route.attempts + 1,
    lease_token: leaseToken,
    lease_expires_at: leaseExpiresAt,
    ...(head ? { stream_epoch: head.epoch, stream_position: head.position + 1 } : {}),
  };
}

/** The routes, with a deleted recipient's created cancelled. */
function cancelledIfDeleted(routes: readonly RouteRecord[], deleted: ReadonlySet<string>, now: number): RouteRecord[] {
  return routes.map((route) => (deleted.has(route.user_id) ? cancelledAtAcceptance(route, now) : route));
}

/**
 * The routes, with those a recipient's preferences turn off created cancelled (`preference`): never
 * attempted. A throttle is asked only for what is left.
 */
function cancelledIfUnwanted(routes: readonly RouteRecord[], type: string, entry: Catalog[string], states: ReadonlyMap<string, RecipientState>, now: number): RouteRecord[] {
  return routes.map((route) =>
    !TERMINAL_STATUSES.has(route.status) && !wantsRoute(entry, type, route.channel, states.get(route.user_id)?.preferences)
      ? cancelledAtAcceptance(route, now, PREFERENCE_CANCEL_REASON)
      : route,
  );
}

/** Why an email route to an address on the suppression list is cancelled. */
export const SUPPRESSED_CANCEL_REASON = 'suppressed';

/** Whether a route on `channel` to `email` goes to an address on the suppression list. */
function isSuppressed(channel: RouteRecord['channel'], email: string | undefined, suppressed: ReadonlySet<string>): boolean {
  return channel === 'email' && email !== undefined && suppressed.has(normalizeEmailAddress(email));
}

/** The routes, with an email route to a suppressed address created cancelled: SES is never called for it. */
function cancelledIfSuppressed(routes: readonly RouteRecord[], suppressed: ReadonlySet<string>, now: number): RouteRecord[] {
  if (suppressed.size === 0) return [...routes];
  return routes.map((route) =>
    !TERMINAL_STATUSES.has(route.status) && isSuppressed(route.channel, route.email, suppressed)
      ? cancelledAtAcceptance(route, now, SUPPRESSED_CANCEL_REASON)
      : route,
  );
}

/** Why a route over its recipient's throttle is cancelled. */
export const THROTTLED = 'throttled';

/** The routes, with a throttled recipient's created cancelled. */
function cancelledIfThrottled(routes: readonly RouteRecord[], throttled: ReadonlySet<string>, now: number): RouteRecord[] {
  return routes.map((route) => (throttled.has(route.user_id) && !TERMINAL_STATUSES.has(route.status) ? cancelledAtAcceptance(route, now, THROTTLED) : route));
}

/** A route for a recipient who was deleted: created terminal, never enqueued. */
function cancelledAtAcceptance(route: RouteRecord, now: number, reason = 'user.deleted'): RouteRecord {
  const { due_at: _terminal, ...cancelled } = route;
  return { ...cancelled, status: 'cancelled', cancel_reason: reason, terminal_at: now };
}

function truncateUtf8(text: string, maxBytes: number): { text: string; truncated: boolean } {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return { text, truncated: false };
  // Drop a trailing partial multi-byte character left by the cut.
  return { text: bytes.subarray(0, maxBytes).toString('utf8').replace(/\uFFFD$/, ''), truncated: true };
}
