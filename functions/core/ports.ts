import type { RenderedEmail } from './email/renderTemplate.ts';
import type { RouteEvidence } from './route/effectiveStatus.ts';
import type { AttemptOutcome } from './route/routeTransitions.ts';
import type { DeliveryMessage, NotificationRecord, RejectionReason, RouteAddress, RouteRecord } from './types.ts';

/** Result of trying to create a notification record. */
export type BeginAcceptanceResult =
  | { readonly kind: 'created' }
  | {
      readonly kind: 'exists';
      readonly record: NotificationRecord & { readonly accept_lease_expires_at?: number };
      /** Its only route as stored, when that route's success went unwritten and its event shows it published. */
      readonly publishedByEvent?: RouteRecord;
    };

/** Where a written route stands, as a resumed acceptance needs to know it. */
export type RouteState = Pick<RouteRecord, 'status' | 'due_at' | 'stored_with_notification'>;

/** The attributes of a route that never change: what the route indexes carry. */
export type RouteRef = RouteAddress & Pick<RouteRecord, 'user_id' | 'channel' | 'device_session_id'>;

/**
 * Durable notifications and routes. Every state change is conditional on the state it expects.
 * Every read returns records as they stand (core/route/effectiveStatus.ts): a route whose success
 * went unwritten reads as published, and its notification as accepted, when its event is stored.
 */
export interface NotificationStore {
  /**
   * Creates the record (state `accepting`, holding an acceptance lease) unless it exists. With
   * `onlyRoute` (a route marked `stored_with_notification`), the notification's only route is
   * created in the same record by the same write; such a route's terminal outcome (published,
   * dead_letter) then also marks the acceptance complete (see completeRoute), which spares the
   * separate route write and acceptance write of a notification with a single route.
   */
  beginAcceptance(record: NotificationRecord, leaseToken: string, leaseExpiresAt: number, onlyRoute?: RouteRecord): Promise<BeginAcceptanceResult>;
  /**
   * Whether a notification's only route (as built, before its first attempt) is best stored with it
   * (a small notification) rather than apart; `payloadInEvent`: it will be pushed at acceptance, so
   * the item is written without the payload.
   */
  storesRouteWithNotification(record: NotificationRecord, route: RouteRecord, payloadInEvent?: boolean): boolean;
  /**
   * Takes over an `accepting` record whose acceptance lease expired (a crashed acceptance), storing
   * `payload` in it if it was written without it.
   */
  takeOverAcceptance(notificationId: string, leaseToken: string, leaseExpiresAt: number, now: number, payload: Record<string, unknown>): Promise<boolean>;
  /**
   * Deletes a notification whose acceptance we hold and that turned out to have no one to notify
   * (every recipient deleted); conditional on still holding the acceptance lease.
   */
  abandonAcceptance(notificationId: string, leaseToken: string): Promise<boolean>;
  /** Gives up an acceptance lease we hold (our attempt failed), so the retry can take over at once. */
  releaseAcceptance(notificationId: string, leaseToken: string): Promise<boolean>;
  /** Marks acceptance complete; conditional on still holding the acceptance lease. */
  completeAcceptance(notificationId: string, leaseToken: string, now: number): Promise<boolean>;
  getNotification(notificationId: string): Promise<NotificationRecord | undefined>;
  /** Every route of a notification, in route id order. */
  listRoutes(notificationId: string): Promise<RouteRecord[]>;
  /** The routes already written for a notification, by route id: status and due time. */
  listRouteStates(notificationId: string): Promise<Map<string, RouteState>>;
  /**
   * Makes an open route that has no due time (its first attempt ran at an acceptance that then
   * crashed) due at `dueAt`, which puts it back under the sweeper and the lifecycle service.
   * False when the route is terminal or already has one.
   */
  markDue(route: RouteAddress, dueAt: number): Promise<boolean>;
  /** Writes new routes (batched), each in a record of its own. */
  putRoutes(routes: readonly RouteRecord[]): Promise<void>;
  /** The route, wherever it is stored. Strongly consistent. */
  getRoute(notificationId: string, routeId: string): Promise<RouteRecord | undefined>;
  /**
   * Leases a route for one attempt and counts the attempt, if it is leasable at `now`. Returns the
   * leased route, or the route as it stands (undefined if it does not exist) when refused.
   */
  leaseRoute(
    route: RouteAddress,
    leaseToken: string,
    leaseExpiresAt: number,
    now: number,
  ): Promise<{ readonly leased: true; readonly route: RouteRecord } | { readonly leased: false; readonly route?: RouteRecord }>;
  /**
   * Records an attempt's outcome, conditional on still holding the lease. False = lost the race.
   * A terminal outcome of a route stored with its notification marks the acceptance complete too.
   * `payload`: the notification's, stored with an outcome other than published if its item lacks it.
   */
  completeRoute(route: RouteRecord, leaseToken: string, outcome: AttemptOutcome, now: number, payload?: Record<string, unknown>): Promise<boolean>;
  /**
   * Writes the published status an event proves for a route whose success went unwritten, before
   * that event is deleted (a purge); false when the route is not waiting on this event.
   */
  recordPublishedByEvent(evidence: RouteEvidence & { readonly user_id: string }, now: number): Promise<boolean>;
  /** Dead-letters a route whose every attempt started but whose last lease expired unfinished. */
  deadLetterCrashedRoute(route: RouteRecord, now: number): Promise<boolean>;
  /**
   * Cancels a route that is not terminal: at once when no attempt holds it, otherwise by asking
   * the running attempt to end it (it finishes, then the route is not retried).
   * Returns what happened; 'none' when the route was already terminal.
   */
  cancelRoute(route: RouteRef, reason: string, now: number): Promise<'cancelled' | 'requested' | 'none'>;
  /** Open (non-terminal) routes of a user, a page at a time: what identifies each, not its state. */
  listOpenRoutesOfUser(userId: string, limit: number, startKey?: unknown): Promise<{ routes: RouteRef[]; next?: unknown }>;
  /** Routes in the sparse due index of `shard` due at or before `dueBefore`. */
  listDueRoutes(shard: number, dueBefore: number, limit: number): Promise<RouteRecord[]>;
  /** Pushes a swept route's due time forward, conditional on it being unchanged; false = changed. */
  postponeDue(route: RouteRecord, dueAt: number): Promise<boolean>;
}

/** A refused intent, kept so an operator can list it. */
export interface RejectionRecord {
  /** Stable id of the intake message (so a redelivered bad message records once). */
  readonly source_id: string;
  /** When the message was first sent (epoch ms); orders the listing. */
  readonly source_sent_at: number;
  readonly rejected_at: number;
  readonly reason: RejectionReason;
  readonly message: string;
  readonly producer?: string;
  readonly idempotency_key?: string;
  readonly notification_type?: string;
  /** The notification id the intent's producer and key name (it has no notification unless the key was used before). */
  readonly notification_id?: string;
  /** The raw body, truncated. */
  readonly raw_body: string;
  readonly raw_body_truncated: boolean;
}

export interface RejectionStore {
  /**
   * Records a rejection once per intake message. `recorded`: this call wrote it (also when its
   * first answer was lost and the SDK retried); `already`: an earlier delivery of the message did.
   */
  record(rejection: RejectionRecord): Promise<'recorded' | 'already'>;
}

/** The route queue: one message per route to deliver. */
export interface RouteQueue {
  enqueue(messages: readonly DeliveryMessage[]): Promise<void>;
}

/** Sends one rendered email. Throws a DispatchError classified as retryable or not. */
export interface EmailSender {
  /** Sends one email for `route` (tagged with it, so SES's feedback events find it); answers SES's message id. */
  send(input: {
    readonly to: string;
    readonly email: RenderedEmail;
    readonly route: RouteAddress;
    readonly headers?: readonly { readonly name: string; readonly value: string }[];
  }): Promise<{ readonly messageId?: string }>;
}

/** What a channel tells of a successful dispatch: the provider's id of what it sent, if any. */
export interface DispatchReceipt {
  readonly messageId?: string;
}

/** Delivers one leased route on its channel. Throws a DispatchError on failure. */
export interface ChannelDispatcher {
  /** `leaseToken` is the current attempt's lease, for writes that must be conditional on it. */
  dispatch(notification: NotificationRecord, route: RouteRecord, leaseToken: string): Promise<DispatchReceipt | void>;
}
