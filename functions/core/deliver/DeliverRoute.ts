import { randomUUID } from 'node:crypto';
import type { RetryPolicy } from '../backoff/computeBackoff.ts';
import { DispatchError } from '../errors.ts';
import type { ChannelDispatcher, NotificationStore } from '../ports.ts';
import { successMayGoUnwritten } from '../route/effectiveStatus.ts';
import { decideOutcome, refuseLease, type AttemptOutcome } from '../route/routeTransitions.ts';
import type { Channel, Clock, DeliveryMessage, FailureClassification, NotificationRecord, RouteRecord } from '../types.ts';

export interface DeliverRouteConfig {
  readonly retryPolicy: RetryPolicy;
  /** How long one attempt may hold a route; longer than the function timeout. */
  readonly leaseMs: number;
}

export interface DeliverRouteDeps {
  readonly store: NotificationStore;
  /** A runner that only ever gets routes of some channels (accept: push) needs only those. */
  readonly dispatchers: Readonly<Partial<Record<Channel, ChannelDispatcher>>>;
  readonly clock: Clock;
  readonly random?: () => number;
  /** Told about every attempt that ran, for logs and metrics. */
  readonly onAttempt?: (event: AttemptReport) => void;
}

/** What happened to one delivery message; the handler maps it onto SQS. */
export type DeliveryDecision =
  /** The message is spent: delete it. */
  | { readonly kind: 'done'; readonly reason: DoneReason; readonly route?: RouteRecord }
  /** Keep the message and make it visible again after `delayMs`. */
  | { readonly kind: 'retry_after'; readonly delayMs: number; readonly reason: RetryReason; readonly route?: RouteRecord };

export type DoneReason = 'published' | 'dead_letter' | 'already_terminal' | 'route_missing' | 'lost_race' | 'crashed_dead_letter' | 'cancelled';
export type RetryReason = 'backoff' | 'leased_elsewhere' | 'not_due' | 'contention';

export interface AttemptReport {
  readonly notification?: NotificationRecord;
  readonly route: RouteRecord;
  readonly outcome: AttemptOutcome;
  readonly recorded: boolean;
}

/** Short wait before looking again at a route whose state changed under us. */
const CONTENTION_RETRY_MS = 1_000;

/**
 * Delivers one route: lease (counting the attempt) → dispatch on its channel → complete,
 * conditional on the lease. A terminal, not-due or elsewhere-leased route is a no-op.
 */
export class DeliverRoute {
  public constructor(
    private readonly config: DeliverRouteConfig,
    private readonly deps: DeliverRouteDeps,
  ) {}

  public async handle(message: DeliveryMessage): Promise<DeliveryDecision> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const token = randomUUID();
    // The notification never changes after acceptance, so it is read alongside the lease (one
    // round trip less on every delivery; a refused lease wastes one read).
    const [lease, notification] = await Promise.all([
      store.leaseRoute(message, token, now + this.config.leaseMs, now),
      store.getNotification(message.notification_id),
    ]);
    if (!lease.leased) return this.refused(lease.route, now);
    return this.attemptLeased(notification, lease.route, token);
  }

  /**
   * Runs the attempt of a route this caller holds the lease on (`route` as leased, its attempt
   * already counted): dispatch → complete, conditional on the lease. Also the entry point for a
   * route created already leased (accept's first push attempt).
   */
  public async attemptLeased(notification: NotificationRecord | undefined, route: RouteRecord, token: string): Promise<DeliveryDecision> {
    const { store, clock } = this.deps;
    const result = notification === undefined
      ? failure('notification_missing', `notification ${route.notification_id} does not exist`, false)
      : notification.payload === undefined
        ? // Only a route pushed at acceptance has its payload in its event alone, and it is never
          // delivered from the queue before a failure or a takeover stores the payload (see completeRoute).
          failure('notification_missing', `notification ${route.notification_id} has no stored payload`, false)
        : await this.dispatch(notification, route, token);
    const finishedAt = clock.now();
    const outcome = decideOutcome(route, result, finishedAt, this.config.retryPolicy, this.deps.random);
    // A first push at acceptance that published writes nothing more: its stored event says so
    // (core/route/effectiveStatus.ts). Any other outcome is written, with the payload if its item lacks it.
    const firstAtAcceptance = successMayGoUnwritten(route);
    const unwritten = outcome.status === 'published' && firstAtAcceptance;
    const payload = firstAtAcceptance ? notification?.payload : undefined;
    const recorded = unwritten || (await store.completeRoute(route, token, outcome, finishedAt, payload));
    this.deps.onAttempt?.({ ...(notification ? { notification } : {}), route, outcome, recorded });
    if (!recorded) return { kind: 'done', reason: 'lost_race', route };
    if (outcome.status === 'failed') return { kind: 'retry_after', delayMs: outcome.backoffMs, reason: 'backoff', route };
    return { kind: 'done', reason: outcome.status, route };
  }

  private async refused(route: RouteRecord | undefined, now: number): Promise<DeliveryDecision> {
    if (route === undefined) return { kind: 'done', reason: 'route_missing' };
    const refusal = refuseLease(route, now);
    switch (refusal?.kind) {
      case 'terminal':
        return { kind: 'done', reason: 'already_terminal', route };
      case 'leased':
        return { kind: 'retry_after', delayMs: refusal.retryAfterMs, reason: 'leased_elsewhere', route };
      case 'not_due':
        return { kind: 'retry_after', delayMs: refusal.retryAfterMs, reason: 'not_due', route };
      case 'exhausted': {
        const recorded = await this.deps.store.deadLetterCrashedRoute(route, now);
        return recorded
          ? { kind: 'done', reason: 'crashed_dead_letter', route }
          : { kind: 'retry_after', delayMs: CONTENTION_RETRY_MS, reason: 'contention', route };
      }
      case 'cancel_requested': {
        const outcome = await this.deps.store.cancelRoute(route, refusal.reason, now);
        return outcome === 'cancelled' || outcome === 'none'
          ? { kind: 'done', reason: 'cancelled', route }
          : { kind: 'retry_after', delayMs: CONTENTION_RETRY_MS, reason: 'contention', route };
      }
      case undefined:
        // Leasable now, so the state moved between our write and our read: look again shortly.
        return { kind: 'retry_after', delayMs: CONTENTION_RETRY_MS, reason: 'contention', route };
    }
  }

  private async dispatch(notification: NotificationRecord, route: RouteRecord, leaseToken: string): Promise<AttemptResult> {
    const dispatcher = this.deps.dispatchers[route.channel];
    if (dispatcher === undefined) return failure('payload_encoding_failed', `route has unknown channel "${route.channel}"`, false);
    try {
      const receipt = await dispatcher.dispatch(notification, route, leaseToken);
      return receipt?.messageId === undefined ? { ok: true } : { ok: true, messageId: receipt.messageId };
    } catch (error) {
      if (error instanceof DispatchError) return failure(error.classification, error.message, error.retryable);
      throw error;
    }
  }
}

type AttemptResult = { ok: true; messageId?: string } | { ok: false; classification: FailureClassification; message: string; retryable: boolean };

function failure(classification: FailureClassification, message: string, retryable: boolean): AttemptResult {
  return { ok: false, classification, message, retryable };
}
